/**
 * The one sampling loop shared by every generator (the counting model's table, window models, recurrent
 * models): no tensors here, so the counting notebooks need no TensorFlow.js.
 */
import type { Rng } from '../random/rng';
import { throwIfInterrupted } from '../runtime/interrupt';

/**
 * The one sampling loop every generator shares: starting after the boundary token 0, ask `next` for the
 * distribution over the following token (given the token just drawn), draw one with `rng`, stop when 0
 * comes back or after `maxLength` tokens. Returns the drawn ids without the final 0, and whether it came.
 */
export function drawSequence(
  next: (prev: number) => Float32Array,
  rng: Rng,
  maxLength: number,
): { ids: number[]; ended: boolean } {
  const ids: number[] = [];
  let prev = 0;
  while (ids.length < maxLength) {
    throwIfInterrupted('sampling');
    prev = rng.multinomial(next(prev), 1, true)[0] as number;
    if (prev === 0) return { ids, ended: true };
    ids.push(prev);
  }
  return { ids, ended: false };
}
