/**
 * The data set-up every neural notebook starts from: names, vocabulary, the lecture's split and the
 * (context → next character) windows of each part.
 */
import { loadWords, LOWERCASE, Vocab } from './data';
import {
  buildWindows,
  lectureSplit,
  takeRows,
  takeSequences,
  type Sequences,
  type Split,
  type Windows,
} from './dataset';
import { tf } from './tf';
import type { Rng } from './random';

export interface LectureData {
  words: string[];
  vocab: Vocab;
  split: Split<string[]>;
  windows: Split<Windows>;
}

export function lectureData(blockSize = 3, file = 'data/names.txt', seed = 42): LectureData {
  const words = loadWords(file, { alphabet: LOWERCASE });
  const vocab = Vocab.fromWords(words);
  const split = lectureSplit(words, seed);
  const windows = {
    train: buildWindows(split.train, vocab, blockSize),
    dev: buildWindows(split.dev, vocab, blockSize),
    test: buildWindows(split.test, vocab, blockSize),
  };
  return { words, vocab, split, windows };
}

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
