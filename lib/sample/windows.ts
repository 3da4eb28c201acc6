/**
 * Sampling from a trained model: softmax with temperature, optional top-k, one seeded draw per character.
 */
import { tf } from '../runtime/tf';
import type { Vocab } from '../data/vocab';
import type { Rng } from '../random/rng';
import { drawSequence } from './draw';

export interface SampleOptions {
  /** Divides the logits: < 1 sharper, > 1 flatter. Must be > 0. */
  temperature?: number;
  /** Keep only the k most likely characters before drawing. */
  topK?: number;
  maxLength?: number;
}

export function checkSampleOptions(o: SampleOptions): void {
  if (o.temperature !== undefined && !(o.temperature > 0))
    throw new Error(`temperature must be > 0, got ${o.temperature}`);
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK > 0))
    throw new Error(`topK must be a positive integer, got ${o.topK}`);
}

/** Probabilities from one row of logits, after temperature and top-k (float32, as torch's softmax). */
export function probsFromLogits(logits: ArrayLike<number>, o: SampleOptions = {}): Float32Array {
  const t = o.temperature ?? 1;
  const scaled = Array.from(logits, (v) => Math.fround(v / t));
  if (o.topK !== undefined && o.topK < scaled.length) {
    const kth = [...scaled].sort((a, b) => b - a)[o.topK - 1] as number;
    for (let i = 0; i < scaled.length; i++) if ((scaled[i] as number) < kth) scaled[i] = -Infinity;
  }
  const max = Math.max(...scaled);
  const e = scaled.map((v) => Math.exp(v - max));
  const s = e.reduce((a, b) => a + b, 0);
  return Float32Array.from(e, (v) => v / s);
}

/**
 * Generates words from a model that maps a context of `blockSize` indices to next-character logits:
 * start from all-boundary context, draw, shift the context, stop at the boundary (0).
 */
export function sampleWords(
  logitsOf: (X: tf.Tensor2D) => tf.Tensor2D,
  vocab: Vocab,
  blockSize: number,
  rng: Rng,
  count: number,
  o: SampleOptions = {},
): string[] {
  checkSampleOptions(o);
  return Array.from({ length: count }, () => {
    const context = new Array<number>(blockSize).fill(0);
    const { ids } = drawSequence(
      (prev) => {
        if (prev !== 0) {
          context.shift();
          context.push(prev);
        }
        const logits = tf.tidy(() => logitsOf(tf.tensor2d(context, [1, blockSize], 'int32')));
        const row = logits.dataSync();
        logits.dispose();
        return probsFromLogits(row, o);
      },
      rng,
      o.maxLength ?? 50,
    );
    return vocab.decode(ids);
  });
}
