/**
 * `GatherV2` goes through a generic strided loop, element by element; for the common case (axis 0, no
 * batch dims) a copy of whole rows is much cheaper.
 */
import { KernelFunc, TensorInfo, WasmBackendLike } from './types';

/** GatherV2 along axis 0 (no batch dims) as row copies; other cases go to the original kernel. */
export function fastGather(original: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { axis, batchDims } = attrs as { axis: number; batchDims: number };
    const x = inputs.x as TensorInfo;
    const indices = inputs.indices as TensorInfo;
    if (
      !(axis === 0 || axis === -x.shape.length) ||
      (batchDims ?? 0) !== 0 ||
      x.dtype === 'string' ||
      x.dtype === 'complex64'
    )
      return original(args);
    const b = backend as WasmBackendLike;
    const rows = x.shape[0] as number;
    const slice = x.shape.slice(1).reduce((p, d) => p * d, 1);
    const outShape = [...indices.shape, ...x.shape.slice(1)];
    const out = b.makeOutput(outShape, x.dtype);
    const ov = b.typedArrayFromHeap(out);
    const xv = b.typedArrayFromHeap(x);
    const iv = b.typedArrayFromHeap(indices);
    for (let k = 0; k < iv.length; k++) {
      const r = iv[k] as number;
      if (r < 0 || r >= rows) {
        b.disposeData(out.dataId);
        throw new Error(`GatherV2: the index value ${r} is not in [0, ${rows - 1}]`);
      }
      if (slice === 1) ov[k] = xv[r] as number;
      else ov.set(xv.subarray(r * slice, (r + 1) * slice), k * slice);
    }
    return out;
  };
}
