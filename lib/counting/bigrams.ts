/**
 * Counting models: bigram statistics of a word list, as a dictionary and as a V×V count matrix,
 * their row-normalised probabilities (with add-k smoothing), likelihoods and sampling.
 */
import { Vocab } from '../data/vocab';
import type { Rng } from '../random/rng';
import { draw, type StepperFactory } from '../sample/draw';

const START = '<S>';
const END = '<E>';

/** The bigrams of one word with explicit start/end tokens: emma → <S>e em mm ma a<E>. */
export function wordBigrams(word: string, start = START, end = END): [string, string][] {
  const chs = [start, ...word, end];
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < chs.length; i++) out.push([chs[i] as string, chs[i + 1] as string]);
  return out;
}

export interface BigramCount {
  first: string;
  second: string;
  count: number;
}

/** Bigram → count over all words, as the lecture's dictionary `b`, most common first (ties keep first-seen order). */
export function countBigrams(words: readonly string[]): BigramCount[] {
  const counts = new Map<string, BigramCount>();
  for (const w of words) {
    for (const [a, b] of wordBigrams(w)) {
      const key = `${a}\u0000${b}`;
      const e = counts.get(key);
      if (e) e.count++;
      else counts.set(key, { first: a, second: b, count: 1 });
    }
  }
  return [...counts.values()].sort((x, y) => y.count - x.count);
}

export function formatBigram(b: BigramCount): string {
  return `${b.first}${b.second}`;
}

/** A V×V matrix of numbers stored row-major. */
export interface Matrix<A extends Float64Array | Int32Array = Float64Array | Int32Array> {
  readonly rows: number;
  readonly cols: number;
  readonly data: A;
}

export function at(m: Matrix, i: number, j: number): number {
  return m.data[i * m.cols + j] as number;
}

export function row(m: Matrix, i: number): number[] {
  return Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols));
}

/**
 * N[i][j] = how often character j follows character i, with the boundary token (index 0)
 * standing for both start and end. For names.txt: 27×27, summing to 228,146.
 */
export function countMatrix(words: readonly string[], vocab: Vocab): Matrix<Int32Array> {
  const V = vocab.size;
  const data = new Int32Array(V * V);
  const b = vocab.boundary;
  if (b === null) throw new Error('countMatrix needs a vocabulary with a boundary token');
  for (const w of words) {
    let prev = 0;
    for (const ch of w) {
      const ix = vocab.stoi(ch);
      data[prev * V + ix]! += 1;
      prev = ix;
    }
    data[prev * V]! += 1;
  }
  return { rows: V, cols: V, data };
}

/** P = (N + k) normalised row by row (k = 1 is the lecture's smoothing; k = 0 leaves zeros). */
export function bigramProbabilities(counts: Matrix, smoothing = 1): Matrix<Float64Array> {
  if (!(smoothing >= 0)) throw new Error(`smoothing must be ≥ 0, got ${smoothing}`);
  const { rows, cols } = counts;
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += at(counts, i, j) + smoothing;
    for (let j = 0; j < cols; j++) data[i * cols + j] = sum > 0 ? (at(counts, i, j) + smoothing) / sum : 0;
  }
  return { rows, cols, data };
}

export interface Likelihood {
  /** Sum of log P over every bigram. */
  logLikelihood: number;
  /** Number of bigrams scored. */
  n: number;
  /** Average negative log likelihood: the loss. */
  nll: number;
}

/**
 * Log likelihood of words under bigram probabilities P. Double precision by default; with
 * `float32: true` every probability, log and running sum is rounded to float32, as the lecture's
 * loop over torch scalars does (which is why it prints 2.4544 rather than 2.4546).
 */
export function likelihood(
  P: Matrix,
  words: readonly string[],
  vocab: Vocab,
  opts: { float32?: boolean } = {},
): Likelihood {
  const r = opts.float32 ? Math.fround : (x: number) => x;
  let logLikelihood = 0;
  let n = 0;
  for (const w of words) {
    const ids = [0, ...vocab.encode(w), 0];
    for (let k = 0; k + 1 < ids.length; k++) {
      logLikelihood = r(logLikelihood + r(Math.log(r(at(P, ids[k] as number, ids[k + 1] as number)))));
      n++;
    }
  }
  return { logLikelihood, n, nll: -logLikelihood / n };
}

