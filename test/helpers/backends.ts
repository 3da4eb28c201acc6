/** Runs the same ops on the cpu backend (the reference) and on wasm with our patches. */
import assert from 'node:assert/strict';
import { tf } from '../../lib/runtime/tf';

export function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-4): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++)
    assert.ok(
      Math.abs((a[i] as number) - (b[i] as number)) <= tol * (1 + Math.abs(b[i] as number)),
      `at ${i}: ${a[i]} vs ${b[i]}`,
    );
}

/** Runs f on the cpu backend (reference) and on wasm, returning both results as arrays. */
export async function onBoth(f: () => tf.Tensor[]): Promise<[Float32Array[], Float32Array[]]> {
  await tf.setBackend('cpu');
  const ref = tf.tidy(f).map((t) => {
    const d = t.dataSync() as Float32Array;
    t.dispose();
    return d;
  });
  await tf.setBackend('wasm');
  const got = tf.tidy(f).map((t) => {
    const d = t.dataSync() as Float32Array;
    t.dispose();
    return d;
  });
  return [ref, got];
}
