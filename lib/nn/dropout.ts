/**
 * Inverted dropout (torch.nn.functional.dropout while training): each entry is zeroed with probability
 * p and the survivors are scaled by 1/(1 − p), so the expected value is unchanged and evaluation needs
 * no rescaling. The mask comes from `rng`, so a seed fixes it (and a resumed run draws the same masks).
 */
import { tf } from '../runtime/tf';
import { Module } from './module';
import type { FusedLayer } from '../fused/frame';
import type { Rng } from '../random/rng';

export function dropout<T extends tf.Tensor>(x: T, p: number, rng: Rng): T {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout probability must be in [0, 1), got ${p}`);
  if (p === 0) return x;
  const u = rng.rand(x.shape);
  const keep = 1 / (1 - p);
  for (let i = 0; i < u.length; i++) u[i] = (u[i] as number) < p ? 0 : keep;
  return tf.tidy(() => x.mul(tf.tensor(u, x.shape, 'float32'))) as T;
}

/** Dropout as a layer: the masks from the forward's rng while training with p > 0, else x itself. */
export class Dropout extends Module {
  constructor(readonly p: number) {
    super();
    if (!(p >= 0 && p < 1)) throw new Error(`dropout must be in [0, 1), got ${p}`);
  }
  forward(x: tf.Tensor, training = false, rng?: Rng): tf.Tensor {
    if (!training || this.p === 0) return x;
    if (!rng) throw new Error(`dropout ${this.p}: training needs an rng for the masks`);
    return dropout(x, this.p, rng);
  }
  /** The identity with p = 0; with p > 0 the fused step has no masks: null, and the ops train it. */
  fused(): FusedLayer | null {
    if (this.p > 0) return null;
    return { forward: (_f, x) => x, backward: (_f, dy) => dy };
  }
  namedWeights(): Record<string, tf.Variable> {
    return {};
  }
}
