/**
 * What the fused ops share: the function type tf.customGrad takes, and views of time-major buffers.
 */
import { tf } from '../runtime/tf';
import { valuesOf } from '../backend/native/loader';

export type Grad = Parameters<typeof tf.customGrad>[0];

/** Step t of a time-major Float32Array of T steps of `size` values (a view). */
export function at(a: Float32Array, t: number, size: number): Float32Array {
  return a.subarray(t * size, (t + 1) * size);
}

/** [h0; h_0 … h_{T−2}]: the state each step started from, [T·B, H]. */
export function previousStates(h0: tf.Tensor, hs: Float32Array, T: number, BH: number): Float32Array {
  const prev = new Float32Array(T * BH);
  prev.set(valuesOf(h0), 0);
  prev.set(hs.subarray(0, (T - 1) * BH), BH);
  return prev;
}
