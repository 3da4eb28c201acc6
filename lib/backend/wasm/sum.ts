/**
 * `Sum` over leading axes (every bias gradient: [B·T, n] → [n]) transposes, then reduces; our column-sum
 * kernel (backend/native) reads the rows in place (docs/performance.md has the measurement).
 */
import { Frame } from '../native/loader';
import { KernelFunc, TensorInfo, WasmBackendLike } from './types';

/** Sum over a prefix of the axes (axis 0, or 0 and 1, …) with our column-sum kernel; else the original. */
export function leadingAxesSum(original: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
    const rank = x.shape.length;
    const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)).sort((p, q) => p - q);
    const k = axes.length;
    if (x.dtype !== 'float32' || k === 0 || k >= rank || axes.some((a, i) => a !== i)) return original(args);
    const N = x.shape.slice(0, k).reduce((p, d) => p * d, 1);
    const D = x.shape.slice(k).reduce((p, d) => p * d, 1);
    if (N * D < 4096) return original(args);
    const b = args.backend as WasmBackendLike;
    const f = new Frame();
    const px = f.put(N * D, b.typedArrayFromHeap(x) as Float32Array);
    const po = f.put(D);
    f.k.colsum(px, po, N, D);
    const out = b.makeOutput(
      keepDims ? [...new Array<number>(k).fill(1), ...x.shape.slice(k)] : x.shape.slice(k),
      'float32',
    );
    b.typedArrayFromHeap(out).set(f.take(po, D));
    return out;
  };
}
