/**
 * (context → next character) windows: every position of every word, `blockSize` characters of context.
 */
import { Vocab } from './vocab';

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
