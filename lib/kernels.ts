/**
 * Fixes to TensorFlow.js's wasm backend, registered from lib so every notebook and script gets them.
 *
 * - `UnsortedSegmentSum` has no wasm kernel, so the gradient of `tf.gather` (every embedding lookup)
 *   throws. We add one, written in JS over the wasm heap.
 * - `BatchMatMul` / `_FusedMatMul` with `transposeA`/`transposeB` take a slow path in the wasm kernel
 *   (measured ~2 GFLOP/s against ~16 GFLOP/s untransposed on this machine). Every backward pass asks for
 *   transposed products, so we materialise the transpose (a fast wasm kernel) and multiply untransposed.
 */
import * as tf from '@tensorflow/tfjs';

type KernelFunc = tf.KernelConfig['kernelFunc'];
type TensorInfo = tf.TensorInfo;

/** The parts of the wasm backend we use (it is not exported with types from the package root). */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object): boolean;
}

let patched = false;

function transposeLastTwo(x: TensorInfo, backend: object, transposeFn: KernelFunc): TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank).keys()];
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return transposeFn({ inputs: { x }, backend, attrs: { perm } }) as TensorInfo;
}

function untransposed(name: string, original: KernelFunc, transposeFn: KernelFunc): KernelFunc {
  return (args) => {
    const attrs = args.attrs as { transposeA?: boolean; transposeB?: boolean };
    if (!attrs.transposeA && !attrs.transposeB) return original(args);
    const backend = args.backend as WasmBackendLike;
    const inputs = { ...args.inputs } as Record<string, TensorInfo>;
    const temps: TensorInfo[] = [];
    if (attrs.transposeA) {
      inputs.a = transposeLastTwo(inputs.a as TensorInfo, args.backend, transposeFn);
      temps.push(inputs.a);
    }
    if (attrs.transposeB) {
      inputs.b = transposeLastTwo(inputs.b as TensorInfo, args.backend, transposeFn);
      temps.push(inputs.b);
    }
    const out = original({ ...args, inputs, attrs: { ...args.attrs, transposeA: false, transposeB: false } });
    for (const t of temps) backend.disposeData(t.dataId);
    void name;
    return out;
  };
}

/** out[segment[i], …] += x[i, …], for int32 segment ids of the leading dimensions of x. */
const unsortedSegmentSum: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as WasmBackendLike;
  const x = inputs.x as TensorInfo;
  const ids = inputs.segmentIds as TensorInfo;
  const numSegments = (attrs as { numSegments: number }).numSegments;
  const idCount = ids.shape.reduce((p, d) => p * d, 1);
  const xCount = x.shape.reduce((p, d) => p * d, 1);
  const inner = idCount === 0 ? 0 : xCount / idCount;
  const outShape = [numSegments, ...x.shape.slice(ids.shape.length)];
  const out = b.makeOutput(outShape, x.dtype);
  // Views are taken after makeOutput: allocating may grow (and move) the wasm heap.
  const outVals = b.typedArrayFromHeap(out);
  const xVals = b.typedArrayFromHeap(x);
  const idVals = b.typedArrayFromHeap(ids);
  outVals.fill(0);
  for (let i = 0; i < idCount; i++) {
    const s = idVals[i] as number;
    if (s < 0 || s >= numSegments) continue; // as TensorFlow: out-of-range ids are dropped
    const src = i * inner;
    const dst = s * inner;
    for (let k = 0; k < inner; k++) outVals[dst + k]! += xVals[src + k] as number;
  }
  return out;
};

/** Registers the wasm fixes once (a no-op when already done or when wasm is not loaded). */
export function patchWasmKernels(): void {
  if (patched) return;
  patched = true;
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (!transpose) return;
  if (!tf.getKernel('UnsortedSegmentSum', 'wasm')) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSum });
  }
  for (const name of ['BatchMatMul', '_FusedMatMul']) {
    const k = tf.getKernel(name, 'wasm');
    if (!k) continue;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...k, kernelFunc: untransposed(name, k.kernelFunc, transpose.kernelFunc) });
  }
}
