/**
 * Random minibatches as tensors (indices drawn on the host: no gather over the whole data set).
 */
import { takeRows, type Windows } from './windows';
import { takeSequences, type Sequences } from './sequences';
import { tf } from '../runtime/tf';
import type { Rng } from '../random/rng';

/** A random minibatch of `size` rows as tensors (indices drawn on the host: no gather over the data). */
export function minibatch(d: Windows, rng: Rng, size: number): { X: tf.Tensor2D; Y: tf.Tensor1D } {
  const b = takeRows(d, rng.randint(0, d.n, size));
  return { X: tf.tensor2d(b.X, [size, d.blockSize], 'int32'), Y: tf.tensor1d(b.Y, 'int32') };
}

/** A random minibatch of `size` sequences (makemore-style data) as tensors. */
export function sequenceBatch(d: Sequences, rng: Rng, size: number): { X: tf.Tensor2D; Y: tf.Tensor2D } {
  const b = takeSequences(d, rng.randint(0, d.n, size));
  return { X: tf.tensor2d(b.X, [size, d.blockSize], 'int32'), Y: tf.tensor2d(b.Y, [size, d.blockSize], 'int32') };
}
