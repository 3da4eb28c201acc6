/**
 * Whole words as sequences for sequence models: inputs start with the boundary token, targets end
 * with it, padding is −1 (ignored by the loss).
 */
import { Vocab } from './vocab';

/** Positions a sequence dataset may hold (X and Y are 4 bytes each: 2 × 1 GiB at most). */
const MAX_SEQUENCE_VALUES = 2 ** 28;

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
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new Error(`block size must be a whole number ≥ 1, got ${blockSize}`);
  // Checked here so that a huge block size is a clear error, not "Invalid typed array length".
  if (n * blockSize > MAX_SEQUENCE_VALUES)
    throw new Error(
      `${n} words × block size ${blockSize} = ${n * blockSize} positions, more than ${MAX_SEQUENCE_VALUES}: the block size (longest word + 1) is too large for this many words`,
    );
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
