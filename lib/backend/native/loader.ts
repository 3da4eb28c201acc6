/**
 * Our own WebAssembly kernels (lib/backend/native/*.c, built by scripts/native/build.sh and committed as
 * base64 so nobody needs a compiler). The module has its own memory, shared with one worker thread
 * (threads.ts): each call copies its inputs in, runs, and copies its outputs out — a few hundred
 * kilobytes, far cheaper than the dozens of tfjs kernel launches a fused op replaces.
 */
import { tf } from '../../runtime/tfjs'; // not runtime/tf: the wasm patches (loaded by runtime/tf) use this module
import { setFlagsFromString } from 'node:v8';
import { KERNELS_WASM, KERNELS_WASM_FMA } from './kernels-wasm';

// Minimal WebAssembly typings of our own: tslab compiles lib/ with a TypeScript lib set that lacks them.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface KernelExports {
  memory: WasmMemory;
  __heap_base: { value: number };
  attn_forward(qkv: number, probs: number, y: number, B: number, T: number, H: number, hs: number, scale: number): void;
  /** attn_forward and attn_backward with the scale as its float's bits (a worker's job: int32 arguments). */
  attn_forward_job: KernelExports['attn_forward'];
  attn_backward_job: KernelExports['attn_backward'];
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
  gelu_erf_forward(x: number, y: number, n: number): void;
  relu_forward(x: number, y: number, n: number): void;
  relu_backward(y: number, dy: number, dx: number, n: number): void;
  gelu_erf_backward(x: number, y: number, dy: number, dx: number, n: number): void;
  segment_sum(x: number, ids: number, out: number, n: number, D: number, numSeg: number): void;
  axpby(x: number, y: number, out: number, n: number, a: number, b: number): void;
  sum_squares(acc: number, x: number, n: number): number;
  scale_inplace(x: number, n: number, a: number): void;
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
  sgemm(A: number, B: number, C: number, bias: number, M: number, N: number, K: number, acc: number): void;
  sgemm_cols(
    A: number,
    B: number,
    C: number,
    bias: number,
    M: number,
    N: number,
    K: number,
    acc: number,
    ldb: number,
    ldc: number,
  ): void;
  sgemm_tn(A: number, B: number, C: number, M: number, N: number, K: number, acc: number, lda: number): void;
  sgemm_nt(
    A: number,
    B: number,
    C: number,
    M: number,
    N: number,
    K: number,
    acc: number,
    ldb: number,
    ldc: number,
  ): void;
  transpose(A: number, AT: number, rows: number, cols: number): void;
  gather_rows(table: number, ids: number, out: number, n: number, D: number): void;
  tanh_forward(x: number, y: number, n: number): void;
  tanh_backward(y: number, dy: number, dx: number, n: number): void;
  cross_entropy(logits: number, targets: number, dlogits: number, N: number, V: number): number;
  context_sum(P: number, ctx: number, bias: number, out: number, rows: number, bs: number, Vp: number, H: number): void;
  context_scatter(dy: number, ctx: number, G: number, rows: number, bs: number, Vp: number, H: number): void;
  table_cross_entropy(
    table: number,
    ids: number,
    targets: number,
    dtable: number,
    N: number,
    V: number,
    rowsOfTable: number,
  ): number;
  batchnorm_forward(
    x: number,
    gamma: number,
    beta: number,
    y: number,
    xhat: number,
    mean: number,
    variance: number,
    rstd: number,
    N: number,
    D: number,
    eps: number,
    bessel: number,
  ): void;
  batchnorm_backward(
    xhat: number,
    gamma: number,
    rstd: number,
    dy: number,
    dx: number,
    dgamma: number,
    dbeta: number,
    N: number,
    D: number,
    bessel: number,
  ): void;
  sgd_step(p: number, g: number, n: number, lr: number): void;
  add_positions(x: number, wpe: number, y: number, B: number, T: number, E: number): void;
  add_positions_backward(dy: number, dwpe: number, B: number, T: number, E: number): void;
  causal_mean(x: number, y: number, B: number, T: number, E: number): void;
  causal_mean_backward(dy: number, dx: number, B: number, T: number, E: number): void;
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
let compiled: { module: object; memory: WasmMemory; fma: boolean } | null = null;

/**
 * The build that runs: with relaxed SIMD's fused multiply-add in the matrix products where the engine
 * has it (Node 22 and later; Node 20's V8 has it behind a flag, turned on here, which changes nothing
 * else), the plain one otherwise or with SEQUENTIA_FMA=0. Where the CPU has FMA the two round the
 * products' sums differently (once per multiply-add, or twice): the same seed gives the same bits on
 * one machine and one setting, not across the two.
 */
