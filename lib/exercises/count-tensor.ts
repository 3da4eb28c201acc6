/**
 * Exercises of notebook 02 (the count tensor): build the 27×27 counts, normalise the rows with smoothing
 * (the keepdim pitfall), and write the sampling loop that reproduces the lecture's names.
 */
import { tf } from '../runtime/tf';
import { grade, expect, formatShape, type Verdict } from './check';
import { bigramProbabilities, countMatrix, sampleWords, type Matrix } from '../counting/bigrams';
import type { Vocab } from '../data/vocab';
import type { Rng } from '../random/rng';
import { TorchGenerator } from '../random/torch-generator';

function isTensor(x: unknown): x is tf.Tensor {
  return x instanceof tf.Tensor;
}

/**
 * 02 · Exercise 1: the 27×27 count tensor N built by the learner (N[i][j]: how often j follows i, '.' at 0);
 * compared cell by cell with a recount, naming the first wrong cell by its characters.
 */
export function checkCountTensor(N: tf.Tensor | undefined, words: readonly string[], vocab: Vocab): Verdict {
  return grade('02·1 count tensor', N, (t) => {
    expect(
      isTensor(t),
      `N is ${typeof t}, not a tf.Tensor (build it with tf.buffer or from nested arrays with tf.tensor2d)`,
    );
    const V = vocab.size;
    expect(
      t.rank === 2 && t.shape[0] === V && t.shape[1] === V,
      `N has shape ${formatShape(t.shape)}, expected [${V}, ${V}]` +
        (t.shape[0] === V + 1 ? ": one '.' token both starts and ends a name (no separate <S> and <E>)" : ''),
    );
    const got = t.dataSync();
    const want = countMatrix(words, vocab);
    const transposed = Array.from(got).every((v, i) => v === want.data[(i % V) * V + Math.floor(i / V)]);
    expect(
      !transposed || Array.from(got).every((v, i) => v === want.data[i]),
      'N is transposed: rows must be the first character and columns the one that follows it (N[first][next])',
    );
    for (let i = 0; i < V * V; i++) {
      const r = Math.floor(i / V);
      const c = i % V;
      expect(
        got[i] === want.data[i],
        `N[${r}][${c}] (row '${vocab.itos[r]}', column '${vocab.itos[c]}': how often '${vocab.itos[c]}' follows '${vocab.itos[r]}') ` +
          `is ${got[i]}, expected ${want.data[i]}`,
      );
    }
    return `all ${V * V} cells right: ${want.data.reduce((a, b) => a + b, 0)} bigrams`;
  });
}

/**
 * 02 · Exercise 2: `normalise(N)` = (N + 1) divided by each row's own sum; checks that the rows (not the
 * columns) sum to 1, the smoothing, and every entry against lib's bigramProbabilities.
 */
export function checkRowNormalisation(
  normalise: ((N: tf.Tensor2D) => tf.Tensor2D) | undefined,
  words: readonly string[],
  vocab: Vocab,
): Verdict {
  return grade('02·2 rows normalised with smoothing', normalise, (f) => {
    const counts = countMatrix(words, vocab);
    const V = vocab.size;
    const N = tf.tensor2d(counts.data, [V, V], 'int32');
    try {
      const out = f(N);
      expect(isTensor(out), `normalise(N) returned ${typeof out}, not a tf.Tensor`);
      expect(
        out.rank === 2 && out.shape[0] === V && out.shape[1] === V,
        `normalise(N) has shape ${formatShape(out.shape)}, expected [${V}, ${V}] (one distribution per row)`,
      );
      const P = Float64Array.from(out.dataSync());
      out.dispose();
      const want = bigramProbabilities(counts, 1).data;
      const rowSum = (r: number) => P.slice(r * V, (r + 1) * V).reduce((a, b) => a + b, 0);
      const colSum = (c: number) =>
        Array.from({ length: V }, (_, r) => P[r * V + c] as number).reduce((a, b) => a + b, 0);
      for (let r = 0; r < V; r++) {
        const s = rowSum(r);
        expect(
          Math.abs(s - 1) < 1e-4,
          `row ${r} ('${vocab.itos[r]}') sums to ${s.toFixed(4)}, not 1` +
            (Math.abs(colSum(0) - 1) < 1e-4
              ? ': your *columns* sum to 1 — N.sum(1) without keepdim has shape [27], which broadcasts as a row; use N.sum(1, true) ([27, 1])'
              : ': divide each row by its own sum'),
        );
      }
      for (let i = 0; i < V * V; i++) {
        const r = Math.floor(i / V);
        const c = i % V;
        const g = P[i] as number;
        const w = want[i] as number;
        expect(
          Math.abs(g - w) <= 1e-6 + 1e-4 * w,
          `P[${r}][${c}] = P('${vocab.itos[c]}' | '${vocab.itos[r]}') is ${g.toPrecision(5)}, expected ${w.toPrecision(5)}` +
            (g === 0
              ? ': add 1 to every count before normalising, so no bigram is impossible'
              : ' = (N + 1) / row sum of (N + 1)'),
        );
      }
      return `every row sums to 1; P('a' | '.') = ${(want[1] as number).toFixed(4)}`;
    } finally {
      N.dispose();
    }
  });
}

/**
 * 02 · Exercise 3: `sampleName(P, g)`, the sampling loop (start at '.', one `g.multinomial(row, 1, true)` per
 * character, stop at '.'); must reproduce lib's sampleWords name for name with the lecture's seed.
 */
export function checkSampler(
  sampleName: ((P: Matrix, g: Rng) => string) | undefined,
  words: readonly string[],
  vocab: Vocab,
): Verdict {
  return grade('02·3 sampling loop', sampleName, (f) => {
    const P = bigramProbabilities(countMatrix(words, vocab), 1);
    const want = sampleWords(P, vocab, new TorchGenerator(2147483647), 10).map((w) => w.replace(/\.$/, ''));
    const g = new TorchGenerator(2147483647);
    for (let i = 0; i < want.length; i++) {
      const got = f(P, g);
      expect(typeof got === 'string', `name ${i + 1}: sampleName returned ${typeof got}, not a string`);
      const name = got.replace(/\.$/, '');
      if (name === want[i]) continue;
      const hint =
        name.length === 0
          ? "start from row 0 ('.') and keep drawing until '.' is drawn again"
          : got.includes('.') && got.indexOf('.') < got.length - 1
            ? "stop as soon as '.' (index 0) is drawn"
            : 'draw each character with g.multinomial(row of P for the previous character, 1, true), starting at row 0, one draw per character';
      expect(
        false,
        `name ${i + 1}: got ${JSON.stringify(name)}, expected ${JSON.stringify(want[i])} from the same generator: ${hint}`,
      );
    }
    return `the lecture's names, in order: ${want.slice(0, 5).join(', ')}, …`;
  });
}
