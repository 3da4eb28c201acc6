/**
 * Our own WebAssembly kernels (lib/backend/native/kernels.c, built by scripts/native/build.sh and committed as
 * base64 so nobody needs a compiler). The module has its own memory: each call copies its inputs in,
 * runs, and copies its outputs out — a few hundred kilobytes, far cheaper than the dozens of tfjs
 * kernel launches a fused op replaces.
 */
import * as tf from '@tensorflow/tfjs'; // not runtime/tf: the wasm patches (loaded by runtime/tf) use this module
import { KERNELS_WASM } from './kernels-wasm';

// Minimal WebAssembly typings of our own: tslab compiles lib/ with a TypeScript lib set that lacks them.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface KernelExports {
  memory: WasmMemory;
  __heap_base: { value: number };
  attn_forward(qkv: number, probs: number, y: number, B: number, T: number, H: number, hs: number, scale: number): void;
  attn_backward(
    qkv: number,
    probs: number,
    dy: number,
    dqkv: number,
    B: number,
    T: number,
    H: number,
    hs: number,
    scale: number,
  ): void;
  layernorm_forward(
    x: number,
    g: number,
    b: number,
    y: number,
    mean: number,
    rstd: number,
    N: number,
    D: number,
    eps: number,
  ): void;
  layernorm_backward(
    x: number,
    g: number,
    mean: number,
    rstd: number,
    dy: number,
    dx: number,
    dg: number,
    db: number,
    N: number,
    D: number,
  ): void;
  colsum(x: number, out: number, N: number, D: number): void;
  gelu_forward(x: number, y: number, n: number): void;
  gelu_backward(x: number, dy: number, dx: number, n: number): void;
  segment_sum(x: number, ids: number, out: number, n: number, D: number, numSeg: number): void;
  axpby(x: number, y: number, out: number, n: number, a: number, b: number): void;
  lstm_forward_step(
    xg: number,
    hw: number,
    cPrev: number,
    act: number,
    c: number,
    h: number,
    B: number,
    H: number,
  ): void;
  lstm_backward_step(
    act: number,
    cPrev: number,
    c: number,
    dh: number,
    dc: number,
    dgates: number,
    B: number,
    H: number,
  ): void;
  rnn_forward_step(xg: number, hw: number, h: number, n: number): void;
  rnn_backward_step(h: number, dy: number, drec: number, dpre: number, n: number): void;
  gru_gates_step(xg: number, hw: number, h: number, rz: number, rh: number, B: number, H: number): void;
  gru_out_step(xg: number, rhw: number, rz: number, h: number, hbar: number, hn: number, B: number, H: number): void;
  gru_back_out(dh: number, rz: number, h: number, hbar: number, dg: number, dhp: number, B: number, H: number): void;
  gru_back_gates(drh: number, rz: number, h: number, dg: number, dhp: number, B: number, H: number): void;
  adam_step(
    p: number,
    g: number,
    m: number,
    v: number,
    n: number,
    b1: number,
    b2: number,
    stepSize: number,
    bc2Sqrt: number,
    eps: number,
    decay: number,
  ): void;
}

let instance: KernelExports | null = null;

/** The kernels, instantiated on first use (synchronously: the module is 7 kB). */
export function kernels(): KernelExports {
  if (!instance) {
    const module = new WA.Module(Buffer.from(KERNELS_WASM, 'base64'));
    instance = new WA.Instance(module, {}).exports as unknown as KernelExports;
  }
  return instance;
}

interface HeapBackend {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/** A tensor's values without a copy where the backend allows it (wasm heap view, cpu array). */
export function valuesOf(t: tf.Tensor): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`expected a float32 tensor, got ${t.dtype}`);
  const b = tf.backend() as unknown as Partial<HeapBackend>;
  if (typeof b.typedArrayFromHeap === 'function') return b.typedArrayFromHeap(t);
  return t.dataSync() as Float32Array;
}

/**
 * One call's scratch space in the module's memory: `put` copies an input in (or reserves room for an
 * output), `take` copies an output out. Every Frame starts at the same place, so a frame's contents are
 * valid only until the next Frame is made — and some patched tfjs kernels make one (backend/wasm/): read
 * what you need before running tensor ops. Offsets stay valid when memory grows; views do not.
 */
export class Frame {
  private top: number;
  readonly k = kernels();
  constructor() {
    this.top = (this.k.__heap_base.value + 15) & ~15;
  }
  /** Reserves n floats (16-byte aligned), filled from `data` when given; returns the byte offset. */
  put(n: number, data?: ArrayLike<number>): number {
    const at = this.top;
    this.top += (n * 4 + 15) & ~15;
    const mem = this.k.memory;
    if (this.top > mem.buffer.byteLength) mem.grow(Math.ceil((this.top - mem.buffer.byteLength) / 65536));
    if (data) new Float32Array(mem.buffer, at, n).set(data);
    return at;
  }
  /** Reserves n int32s, copied from `data`; returns the byte offset. */
  putInt(n: number, data: Int32Array): number {
    const at = this.put(n);
    new Int32Array(this.k.memory.buffer, at, n).set(data);
    return at;
  }
  /** A view of n floats at byte offset `at`: valid only until the next `put`. */
  view(at: number, n: number): Float32Array {
    return new Float32Array(this.k.memory.buffer, at, n);
  }
  /** A copy of n floats at byte offset `at`. */
  take(at: number, n: number): Float32Array {
    return new Float32Array(this.k.memory.buffer, at, n).slice();
  }
}

/** A tensor holding n floats at byte offset `at` of a frame: written straight into the wasm backend's heap where possible. */
export function tensorFrom(f: Frame, at: number, shape: number[]): tf.Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  const b = tf.backend() as unknown as Partial<HeapBackend>;
  if (typeof b.makeOutput === 'function' && typeof b.typedArrayFromHeap === 'function') {
    const info = b.makeOutput(shape, 'float32');
    b.typedArrayFromHeap(info).set(f.view(at, n)); // view taken after makeOutput, which may grow the heap
    return tf.engine().makeTensorFromTensorInfo(info);
  }
  return tf.tensor(f.take(at, n), shape, 'float32');
}
