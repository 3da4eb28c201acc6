/**
 * `UnsortedSegmentSum` has no wasm kernel, so the gradient of `tf.gather` (every embedding lookup)
 * throws. We add one, over the wasm heap (our native kernel for float32).
 */
import { Frame } from '../native/loader';
import { KernelFunc, TensorInfo, WasmBackendLike } from './types';

/** out[segment[i], …] += x[i, …], for int32 segment ids of the leading dimensions of x. */
export const unsortedSegmentSum: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as WasmBackendLike;
  const x = inputs.x as TensorInfo;
  const ids = inputs.segmentIds as TensorInfo;
  const numSegments = (attrs as { numSegments: number }).numSegments;
  const idCount = ids.shape.reduce((p, d) => p * d, 1);
  const xCount = x.shape.reduce((p, d) => p * d, 1);
  const inner = idCount === 0 ? 0 : xCount / idCount;
  const outShape = [numSegments, ...x.shape.slice(ids.shape.length)];
  const out = b.makeOutput(outShape, x.dtype);
  if (x.dtype === 'float32' && ids.dtype === 'int32') {
    // our native kernel (backend/native): ~10× the JS loop below
    const f = new Frame();
    const px = f.put(xCount, b.typedArrayFromHeap(x) as Float32Array);
    const pi = f.putInt(idCount, b.typedArrayFromHeap(ids) as Int32Array);
    const po = f.put(numSegments * inner);
    f.k.segment_sum(px, pi, po, idCount, inner, numSegments);
    b.typedArrayFromHeap(out).set(f.view(po, numSegments * inner));
    return out;
  }
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
