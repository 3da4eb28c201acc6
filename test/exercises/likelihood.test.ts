// lib/exercises/likelihood: notebook 03's checks accept a right answer, name what is wrong in typical wrong ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkAverageNll,
  checkTrigramModel,
  checkSmoothingTuned,
  SMOOTHING_TOLERANCE,
  type TrigramTable,
} from '../../lib/exercises/likelihood';
import { loadWords } from '../../lib/data/files';
import { LOWERCASE, Vocab } from '../../lib/data/vocab';
import { lectureSplit } from '../../lib/data/splits';
import { at, type Matrix } from '../../lib/counting/bigrams';

const words = loadWords('data/names.txt', { alphabet: LOWERCASE });
const vocab = Vocab.fromWords(words);
const split = lectureSplit(words, 42);

const nll =
  (o: { sign?: number; mean?: boolean; log?: (x: number) => number; skipEnd?: boolean } = {}) =>
  (P: Matrix, ws: string[]) => {
    let s = 0;
    let n = 0;
    for (const w of ws) {
      const ids = [0, ...vocab.encode(w), 0];
      for (let i = 0; i + 1 < ids.length - (o.skipEnd ? 1 : 0); i++) {
        s -= (o.log ?? Math.log)(at(P, ids[i]!, ids[i + 1]!));
        n++;
      }
    }
    return (o.sign ?? 1) * (o.mean === false ? s : s / n);
  };

test('checkAverageNll accepts the average NLL and reports an unanswered exercise', () => {
  const v = checkAverageNll(nll(), words, vocab);
  assert.equal(v.status, 'passed', v.message);
  assert.match(v.message, /2\.4546/);
  assert.equal(checkAverageNll(undefined, words, vocab).status, 'unanswered');
});

test('checkAverageNll names the sign, the sum, log10 and a missing last bigram', () => {
  assert.match(
    checkAverageNll(nll({ sign: -1 }), words, vocab).message,
    /averageNll\(P, \['emma'\]\) = -\d\.\d+, expected \d\.\d+: the sign is flipped/,
  );
  assert.match(
    checkAverageNll(nll({ mean: false }), words, vocab).message,
    /that is the sum over the 5 bigrams: divide by their number/,
  );
  assert.match(checkAverageNll(nll({ log: Math.log10 }), words, vocab).message, /log base 10/);
  assert.match(
    checkAverageNll(nll({ skipEnd: true }), words, vocab).message,
    /the last bigram of each name \(last letter → '\.'\) is missing/,
  );
});

const fit =
  (o: { k?: number; normalise?: boolean; pad?: number } = {}) =>
  (ws: string[], k: number): number[][][] => {
    const V = vocab.size;
    const N = Array.from({ length: V }, () => Array.from({ length: V }, () => new Array<number>(V).fill(o.k ?? k)));
    for (const w of ws) {
      const ids = [...new Array<number>(o.pad ?? 2).fill(0), ...vocab.encode(w), 0];
      for (let i = 0; i + 2 < ids.length; i++) N[ids[i]!]![ids[i + 1]!]![ids[i + 2]!]! += 1;
    }
    if (o.normalise === false) return N;
    return N.map((pl) => pl.map((r) => r.map((c) => c / r.reduce((a, b) => a + b, 0))));
  };

test('checkTrigramModel accepts add-k trigram counts and reports train and dev beside the bigram', () => {
  const v = checkTrigramModel(fit(), split, vocab);
  assert.equal(v.status, 'passed', v.message);
  assert.match(v.message, /trigram \(k = 1\): train \d\.\d{4}, dev \d\.\d{4}; bigram \(k = 1\): train 2\.\d{4}/);
  assert.equal(checkTrigramModel(undefined, split, vocab).status, 'unanswered');
});

test('checkTrigramModel names an unnormalised row, a wrong entry by its characters, and a wrong shape', () => {
  assert.match(
    checkTrigramModel(fit({ normalise: false }), split, vocab).message,
    /row P\[0\]\[0\] \(context '\.\.'\) sums to 25653\.0, not 1: normalise each row by its own sum/,
  );
  assert.match(
    checkTrigramModel(fit({ pad: 1 }), split, vocab).message,
    /P\[0\]\[0\]\[0\] = P\('\.' after '\.\.'\) = 0\.037\d+, expected 0\.0000\d+ = \(count 0 \+ 1\) \/ \(\d+ trigrams after '\.\.' \+ 27·1\)/,
  );
  assert.match(
    checkTrigramModel(fit({ k: 0.5 }), split, vocab).message,
    /P\[0\]\[0\]\[0\] .* expected .* counted on train only/,
  );
  assert.match(
    checkTrigramModel((ws, k) => fit()(ws, k).flat() as unknown as TrigramTable, split, vocab).message,
    /expected nested arrays of shape \[27, 27, 27\], got \[729, …\]/,
  );
});

const trigramNll = (P: number[][][], ws: string[]) => {
  let s = 0;
  let n = 0;
  for (const w of ws) {
    const ids = [0, 0, ...vocab.encode(w), 0];
    for (let i = 0; i + 2 < ids.length; i++) {
      s -= Math.log(P[ids[i]!]![ids[i + 1]!]![ids[i + 2]!]!);
      n++;
    }
  }
  return s / n;
};

test('checkSmoothingTuned accepts k tuned on a coarse grid and its test loss', () => {
  const ks = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3];
  const best = ks.reduce((a, b) =>
    trigramNll(fit()(split.train, b), split.dev) < trigramNll(fit()(split.train, a), split.dev) ? b : a,
  );
  const v = checkSmoothingTuned({ k: best, test: trigramNll(fit()(split.train, best), split.test) }, split, vocab);
  assert.equal(v.status, 'passed', v.message);
  assert.match(v.message, /best over k: \d\.\d{4} at k ≈/);
  assert.equal(checkSmoothingTuned(undefined, split, vocab).status, 'unanswered');
});

test('checkSmoothingTuned rejects an untuned k, the dev loss given as test, and k = 0', () => {
  const tooMuch = checkSmoothingTuned({ k: 30, test: 2.5 }, split, vocab);
  assert.match(
    tooMuch.message,
    new RegExp(
      `dev loss at k = 30 is \\d\\.\\d{4}, but k = .* reaches \\d\\.\\d{4} \\(more than ${SMOOTHING_TOLERANCE} better\\): try more values of k, smaller ones`,
    ),
  );
  const P = fit()(split.train, 0.1);
  const asDev = checkSmoothingTuned({ k: 0.1, test: trigramNll(P, split.dev) }, split, vocab);
  if (asDev.status === 'failed' && /test =/.test(asDev.message))
    assert.match(asDev.message, /scores \d\.\d{4} on test \(yours is its dev loss: evaluate on the test names\)/);
  else assert.fail(`expected the dev loss to be rejected as the test loss: ${asDev.message}`);
  assert.match(checkSmoothingTuned({ k: 0, test: 2 }, split, vocab).message, /k = 0: it must be a positive number/);
});
