/**
 * Parameters initialised from a seeded generator, so a seed fixes every weight.
 */
import { tf } from '../runtime/tf';
import type { Rng } from '../random/rng';

let uniq = 0;

/**
 * A variable that takes ownership of `init`: tf.variable shares the tensor's data (one more reference),
 * so the initial tensor is released here — otherwise every variable leaves its initial copy behind.
 */
export function ownedVariable(init: tf.Tensor, trainable = true, name?: string): tf.Variable {
  const v = tf.variable(init, trainable, name);
  init.dispose();
  return v;
}

/** A trainable tensor initialised from `rng.randn` (times `scale`), so a seed fixes every weight. */
export function randnVariable(rng: Rng, shape: number[], scale = 1, name?: string): tf.Variable {
  const values = rng.randn(shape);
  if (scale !== 1) for (let i = 0; i < values.length; i++) values[i] = Math.fround((values[i] as number) * scale);
  return ownedVariable(tf.tensor(values, shape, 'float32'), true, name ? `${name}_${uniq++}` : undefined);
}

/** uniform(−1/√fanIn, 1/√fanIn), as torch.nn.Linear initialises, drawn from `rng`. */
export function uniformVariable(rng: Rng, fanIn: number, shape: number[], name: string): tf.Variable {
  const u = rng.rand(shape);
  const k = 1 / Math.sqrt(fanIn);
  for (let i = 0; i < u.length; i++) u[i] = Math.fround(((u[i] as number) * 2 - 1) * k);
  return ownedVariable(tf.tensor(u, shape, 'float32'), true, `${name}_${uniq++}`);
}

export function constantVariable(value: number, shape: number[], name?: string, trainable = true): tf.Variable {
  return ownedVariable(tf.fill(shape, value), trainable, name ? `${name}_${uniq++}` : undefined);
}

/** Replaces a variable's value with `value` (which stays the caller's to dispose). */
export function assignValue(v: tf.Variable, value: tf.Tensor): void {
  // assign() first releases the variable's own data: assigning a tensor that already shares that data
  // (e.g. the variable itself, from namedWeights()) would free it, and the variable would read garbage
  if (value.dataId === v.dataId) return;
  v.assign(value);
}
