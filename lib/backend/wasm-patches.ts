/**
 * Fixes to TensorFlow.js's wasm backend, registered from lib so every notebook and script gets them.
 *
 * - `UnsortedSegmentSum` has no wasm kernel, so the gradient of `tf.gather` (every embedding lookup)
 *   throws. We add one, written in JS over the wasm heap.
 * - `Tanh` runs libm's scalar tanh (~30 ns/element) while `Sigmoid` is XNNPACK's vectorised kernel
 *   (~3 ns/element); tanh(x) = 2·sigmoid(2x) − 1 gives the same values to float rounding, ~6× faster.
 * - `GatherV2` goes through a generic strided loop (~80 µs to pick 96 rows of 10 floats); for the
 *   common case (axis 0, no batch dims) a JS copy of whole rows is much cheaper.
 * - `Identity` copies its input; the engine calls it to save every op's inputs for the backward pass
 *   (33 copies per MLP step). Tensors are immutable, so sharing the buffer with a reference count
 *   (as the cpu backend and wasm's own Reshape do) is safe and free.
 * - `Slice` (and `SplitV`, `Unpack`, which call it) first copies its *whole* input out of the heap
 *   (`readSync`) for every slice: unstacking 40 time steps copied the sequence 40 times. Ours reads
 *   a view and copies only the slice.
 * - `Sum` over leading axes (every bias gradient: [B·T, n] → [n]) transposes, then reduces, ~0.7 ms for
 *   512×256; our column-sum kernel (lib/native) takes a tenth of that.
 * - `BatchMatMul` / `_FusedMatMul` with `transposeA`/`transposeB` take a slow path in the wasm kernel
 *   (measured ~2 GFLOP/s against ~16 GFLOP/s untransposed on this machine). Every backward pass asks for
 *   transposed products, so we materialise the transpose (a fast wasm kernel) and multiply untransposed.
 */
import * as tf from '@tensorflow/tfjs';
import { Frame } from './native/loader';

type KernelFunc = tf.KernelConfig['kernelFunc'];
type TensorInfo = tf.TensorInfo;

/** The parts of the wasm backend we use (it is not exported with types from the package root). */
interface WasmBackendLike {
  incRef(dataId: object): void;
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

function untransposed(original: KernelFunc, transposeFn: KernelFunc): KernelFunc {
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
  if (x.dtype === 'float32' && ids.dtype === 'int32') {
    // our native kernel (lib/native): ~10× the JS loop below
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

/** tanh(x) = 2·sigmoid(2x) − 1, every step a vectorised wasm kernel (scalars live for the session). */
function tanhViaSigmoid(): KernelFunc {
  const mul = (tf.getKernel('Multiply', 'wasm') as tf.KernelConfig).kernelFunc;
  const sub = (tf.getKernel('Sub', 'wasm') as tf.KernelConfig).kernelFunc;
  const sigmoid = (tf.getKernel('Sigmoid', 'wasm') as tf.KernelConfig).kernelFunc;
  let two: TensorInfo | null = null;
  let one: TensorInfo | null = null;
  return ({ inputs, backend }) => {
    const b = backend as WasmBackendLike;
    const x = inputs.x as TensorInfo;
    if (!two || !one) {
      two = b.makeOutput([], 'float32');
      b.typedArrayFromHeap(two)[0] = 2;
      one = b.makeOutput([], 'float32');
      b.typedArrayFromHeap(one)[0] = 1;
    }
    const x2 = mul({ inputs: { a: x, b: two }, backend, attrs: {} }) as TensorInfo;
    const s = sigmoid({ inputs: { x: x2 }, backend, attrs: {} }) as TensorInfo;
    b.disposeData(x2.dataId);
    const s2 = mul({ inputs: { a: s, b: two }, backend, attrs: {} }) as TensorInfo;
    b.disposeData(s.dataId);
    const out = sub({ inputs: { a: s2, b: one }, backend, attrs: {} }) as TensorInfo;
    b.disposeData(s2.dataId);
    return out;
  };
}

/** GatherV2 along axis 0 (no batch dims) as row copies; other cases go to the original kernel. */
function fastGather(original: KernelFunc): KernelFunc {
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

const fastSliceKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs.x as TensorInfo;
  const { begin, size } = attrs as { begin: number | number[]; size?: number | number[] };
  const [b, s] = parseSlice(x, begin, size);
  return sliceInfo(backend as WasmBackendLike, x, b, s);
};

const fastSplitV: KernelFunc = ({ inputs, backend, attrs }) => {
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

const fastUnpack: KernelFunc = ({ inputs, backend, attrs }) => {
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

/** Sum over a prefix of the axes (axis 0, or 0 and 1, …) with our column-sum kernel; else the original. */
function leadingAxesSum(original: KernelFunc): KernelFunc {
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

function override(name: string, make: (original: KernelFunc) => KernelFunc): void {
  const k = tf.getKernel(name, 'wasm');
  if (!k) return;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...k, kernelFunc: make(k.kernelFunc) });
}

/** Registers the wasm fixes once (a no-op when already done or when wasm is not loaded). */
export function patchWasmKernels(): void {
  if (patched) return;
  patched = true;
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (!transpose) return;
  if (!tf.getKernel('UnsortedSegmentSum', 'wasm')) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSum });
  }
  for (const name of ['BatchMatMul', '_FusedMatMul']) override(name, (k) => untransposed(k, transpose.kernelFunc));
  if (tf.getKernel('Sigmoid', 'wasm') && tf.getKernel('Multiply', 'wasm') && tf.getKernel('Sub', 'wasm'))
    override('Tanh', tanhViaSigmoid);
  override('GatherV2', fastGather);
  override('Sum', leadingAxesSum);
  override(
    'Slice',
    (original) => (args) => ((args.inputs.x as TensorInfo).dtype === 'string' ? original(args) : fastSliceKernel(args)),
  );
  override(
    'SplitV',
    (original) => (args) => ((args.inputs.x as TensorInfo).dtype === 'string' ? original(args) : fastSplitV(args)),
  );
  override(
    'Unpack',
    (original) => (args) => ((args.inputs.value as TensorInfo).dtype === 'string' ? original(args) : fastUnpack(args)),
  );
  override('Identity', (original) => (args) => {
    const x = args.inputs.x as TensorInfo;
    if (x.dtype === 'string') return original(args);
    (args.backend as WasmBackendLike).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  });
}
