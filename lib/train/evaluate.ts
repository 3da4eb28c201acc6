/**
 * Loss over a whole split, in chunks that bound memory.
 */
import { tf } from '../runtime/tf';
import { takeSequences, type Sequences } from '../data/sequences';
import { type Windows } from '../data/windows';
import { throwIfInterrupted } from '../runtime/interrupt';

/** Mean of `lossOf` over a whole dataset, evaluated in chunks so memory stays small. */
export function evaluateWindows(
  d: Windows,
  lossOf: (X: tf.Tensor2D, Y: tf.Tensor1D) => tf.Scalar,
  chunk = 8192,
): number {
  let total = 0;
  for (let s = 0; s < d.n; s += chunk) {
    throwIfInterrupted('evaluation');
    const e = Math.min(d.n, s + chunk);
    const part = tf.tidy(() => {
      const X = tf.tensor2d(d.X.subarray(s * d.blockSize, e * d.blockSize), [e - s, d.blockSize], 'int32');
      const Y = tf.tensor1d(d.Y.subarray(s, e), 'int32');
      return lossOf(X, Y);
    });
    total += (part.dataSync()[0] as number) * (e - s);
    part.dispose();
  }
  return total / d.n;
}

/**
 * Mean per-character loss of a sequence model over (up to `maxRows` rows of) a sequence dataset,
 * evaluated in chunks of `chunk` rows, each chunk weighted by its number of scored (non-padding) targets.
 */
export function evaluateSequences(
  forward: (X: tf.Tensor2D, Y: tf.Tensor2D) => tf.Scalar,
  d: Sequences,
  opts: { chunk?: number; maxRows?: number } = {},
): number {
  const chunk = opts.chunk ?? 100;
  const rows = Math.min(d.n, opts.maxRows ?? d.n);
  let total = 0;
  let scored = 0;
  for (let s = 0; s < rows; s += chunk) {
    throwIfInterrupted('evaluation');
    const idx = Array.from({ length: Math.min(chunk, rows - s) }, (_, i) => s + i);
    const b = takeSequences(d, idx);
    const n = b.Y.reduce((c, y) => c + (y >= 0 ? 1 : 0), 0);
    const loss = tf.tidy(() =>
      forward(
        tf.tensor2d(b.X, [idx.length, d.blockSize], 'int32'),
        tf.tensor2d(b.Y, [idx.length, d.blockSize], 'int32'),
      ),
    );
    total += (loss.dataSync()[0] as number) * n;
    scored += n;
    loss.dispose();
  }
  return total / scored;
}
