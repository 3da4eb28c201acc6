/**
 * Exercises of notebook 03 (likelihood): the average negative log likelihood written by hand, a trigram
 * count model and its loss on train and dev, and its smoothing tuned on dev and scored once on test.
 * No TensorFlow.js here, directly or indirectly: notebook 03 must not load it.
 */
import { grade, expect, type Verdict } from './check';
import { referenceTrigrams } from './counting';
import { bigramProbabilities, countMatrix, likelihood, type Matrix } from '../counting/bigrams';
import type { Vocab } from '../data/vocab';
import type { Split } from '../data/splits';
import { TorchGenerator } from '../random/torch-generator';

const near = (a: number, b: number, tol = 1e-6) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

/**
 * 03 · Exercise 1: `averageNll(P, words)` = −mean log P over every bigram (boundary included); compared with
 * lib's likelihood on one name, on 500 names and on a random table, naming the usual slips.
 */
export function checkAverageNll(
  averageNll: ((P: Matrix, words: string[]) => number) | undefined,
  words: readonly string[],
  vocab: Vocab,
): Verdict {
  return grade('03·1 average negative log likelihood', averageNll, (f) => {
    const P = bigramProbabilities(countMatrix(words, vocab), 1);
    const rng = new TorchGenerator(3);
    const u = rng.rand(P.rows * P.cols);
    const random: Matrix<Float64Array> = bigramProbabilities(
      { rows: P.rows, cols: P.cols, data: Float64Array.from(u) },
      0,
    );
    const cases: [string, Matrix, string[]][] = [
      ["P, ['emma']", P, ['emma']],
      ['P, the first 500 names', P, words.slice(0, 500)],
      ['a random table, the first 500 names', random, words.slice(0, 500)],
    ];
    for (const [label, table, ws] of cases) {
      const got = f(table, [...ws]);
      const ref = likelihood(table, ws, vocab);
      const want = ref.nll;
      expect(
        typeof got === 'number' && Number.isFinite(got),
        `averageNll(${label}) returned ${String(got)}, not a finite number`,
      );
      if (near(got, want)) continue;
      const hint = (() => {
        if (near(got, -want)) return 'the sign is flipped: the loss is the *negative* log likelihood (lower is better)';
        if (near(got, want * ref.n)) return `that is the sum over the ${ref.n} bigrams: divide by their number`;
        if (near(got, want / Math.LN10)) return 'that is log base 10: use the natural log (Math.log)';
        if (near(got, Math.exp(-want)))
          return "that is a probability: take −log of each bigram's probability, then average";
        const partial = (skip: 'start' | 'end') => {
          let s = 0;
          let n = 0;
          for (const w of ws) {
            const ids = [0, ...vocab.encode(w), 0];
            for (let k = skip === 'start' ? 1 : 0; k + 1 < ids.length - (skip === 'end' ? 1 : 0); k++) {
              s -= Math.log(table.data[(ids[k] as number) * table.cols + (ids[k + 1] as number)] as number);
              n++;
            }
          }
          return s / n;
        };
        if (near(got, partial('end'), 1e-4)) return "the last bigram of each name (last letter → '.') is missing";
        if (near(got, partial('start'), 1e-4)) return "the first bigram of each name ('.' → first letter) is missing";
        return 'average −log P[previous][next] over every bigram of every name, "." before and after each name';
      })();
      expect(false, `averageNll(${label}) = ${got.toFixed(6)}, expected ${want.toFixed(6)}: ${hint}`);
    }
    return `matches on all three cases (P over all names: ${likelihood(P, words, vocab).nll.toFixed(4)})`;
  });
}

/** A trigram table: P[a][b][c] = P(next = c | previous two = a, b), indices of the vocabulary. */
export type TrigramTable = number[][][];

interface TrigramCounts {
  V: number;
  /** N[(a·V + b)·V + c]. */
  N: Float64Array;
  /** Row sums over c. */
  S: Float64Array;
}

