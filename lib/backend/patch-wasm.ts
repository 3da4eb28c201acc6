/**
 * Fixes to TensorFlow.js's wasm backend, one per file in wasm/ (each with its cpu-parity test in
 * test/backend/), registered from runtime/tf.ts so every notebook and script gets them. `Identity` is
 * patched here: the engine calls it to save every op's inputs for the backward pass (33 copies per MLP
 * step); tensors are immutable, so sharing the buffer with a reference count (as the cpu backend and
 * wasm's own Reshape do) is safe and free.
 */
import { tf } from '../runtime/tfjs';
import { KernelFunc, TensorInfo, WasmBackendLike } from './wasm/types';
import { untransposed } from './wasm/matmul';
import { unsortedSegmentSum } from './wasm/segment-sum';
import { tanhViaSigmoid } from './wasm/tanh';
import { fastGather } from './wasm/gather';
import { fastSliceKernel, fastSplitV, fastUnpack } from './wasm/slice';
import { leadingAxesSum } from './wasm/sum';
import { oneHotAnyDtype } from './wasm/one-hot';

let patched = false;
/** Our kernel functions, so a test can tell that the registered wasm kernel is the patched one. */
const ours = new WeakSet<object>();

function register(config: tf.KernelConfig): void {
  ours.add(config.kernelFunc);
  tf.registerKernel(config);
}

function override(name: string, make: (original: KernelFunc) => KernelFunc): void {
  const k = tf.getKernel(name, 'wasm');
  if (!k) return;
  tf.unregisterKernel(name, 'wasm');
  register({ ...k, kernelFunc: make(k.kernelFunc) });
}

/** True when the wasm kernel registered for `name` is this module's. */
export function isPatchedKernel(name: string): boolean {
  const k = tf.getKernel(name, 'wasm');
  return k !== undefined && ours.has(k.kernelFunc);
}

/** Registers the wasm fixes once (a no-op when already done or when wasm is not loaded). */
export function patchWasmKernels(): void {
  if (patched) return;
  patched = true;
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (!transpose) return;
  if (!tf.getKernel('UnsortedSegmentSum', 'wasm')) {
    register({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSum });
  }
  for (const name of ['BatchMatMul', '_FusedMatMul']) override(name, (k) => untransposed(k, transpose.kernelFunc));
  if (tf.getKernel('Sigmoid', 'wasm') && tf.getKernel('Multiply', 'wasm') && tf.getKernel('Sub', 'wasm'))
    override('Tanh', tanhViaSigmoid);
  override('GatherV2', fastGather);
  override('OneHot', oneHotAnyDtype);
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
