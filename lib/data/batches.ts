/**
 * Random minibatches (indices drawn on the host: no gather over the whole data set), as id arrays
 * (`Batch`: what train() takes, and what a fused step reads) or as tensors.
 */
import { takeRows, type Windows } from './windows';
import { takeSequences, type Sequences } from './sequences';
import { tf } from '../runtime/tf';
import type { Rng } from '../random/rng';

/** `rows` examples: windows X [rows, blockSize] with targets Y [rows], or sequences X and Y [rows, T]. */
export interface Batch {
  X: Int32Array;
  Y: Int32Array;
  rows: number;
}

/** `size` random windows (the same draws from `rng` as `minibatch`). */
export function sampleWindows(d: Windows, rng: Rng, size: number): Batch {
  return { ...takeRows(d, rng.randint(0, d.n, size)), rows: size };
}

/** `size` random sequences (the same draws from `rng` as `sequenceBatch`). */
export function sampleSequences(d: Sequences, rng: Rng, size: number): Batch {
  return { ...takeSequences(d, rng.randint(0, d.n, size)), rows: size };
}

/** A batch as tensors: X [rows, ·], and Y [rows] for windows or [rows, T] for sequences. */
export function batchTensors(b: Batch, reads: 'window' | 'sequence'): { X: tf.Tensor2D; Y: tf.Tensor1D | tf.Tensor2D } {
  const X = tf.tensor2d(b.X, [b.rows, b.X.length / b.rows], 'int32');
  const Y = reads === 'window' ? tf.tensor1d(b.Y, 'int32') : tf.tensor2d(b.Y, [b.rows, b.Y.length / b.rows], 'int32');
  return { X, Y };
}

/** A random minibatch of `size` rows as tensors. */
export function minibatch(d: Windows, rng: Rng, size: number): { X: tf.Tensor2D; Y: tf.Tensor1D } {
  return batchTensors(sampleWindows(d, rng, size), 'window') as { X: tf.Tensor2D; Y: tf.Tensor1D };
}

/** A random minibatch of `size` sequences (makemore-style data) as tensors. */
export function sequenceBatch(d: Sequences, rng: Rng, size: number): { X: tf.Tensor2D; Y: tf.Tensor2D } {
  return batchTensors(sampleSequences(d, rng, size), 'sequence') as { X: tf.Tensor2D; Y: tf.Tensor2D };
}
