/**
 * Whole words as sequences for sequence models: inputs start with the boundary token, targets end
 * with it, padding is −1 (ignored by the loss).
 */
import { Vocab } from './vocab';

/** Sequences for makemore-style models: each word as input [0, w…, 0-padding] and target [w…, 0, −1…]. */
export interface Sequences {
  readonly X: Int32Array;
  readonly Y: Int32Array;
  readonly n: number;
  readonly blockSize: number;
}

/**
 * makemore's CharDataset: token 0 starts the input and ends the target; positions after the end are
 * padded (input 0, target −1 so the loss ignores them). blockSize = longest word + 1.
 */
export function buildSequences(words: readonly string[], vocab: Vocab, blockSize: number): Sequences {
  const n = words.length;
  const X = new Int32Array(n * blockSize);
  const Y = new Int32Array(n * blockSize).fill(-1);
  words.forEach((w, i) => {
    const ids = vocab.encode(w);
    if (ids.length + 1 > blockSize)
      throw new Error(`word '${w}' (${ids.length} characters) does not fit block size ${blockSize}`);
    X.set(ids, i * blockSize + 1);
    Y.set(ids, i * blockSize);
    Y[i * blockSize + ids.length] = 0;
  });
  return { X, Y, n, blockSize };
}

/** Rows `idx` of a sequence dataset. */
export function takeSequences(d: Sequences, idx: ArrayLike<number>): { X: Int32Array; Y: Int32Array } {
  const T = d.blockSize;
  const X = new Int32Array(idx.length * T);
  const Y = new Int32Array(idx.length * T);
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k] as number;
    X.set(d.X.subarray(i * T, (i + 1) * T), k * T);
    Y.set(d.Y.subarray(i * T, (i + 1) * T), k * T);
  }
  return { X, Y };
}

/** The block size a sequence model needs for `words`: the longest word plus the boundary token (makemore's). */
export function sequenceBlockSize(words: readonly string[]): number {
  return words.reduce((m, w) => Math.max(m, [...w].length), 0) + 1;
}
