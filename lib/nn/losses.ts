/**
 * Losses.
 */
import { tf } from '../runtime/tf';

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