function trigramIds(words: readonly string[], vocab: Vocab): Int32Array {
  const out: number[] = [];
  const V = vocab.size;
  for (const w of words)
    for (const t of referenceTrigrams(w)) {
      const [a, b, c] = [...t].map((ch) => vocab.stoi(ch)) as [number, number, number];
      out.push((a * V + b) * V + c);
    }
  return Int32Array.from(out);
}

function countTrigramIds(ids: Int32Array, V: number): TrigramCounts {
  const N = new Float64Array(V * V * V);
  const S = new Float64Array(V * V);
  for (const i of ids) {
    N[i]! += 1;
    S[Math.floor(i / V)]! += 1;
  }
  return { V, N, S };
}

/** Average NLL of the add-k trigram model with counts `c` on trigrams `ids`. */
function smoothedNll(c: TrigramCounts, k: number, ids: Int32Array): number {
  let s = 0;
  for (const i of ids) s -= Math.log(((c.N[i] as number) + k) / ((c.S[Math.floor(i / c.V)] as number) + c.V * k));
  return s / ids.length;
}

function tableNll(P: TrigramTable, ids: Int32Array, V: number): number {
  let s = 0;
  for (const i of ids) {
    const c = i % V;
    const b = Math.floor(i / V) % V;
    const a = Math.floor(i / (V * V));
    s -= Math.log(P[a]![b]![c]!);
  }
  return s / ids.length;
}

function checkTable(P: unknown, V: number, call: string): asserts P is TrigramTable {
  const shape = (x: unknown): string =>
    Array.isArray(x) ? `[${x.length}${Array.isArray(x[0]) ? ', …' : ''}]` : typeof x;
  expect(
    Array.isArray(P) && P.length === V,
    `${call}: expected nested arrays of shape [${V}, ${V}, ${V}], got ${shape(P)}`,
  );
  for (let a = 0; a < V; a++) {
    const pa = P[a] as unknown;
    expect(Array.isArray(pa) && pa.length === V, `${call}: P[${a}] should hold ${V} rows, got ${shape(pa)}`);
    for (let b = 0; b < V; b++) {
      const r = pa[b] as unknown;
      expect(
        Array.isArray(r) && r.length === V,
        `${call}: P[${a}][${b}] should hold ${V} probabilities, got ${shape(r)}`,
      );
    }
  }
}

/**
 * 03 · Exercise 2: `fitTrigram(words, k)` returns add-k smoothed trigram probabilities P[a][b][c]; fitted on
 * train by the grader, checked row by row against a recount, then scored on train and dev beside the bigram.
 */
export function checkTrigramModel(
  fitTrigram: ((words: string[], k: number) => TrigramTable) | undefined,
  split: Split<string[]>,
  vocab: Vocab,
): Verdict {
  return grade('03·2 trigram model', fitTrigram, (f) => {
    const V = vocab.size;
    const name = (a: number, b: number) => `'${vocab.itos[a]}${vocab.itos[b]}'`;
    const trainIds = trigramIds(split.train, vocab);
    const devIds = trigramIds(split.dev, vocab);
    const counts = countTrigramIds(trainIds, V);
    const P = f([...split.train], 1);
    checkTable(P, V, 'fitTrigram(train, 1)');
    for (let a = 0; a < V; a++)
      for (let b = 0; b < V; b++) {
        const r = P[a]![b]!;
        const sum = r.reduce((x, y) => x + y, 0);
        expect(
          Math.abs(sum - 1) < 1e-6,
          `row P[${a}][${b}] (context ${name(a, b)}) sums to ${sum.toPrecision(6)}, not 1: normalise each row by its own sum`,
        );
        for (let c = 0; c < V; c++) {
          const i = (a * V + b) * V + c;
          const want = ((counts.N[i] as number) + 1) / ((counts.S[a * V + b] as number) + V);
          expect(
            Math.abs(r[c]! - want) <= 1e-9 + 1e-6 * want,
            `P[${a}][${b}][${c}] = P('${vocab.itos[c]}' after ${name(a, b)}) = ${r[c]}, expected ${want.toPrecision(6)} = ` +
              `(count ${counts.N[i]} + 1) / (${counts.S[a * V + b]} trigrams after ${name(a, b)} + ${V}·1), counted on train only`,
          );
        }
      }
    const tri = { train: tableNll(P, trainIds, V), dev: tableNll(P, devIds, V) };
    const P2 = bigramProbabilities(countMatrix(split.train, vocab), 1);
    const bi = { train: likelihood(P2, split.train, vocab).nll, dev: likelihood(P2, split.dev, vocab).nll };
    return (
      `trigram (k = 1): train ${tri.train.toFixed(4)}, dev ${tri.dev.toFixed(4)}; bigram (k = 1): train ${bi.train.toFixed(4)}, ` +
      `dev ${bi.dev.toFixed(4)} — two characters of context gain ${(bi.dev - tri.dev).toFixed(3)} on dev`
    );
  });
}