/** Per-bigram breakdown of a word: the lecture's `.e: 0.0478 -3.0408` lines. */
export function bigramBreakdown(
  P: Matrix,
  word: string,
  vocab: Vocab,
): { bigram: string; prob: number; logProb: number }[] {
  const ids = [0, ...vocab.encode(word), 0];
  const out: { bigram: string; prob: number; logProb: number }[] = [];
  for (let k = 0; k + 1 < ids.length; k++) {
    const a = ids[k] as number;
    const b = ids[k + 1] as number;
    const prob = at(P, a, b);
    out.push({ bigram: `${vocab.itos[a]}${vocab.itos[b]}`, prob, logProb: Math.log(prob) });
  }
  return out;
}

/** Train and dev NLL of the count model for each smoothing strength k (counts from the train words only). */
export function smoothingSweep(
  train: readonly string[],
  dev: readonly string[],
  vocab: Vocab,
  ks: readonly number[],
): { k: number; train: number; dev: number }[] {
  const N = countMatrix(train, vocab);
  return ks.map((k) => {
    const P = bigramProbabilities(N, k);
    return { k, train: likelihood(P, train, vocab).nll, dev: likelihood(P, dev, vocab).nll };
  });
}

/**
 * The wasteful first version: 26 letters plus separate <S> and <E> tokens (28×28). The <E> row and
 * the <S> column are all zeros, which is why the lecture folds both into one '.' token.
 */
export function countMatrixSeparateTokens(words: readonly string[]): { tokens: string[]; counts: Matrix<Int32Array> } {
  const letters = [...new Set(words.join(''))].sort();
  const tokens = [...letters, START, END];
  const index = new Map(tokens.map((t, i) => [t, i]));
  const V = tokens.length;
  const data = new Int32Array(V * V);
  for (const w of words) {
    for (const [a, b] of wordBigrams(w)) data[(index.get(a) as number) * V + (index.get(b) as number)]! += 1;
  }
  return { tokens, counts: { rows: V, cols: V, data } };
}

/** A matrix as nested arrays (for plotting). */
export function toRows(m: Matrix): number[][] {
  return Array.from({ length: m.rows }, (_, i) => row(m, i));
}

/** Probability of a whole word: the product of its bigram probabilities, boundary included. */
export function wordProbability(P: Matrix, word: string, vocab: Vocab): number {
  return Math.exp(likelihood(P, [word], vocab).logLikelihood);
}

/**
 * The probability table as a stepper for the one draw loop (sample/draw.ts): the next character's
 * distribution is row P[last character].
 */
export function tableStepper(P: Matrix): StepperFactory {
  const table = Array.from({ length: P.rows }, (_, i) => Float32Array.from(row(P, i)));
  return (rows, prefix) => {
    let last = new Array<number>(rows).fill(prefix.at(-1) ?? 0);
    return {
      gives: 'probabilities',
      next(drawn) {
        if (drawn) last = [...drawn];
        const out = new Float32Array(rows * P.cols);
        last.forEach((ix, r) => out.set(table[ix] as Float32Array, r * P.cols));
        return out;
      },
      dispose() {},
    };
  };
}

/**
 * Samples words from bigram probabilities: start at the boundary, draw the next index from row P[ix]
 * (one multinomial draw, as the lecture does) until the boundary comes back. Each word ends with '.'.
 */
export function sampleWords(P: Matrix, vocab: Vocab, rng: Rng, count: number, maxLength = 100): string[] {
  const { ids, ended } = draw(tableStepper(P), rng, { count, maxLength });
  // the lecture prints the end token: "mor."
  return ids.map((w, i) => vocab.decode(w) + (ended[i] ? vocab.itos[0] : ''));
}
