/**
 * Losses.
 */
import { tf } from '../runtime/tf';

export interface TargetLayout {
  /**
   * Targets of rank 2 are [batch row, position] (makemore's Y); true when they are [position, batch row]
   * (a recurrent model's time-major targets), so an error names the row and the position the right way
   * round.
   */
  timeMajor?: boolean;
}

/**
 * Why `targets` (integer class ids, of `shape`) cannot be scored against a vocabulary of V classes, or
 * null when every one is in [0, V) or is `ignoreIndex`. The first bad target is named by its batch row
 * and position, not by its flattened index: "target 27 at batch row 10, position 3 is outside the
 * vocabulary [0, 27)". Without this check a target ≥ V picks a logit of the next row (a wrong loss, no
 * error) or fails deep in a gather with a flattened position.
 */
function targetError(
  targets: ArrayLike<number>,
  shape: readonly number[],
  V: number,
  ignoreIndex?: number,
  layout: TargetLayout = {},
): string | null {
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i] as number;
    if (t === ignoreIndex || (Number.isInteger(t) && t >= 0 && t < V)) continue;
    const ignored = ignoreIndex === undefined ? '' : ` (or ${ignoreIndex}, ignored)`;
    return `target ${t} at ${where(i, shape, layout)} is outside the vocabulary [0, ${V})${ignored}`;
  }
  return null;
}

/** The flat index i of a tensor of `shape` as the batch row and position it stands for. */
function where(i: number, shape: readonly number[], layout: TargetLayout): string {
  if (shape.length === 2) {
    const cols = shape[1] as number;
    const [a, b] = [Math.floor(i / cols), i % cols];
    const [row, position] = layout.timeMajor ? [b, a] : [a, b];
    return `batch row ${row}, position ${position}`;
  }
  if (shape.length <= 1) return `row ${i}`;
  const index: number[] = [];
  let rest = i;
  for (let d = shape.length - 1; d >= 0; d--) {
    index.unshift(rest % (shape[d] as number));
    rest = Math.floor(rest / (shape[d] as number));
  }
  return `index [${index.join(', ')}] of targets shaped [${shape.join(', ')}]`;
}

/** targetError as a RangeError. */
export function checkTargets(
  targets: ArrayLike<number>,
  shape: readonly number[],
  V: number,
  ignoreIndex?: number,
  layout: TargetLayout = {},
): void {
  const e = targetError(targets, shape, V, ignoreIndex, layout);
  if (e) throw new RangeError(e);
}

/**
 * Mean cross-entropy of logits [N, V] against integer targets [N], as F.cross_entropy: log-softmax,
 * then the target column picked with a gather (no N×V one-hot), averaged over rows whose target is
 * not `ignoreIndex`. Targets are checked first (checkTargets): one out of range is a RangeError naming
 * its batch row and position (`layout`: how rank-2 targets are laid out).
 */
export function crossEntropy(
  logits: tf.Tensor,
  targets: tf.Tensor,
  ignoreIndex?: number,
  layout: TargetLayout = {},
): tf.Scalar {
  const V = logits.shape[logits.shape.length - 1] as number;
  const rows = logits.size / V;
  if (targets.size !== rows)
    throw new RangeError(
      `logits [${logits.shape.join(', ')}] hold ${rows} rows of ${V} classes, but targets [${targets.shape.join(', ')}] hold ${targets.size} ids`,
    );
  // the ids are small and already on the host (the wasm backend's heap): reading them costs microseconds
  checkTargets(targets.dataSync(), targets.shape, V, ignoreIndex, layout);
  return tf.tidy(() => {
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
