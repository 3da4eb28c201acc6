/** Runs the same ops on the cpu backend (the reference) and on wasm with our patches. */
import assert from 'node:assert/strict';
import { tf } from '../../lib/runtime/tf';
import { isPatchedKernel, patchWasmKernels } from '../../lib/backend/patch-wasm';

export function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-4): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++)
    assert.ok(
      Math.abs((a[i] as number) - (b[i] as number)) <= tol * (1 + Math.abs(b[i] as number)),
      `at ${i}: ${a[i]} vs ${b[i]}`,
    );
}

/**
 * Runs f on the cpu backend (reference) and on wasm, returning both results as arrays. The wasm run is
 * pinned: the backend must be wasm, and each of `kernels` must be lib/backend's patched kernel (not
 * tfjs's own), or the comparison would test something else.
 */
export async function onBoth(
  kernels: readonly string[],
  f: () => tf.Tensor[],
): Promise<[Float32Array[], Float32Array[]]> {
  await tf.setBackend('cpu');
  const ref = tf.tidy(f).map((t) => {
    const d = t.dataSync() as Float32Array;
    t.dispose();
    return d;
  });
  await tf.setBackend('wasm');
  patchWasmKernels();
  assert.equal(tf.getBackend(), 'wasm');
  for (const k of kernels) assert.ok(isPatchedKernel(k), `the wasm kernel ${k} is lib/backend's`);
  const got = tf.tidy(f).map((t) => {
    const d = t.dataSync() as Float32Array;
    t.dispose();
    return d;
  });
  return [ref, got];
}
