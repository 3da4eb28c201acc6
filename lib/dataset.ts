/**
 * Datasets of (context → next character) windows, and the lecture's train/dev/test split.
 */
import { Vocab } from './data';
import { pythonShuffle, TorchGenerator } from './random';

/** n examples: X holds n rows of `blockSize` context indices, Y the index that follows each row. */
export interface Windows {
  readonly X: Int32Array;
  readonly Y: Int32Array;
  readonly n: number;
  readonly blockSize: number;
}

/**
 * Slides a window of `blockSize` characters over every word padded with the boundary token:
 * with blockSize 3, "emma" gives ... → e, ..e → m, .em → m, emm → a, mma → '.'.
 * blockSize 1 gives the bigram pairs (228,146 for names.txt).
 */
export function buildWindows(words: readonly string[], vocab: Vocab, blockSize: number): Windows {
  if (!Number.isInteger(blockSize) || blockSize < 1)
    throw new Error(`blockSize must be a positive integer, got ${blockSize}`);
  let n = 0;
  for (const w of words) n += [...w].length + 1;
  const X = new Int32Array(n * blockSize);
  const Y = new Int32Array(n);
  let row = 0;
  const context = new Array<number>(blockSize).fill(0);
  for (const w of words) {
    context.fill(0);
    for (const ix of [...vocab.encode(w), 0]) {
      X.set(context, row * blockSize);
      Y[row] = ix;
      row++;
      context.shift();
      context.push(ix);
    }
  }
  return { X, Y, n, blockSize };
}

/** Rows `idx` of a dataset (a minibatch), as new arrays. */
export function takeRows(d: Windows, idx: ArrayLike<number>): { X: Int32Array; Y: Int32Array } {
  const X = new Int32Array(idx.length * d.blockSize);
  const Y = new Int32Array(idx.length);
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k] as number;
    X.set(d.X.subarray(i * d.blockSize, (i + 1) * d.blockSize), k * d.blockSize);
    Y[k] = d.Y[i] as number;
  }
  return { X, Y };
}

export interface Split<T> {
  train: T;
  dev: T;
  test: T;
}

/**
 * The lecture's split: `random.seed(seed); random.shuffle(words)`, then the first 80 % train, the next
 * 10 % dev, the rest test (25,626 / 3,203 / 3,204 names with seed 42).
 */
export function lectureSplit(words: readonly string[], seed = 42): Split<string[]> {
  const w = pythonShuffle(words, seed);
  const n1 = Math.floor(0.8 * w.length);
  const n2 = Math.floor(0.9 * w.length);
  return { train: w.slice(0, n1), dev: w.slice(n1, n2), test: w.slice(n2) };
}

/**
 * makemore's split: `torch.manual_seed(seed); rp = torch.randperm(n)`, the last min(1000, 10 %) words of
 * the permutation are the test set, the rest train (31,033 / 1,000 names for names.txt).
 */
export function makemoreSplit(words: readonly string[], seed = 3407): { train: string[]; test: string[] } {
  const perm = new TorchGenerator(seed).randperm(words.length);
  const nTest = Math.min(1000, Math.floor(words.length * 0.1));
  const pick = (from: number, to: number) => Array.from(perm.subarray(from, to), (i) => words[i] as string);
  return { train: pick(0, words.length - nTest), test: pick(words.length - nTest, words.length) };
}

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