function chooseBuild(): { bytes: Uint8Array; fma: boolean } {
  const wanted = process.env.SEQUENTIA_FMA ?? '';
  if (!['', '0', '1'].includes(wanted))
    throw new Error(`SEQUENTIA_FMA='${wanted}' must be 0 (plain build) or 1 (fused multiply-add)`);
  const fma = Buffer.from(KERNELS_WASM_FMA, 'base64');
  if (wanted !== '0') {
    if (!WA.validate(fma)) setFlagsFromString('--experimental-wasm-relaxed-simd');
    if (WA.validate(fma)) return { bytes: fma, fma: true };
    if (wanted === '1')
      throw new Error(`SEQUENTIA_FMA=1: this Node (${process.version}) has no WebAssembly relaxed SIMD`);
  }
  return { bytes: Buffer.from(KERNELS_WASM, 'base64'), fma: false };
}

/** The compiled module and its shared memory (what a worker instantiates again). */
export function kernelModule(): { module: object; memory: WasmMemory; fma: boolean } {
  if (!compiled) {
    const { bytes, fma } = chooseBuild();
    const module = new WA.Module(bytes);
    // 18 pages: the linked stack and a worker's (64 kB each), then room for frames; up to 1 GiB
    compiled = { module, memory: new WA.Memory({ initial: 18, maximum: 16384, shared: true }), fma };
  }
  return compiled;
}

/** The kernels, instantiated on first use (synchronously: the module is 36 kB). */
export function kernels(): KernelExports {
  if (!instance) {
    const { module, memory } = kernelModule();
    const exports = new WA.Instance(module, { env: { memory } }).exports as object;
    instance = { ...exports, memory } as KernelExports;
  }
  return instance;
}

let rounding: { build: 'fma' | 'plain'; fused: boolean } | null = null;

/**
 * Which build runs, and whether its matrix products round once per multiply-add (`fused`: the FMA build
 * on a CPU with FMA) or twice — found by running one: (1 + 2⁻¹²)² − 1 keeps its 2⁻²⁴ only when fused.
 */
export function productRounding(): { build: 'fma' | 'plain'; fused: boolean } {
  if (!rounding) {
    const f = new Frame();
    const a = f.put(1, Float32Array.of(1 + 2 ** -12));
    const c = f.put(1, Float32Array.of(-1));
    f.k.sgemm(a, a, c, 0, 1, 1, 1, 1);
    rounding = { build: kernelModule().fma ? 'fma' : 'plain', fused: f.take(c, 1)[0] === 2 ** -11 + 2 ** -24 };
  }
  return rounding;
}

/**
 * Above the module's heap base: a worker's stack (64 kB; it grows down from WORKER_STACK_TOP) and the
 * threads' control block (256 bytes at CONTROL_AT); frames start after them.
 */
export function layout(): { workerStackTop: number; controlAt: number; framesAt: number } {
  const base = (kernels().__heap_base.value + 15) & ~15;
  return { workerStackTop: base + 65536, controlAt: base + 65536, framesAt: base + 65536 + 256 };
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

/** The resident region's holder: how many bytes it keeps, and what to do when another one takes over. */
interface Holder {
  bytes: number;
  evict(): void;
}
let holder: Holder | null = null;

/**
 * `bytes` at the bottom of the frames' space that keep their contents across frames (a fused step's
 * parameters between steps), for one holder at a time: frames start above the region. A new holder
 * evicts the previous one first (its `evict` writes back what it kept there). Returns the region's byte
 * offset and its release.
 */
export function holdResident(bytes: number, evict: () => void): { at: number; release(): void } {
  if (holder) {
    const previous = holder;
    previous.evict(); // while the region is still its own: frames made meanwhile start above it
    holder = null;
  }
  const mine: Holder = { bytes: (bytes + 15) & ~15, evict };
  holder = mine;
  const at = layout().framesAt;
  new Frame().put(0); // grows the memory to hold the region
  return {
    at,
    release: () => {
      if (holder === mine) holder = null;
    },
  };
}

/**
 * One call's scratch space in the module's memory: `put` copies an input in (or reserves room for an
 * output), `take` copies an output out. Every Frame starts at the same place (above the resident
 * region), so a frame's contents are valid only until the next Frame is made — and some patched tfjs
 * kernels make one (backend/wasm/): read what you need before running tensor ops. Offsets stay valid
 * when memory grows; views do not.
 */
export class Frame {
  private top: number;
  readonly k = kernels();
  constructor() {
    this.top = layout().framesAt + (holder?.bytes ?? 0);
  }
  /**
   * Reserves n floats (16-byte aligned), filled from `data` when given; returns the byte offset. At
   * least 16 bytes follow every buffer (gemm.c reads whole vectors past a row's end).
   */
  put(n: number, data?: ArrayLike<number>): number {
    const at = this.top;
    this.top += (n * 4 + 15) & ~15;
    const mem = this.k.memory;
    if (this.top + 16 > mem.buffer.byteLength) mem.grow(Math.ceil((this.top + 16 - mem.buffer.byteLength) / 65536));
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

/**
 * Gives variable `v` the v.size floats at byte offset `at` of a frame, as a new tensor. Never written over
 * its data in place: tfjs's wasm matmul (XNNPACK) keeps weights packed by their data id, and would go on
 * multiplying by the old values.
 */
export function setVariable(v: tf.Variable, f: Frame, at: number): void {
  const t = tensorFrom(f, at, v.shape);
  v.assign(t);
  t.dispose();
}
