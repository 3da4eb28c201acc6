/**
 * Neural-net building blocks on TensorFlow.js shared by every model: parameters initialised from a
 * generator, cross-entropy without one-hot blow-ups, and parameter counting.
 */
import { tf } from './tf';
import type { Rng } from './random';

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

/**
 * Loads weights by name into `vars` (every name must be present with the same shape; checked before
 * anything changes). The variables take their own reference to the data: the caller may dispose `w`.
 */
export function loadNamedWeights(vars: Record<string, tf.Variable>, w: Record<string, tf.Tensor>): void {
  for (const [name, v] of Object.entries(vars)) {
    const src = w[name];
    if (!src) throw new Error(`saved weights lack '${name}'`);
    if (src.shape.join() !== v.shape.join())
      throw new Error(`saved '${name}' has shape [${src.shape}], the model expects [${v.shape}]`);
  }
  for (const [name, v] of Object.entries(vars)) assignValue(v, w[name] as tf.Tensor);
}

/**
 * Mean cross-entropy of logits [N, V] against integer targets [N], as F.cross_entropy: log-softmax,
 * then the target column picked with a gather (no N×V one-hot), averaged over rows whose target is
 * not `ignoreIndex`.
 */
export function crossEntropy(logits: tf.Tensor, targets: tf.Tensor, ignoreIndex?: number): tf.Scalar {
  return tf.tidy(() => {
    const V = logits.shape[logits.shape.length - 1] as number;
    const flat = logits.reshape([-1, V]);
    const t = targets.reshape([-1]).toInt();
    const N = flat.shape[0] as number;
    const logp = tf.logSoftmax(flat).reshape([-1]);
    let tt = t;
    let mask: tf.Tensor | null = null;
    if (ignoreIndex !== undefined) {
      mask = tf.notEqual(t, ignoreIndex);
      tt = tf.where(mask, t, tf.zerosLike(t));
    }
    const flatIdx = tf.range(0, N, 1, 'int32').mul(tf.scalar(V, 'int32')).add(tt);
    const picked = tf.gather(logp, flatIdx);
    if (!mask) return picked.mean().neg() as tf.Scalar;
    const m = mask.toFloat();
    return picked.mul(m).sum().div(m.sum().maximum(1)).neg() as tf.Scalar;
  });
}

export function countParameters(params: readonly tf.Tensor[]): number {
  return params.reduce((s, p) => s + p.size, 0);
}
