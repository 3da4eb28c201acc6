/**
 * `Slice` (and `SplitV`, `Unpack`, which call it) first copies its *whole* input out of the heap
 * (`readSync`) for every slice: unstacking 40 time steps copied the sequence 40 times. Ours reads a
 * view and copies only the slice.
 */
import { KernelFunc, TensorInfo, WasmBackendLike } from './types';

/** Copies x[begin : begin+size] (any rank) into a new tensor, row run by row run, from a heap view. */
function sliceInfo(b: WasmBackendLike, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const rank = x.shape.length;
  const out = b.makeOutput(size, x.dtype);
  const ov = b.typedArrayFromHeap(out);
  const xv = b.typedArrayFromHeap(x);
  const strides = new Array<number>(rank).fill(1);
  for (let d = rank - 2; d >= 0; d--) strides[d] = (strides[d + 1] as number) * (x.shape[d + 1] as number);
  // Merge the trailing dimensions that are taken whole into one contiguous run.
  let inner = rank - 1;
  while (inner > 0 && begin[inner] === 0 && size[inner] === x.shape[inner]) inner--;
  const run = size.slice(inner).reduce((p, d) => p * d, 1);
  const outer = size.slice(0, inner).reduce((p, d) => p * d, 1);
  const idx = new Array<number>(inner).fill(0);
  let o = 0;
  for (let k = 0; k < outer; k++) {
    let off = (begin[inner] as number) * (strides[inner] as number);
    for (let d = 0; d < inner; d++) off += ((begin[d] as number) + (idx[d] as number)) * (strides[d] as number);
    ov.set(xv.subarray(off, off + run), o);
    o += run;
    for (let d = inner - 1; d >= 0; d--) {
      idx[d] = (idx[d] as number) + 1;
      if ((idx[d] as number) < (size[d] as number)) break;
      idx[d] = 0;
    }
  }
  return out;
}

function parseSlice(
  x: TensorInfo,
  begin: number | number[],
  size: number | number[] | undefined,
): [number[], number[]] {
  const rank = x.shape.length;
  const b = typeof begin === 'number' ? [begin, ...new Array<number>(rank - 1).fill(0)] : [...begin];
  while (b.length < rank) b.push(0);
  const s =
    size === undefined ? [] : typeof size === 'number' ? [size, ...new Array<number>(rank - 1).fill(-1)] : [...size];
  while (s.length < rank) s.push(-1);
  return [b, s.map((v, d) => (v === -1 ? (x.shape[d] as number) - (b[d] as number) : v))];
}

export const fastSliceKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs.x as TensorInfo;
  const { begin, size } = attrs as { begin: number | number[]; size?: number | number[] };
  const [b, s] = parseSlice(x, begin, size);
  return sliceInfo(backend as WasmBackendLike, x, b, s);
};

export const fastSplitV: KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs.x as TensorInfo;
  const { numOrSizeSplits, axis } = attrs as { numOrSizeSplits: number | number[]; axis: number };
  const ax = axis < 0 ? axis + x.shape.length : axis;
  const dim = x.shape[ax] as number;
  let sizes: number[];
  if (typeof numOrSizeSplits === 'number') sizes = new Array<number>(numOrSizeSplits).fill(dim / numOrSizeSplits);
  else {
    sizes = [...numOrSizeSplits];
    const neg = sizes.indexOf(-1);
    if (neg >= 0) sizes[neg] = dim - sizes.reduce((p, v) => p + (v === -1 ? 0 : v), 0);
  }
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((sz) => {
    const size = [...x.shape];
    size[ax] = sz;
    const out = sliceInfo(backend as WasmBackendLike, x, [...begin], size);
    begin[ax] = (begin[ax] as number) + sz;
    return out;
  });
};

export const fastUnpack: KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs.value as TensorInfo;
  let { axis } = attrs as { axis: number };
  if (axis < 0) axis += x.shape.length;
  const outShape = x.shape.filter((_, d) => d !== axis);
  const size = [...x.shape];
  size[axis] = 1;
  return Array.from({ length: x.shape[axis] as number }, (_, i) => {
    const begin = new Array<number>(x.shape.length).fill(0);
    begin[axis] = i;
    const out = sliceInfo(backend as WasmBackendLike, x, begin, size);
    return { dataId: out.dataId, dtype: out.dtype, shape: outShape };
  });
};