/** How far above the best dev loss over k a tuned smoothing may be. */
export const SMOOTHING_TOLERANCE = 0.003;

/**
 * 03 · Exercise 3: `{ k, test }`, the trigram smoothing tuned on dev and its test loss: k's dev loss must be
 * within SMOOTHING_TOLERANCE of the best k's (searched by the grader), and `test` the test loss at that k.
 */
export function checkSmoothingTuned(
  answer: { k: number; test: number } | undefined,
  split: Split<string[]>,
  vocab: Vocab,
): Verdict {
  return grade('03·3 smoothing tuned on dev', answer, ({ k, test }) => {
    expect(
      typeof k === 'number' && k > 0 && Number.isFinite(k),
      `k = ${k}: it must be a positive number (with k = 0, dev trigrams never seen in train get probability 0 and an infinite loss)`,
    );
    const V = vocab.size;
    const counts = countTrigramIds(trigramIds(split.train, vocab), V);
    const ids = { dev: trigramIds(split.dev, vocab), test: trigramIds(split.test, vocab) };
    const dev = (x: number) => smoothedNll(counts, x, ids.dev);
    // coarse log grid, then golden-section refinement around its best point
    let bestK = 1;
    for (let e = -4; e <= 3.0001; e += 0.05) if (dev(10 ** e) < dev(bestK)) bestK = 10 ** e;
    let lo = Math.log10(bestK) - 0.05;
    let hi = Math.log10(bestK) + 0.05;
    for (let i = 0; i < 40; i++) {
      const m1 = lo + (hi - lo) / 3;
      const m2 = hi - (hi - lo) / 3;
      if (dev(10 ** m1) < dev(10 ** m2)) hi = m2;
      else lo = m1;
    }
    bestK = 10 ** ((lo + hi) / 2);
    const devK = dev(k);
    const devBest = dev(bestK);
    expect(
      devK <= devBest + SMOOTHING_TOLERANCE,
      `dev loss at k = ${k} is ${devK.toFixed(4)}, but k = ${bestK.toPrecision(2)} reaches ${devBest.toFixed(4)} ` +
        `(more than ${SMOOTHING_TOLERANCE} better): try more values of k, ${k > bestK ? 'smaller' : 'larger'} ones`,
    );
    const testK = smoothedNll(counts, k, ids.test);
    expect(
      typeof test === 'number' && Number.isFinite(test),
      `test = ${String(test)}: report the test loss as a number`,
    );
    expect(
      Math.abs(test - testK) < 1e-4,
      `test = ${test.toFixed(4)}, but the trigram counted on train with k = ${k} scores ${testK.toFixed(4)} on test` +
        (Math.abs(test - devK) < 1e-4 ? ' (yours is its dev loss: evaluate on the test names)' : ''),
    );
    return `k = ${k}: dev ${devK.toFixed(4)} (best over k: ${devBest.toFixed(4)} at k ≈ ${bestK.toPrecision(2)}), test ${testK.toFixed(4)}`;
  });
}
