import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadWords } from '../../lib/data/files';
import { Vocab } from '../../lib/data/vocab';
import {
  countBigrams,
  countMatrix,
  bigramProbabilities,
  likelihood,
  wordProbability,
  sampleWords,
  tableStepper,
  formatBigram,
  at,
  wordBigrams,
} from '../../lib/counting/bigrams';
import { TorchGenerator } from '../../lib/random/torch-generator';
import { draw } from '../../lib/sample/draw';

const words = loadWords('data/names.txt');
const vocab = Vocab.fromWords(words);
const N = countMatrix(words, vocab);

test('bigram dictionary: the lecture’s most common and rarest', () => {
  assert.deepEqual(
    wordBigrams('emma').map(([a, b]) => a + b),
    ['<S>e', 'em', 'mm', 'ma', 'a<E>'],
  );
  const b = countBigrams(words);
  assert.deepEqual(
    b.slice(0, 5).map((x) => `${formatBigram(x)} ${x.count}`),
    ['n<E> 6763', 'a<E> 6640', 'an 5438', '<S>a 4410', 'e<E> 3983'],
  );
  assert.equal(
    b.reduce((s, x) => s + x.count, 0),
    228146,
  );
  const last = b[b.length - 1]!;
  assert.equal(last.count, 1);
  assert.equal(b.length, 627);
});

test('27×27 count matrix', () => {
  assert.equal(N.rows, 27);
  let total = 0;
  for (const x of N.data) total += x;
  assert.equal(total, 228146);
  assert.equal(at(N, vocab.stoi('n'), 0), 6763);
  assert.equal(at(N, 0, vocab.stoi('a')), 4410);
  assert.equal(at(N, vocab.stoi('a'), vocab.stoi('n')), 5438);
  assert.equal(at(N, 0, 0), 0);
  let firstRow = 0;
  for (let j = 0; j < 27; j++) firstRow += at(N, 0, j);
  assert.equal(firstRow, 32033);
});

test('likelihood: average NLL over 228,146 bigrams with +1 smoothing', () => {
  const P = bigramProbabilities(N, 1);
  for (let i = 0; i < 27; i++) {
    let s = 0;
    for (let j = 0; j < 27; j++) s += at(P, i, j);
    assert.ok(Math.abs(s - 1) < 1e-12);
  }
  const L = likelihood(P, words, vocab);
  assert.equal(L.n, 228146);
  assert.equal(L.nll.toFixed(6), '2.454577');
  assert.equal(wordProbability(P, 'good', vocab).toExponential(4), '2.9399e-8');
});

test('an unseen bigram: infinite loss without smoothing, finite with', () => {
  assert.equal(likelihood(bigramProbabilities(N, 0), ['andrejq'], vocab).nll, Infinity);
  const smoothed = likelihood(bigramProbabilities(N, 1), ['andrejq'], vocab).nll;
  assert.ok(Number.isFinite(smoothed));
  assert.equal(smoothed.toFixed(4), '3.4834');
});

test('sampling with the lecture’s seed gives the lecture’s names', () => {
  const P = bigramProbabilities(N, 1);
  const g = new TorchGenerator(2147483647);
  assert.deepEqual(sampleWords(P, vocab, g, 5), ['mor.', 'axx.', 'minaymoryles.', 'kondlaisah.', 'anchshizarie.']);
  // the table is a stepper of the one draw loop every model uses: the same draws, and batching keeps the rules
  const drawn = draw(tableStepper(P), new TorchGenerator(2147483647), { count: 5, maxLength: 100 });
  assert.deepEqual(
    drawn.ids.map((ids) => vocab.decode(ids)),
    ['mor', 'axx', 'minaymoryles', 'kondlaisah', 'anchshizarie'],
  );
  const batched = draw(tableStepper(P), new TorchGenerator(2147483647), { count: 5, maxLength: 100, batch: 5 });
  assert.ok(batched.ended.every(Boolean) && batched.ids.every((w) => w.length > 0 && !w.includes(0)));
  assert.deepEqual(draw(tableStepper(P), new TorchGenerator(1), { count: 3, maxLength: 2 }).ended.length, 3);
});
