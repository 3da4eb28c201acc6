/**
 * Inverted dropout (torch.nn.functional.dropout while training): each entry is zeroed with probability
 * p and the survivors are scaled by 1/(1 − p), so the expected value is unchanged and evaluation needs
 * no rescaling. The mask comes from `rng`, so a seed fixes it (and a resumed run draws the same masks).
 */
import { tf } from '../runtime/tf';
import type { Rng } from '../random/rng';

export function dropout<T extends tf.Tensor>(x: T, p: number, rng: Rng): T {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout probability must be in [0, 1), got ${p}`);
  if (p === 0) return x;
  const u = rng.rand(x.shape);
  const keep = 1 / (1 - p);
  for (let i = 0; i < u.length; i++) u[i] = (u[i] as number) < p ? 0 : keep;
  return tf.tidy(() => x.mul(tf.tensor(u, x.shape, 'float32'))) as T;
}
