// lib/exercises/count-tensor: notebook 02's checks accept a right answer, name what is wrong in typical wrong ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { checkCountTensor, checkRowNormalisation, checkSampler } from '../../lib/exercises/count-tensor';
import { loadWords } from '../../lib/data/files';
import { LOWERCASE, Vocab } from '../../lib/data/vocab';
import { countMatrix, countMatrixSeparateTokens, row, type Matrix } from '../../lib/counting/bigrams';
import type { Rng } from '../../lib/random/rng';

process.env.SEQUENTIA_QUIET_BACKEND = '1';
const words = loadWords('data/names.txt', { alphabet: LOWERCASE });
const vocab = Vocab.fromWords(words);
const counts = countMatrix(words, vocab);

test('checkCountTensor accepts the counts and names a wrong shape, a transpose and a wrong cell', async () => {
  await initTf();
  const right = tf.tensor2d(counts.data, [27, 27], 'int32');
  assert.equal(checkCountTensor(right, words, vocab).status, 'passed');
  assert.equal(checkCountTensor(undefined, words, vocab).status, 'unanswered');
  const sep = countMatrixSeparateTokens(words).counts;
  assert.match(
    checkCountTensor(tf.tensor2d(sep.data, [28, 28], 'int32'), words, vocab).message,
    /N has shape \[28, 28\], expected \[27, 27\]: one '\.' token both starts and ends a name/,
  );
  assert.match(
    checkCountTensor(right.transpose(), words, vocab).message,
    /N is transposed: rows must be the first character/,
  );
  const off = Int32Array.from(counts.data);
  off[vocab.stoi('a') * 27 + vocab.stoi('n')]! += 1;
  assert.match(
    checkCountTensor(tf.tensor2d(off, [27, 27], 'int32'), words, vocab).message,
    /N\[1\]\[14\] \(row 'a', column 'n': how often 'n' follows 'a'\) is 5439, expected 5438/,
  );
});

test('checkRowNormalisation accepts (N + 1) / row sums and names the keepdim trap and missing smoothing', async () => {
  await initTf();
  const right = (N: tf.Tensor2D) => {
    const s = N.toFloat().add(1);
    return s.div(s.sum(1, true)) as tf.Tensor2D;
  };
  assert.equal(checkRowNormalisation(right, words, vocab).status, 'passed');
  assert.equal(checkRowNormalisation(undefined, words, vocab).status, 'unanswered');
  const noKeepdim = (N: tf.Tensor2D) => {
    const s = N.toFloat().add(1);
    return s.div(s.sum(1)) as tf.Tensor2D;
  };
  assert.match(
    checkRowNormalisation(noKeepdim, words, vocab).message,
    /row 0 \('\.'\) sums to \d\.\d{4}, not 1: your \*columns\* sum to 1 — N\.sum\(1\) without keepdim/,
  );
  const unsmoothed = (N: tf.Tensor2D) => N.toFloat().div(N.toFloat().sum(1, true)) as tf.Tensor2D;
  assert.match(
    checkRowNormalisation(unsmoothed, words, vocab).message,
    /is 0\.0000, expected .*: add 1 to every count before normalising/,
  );
  assert.match(
    checkRowNormalisation((N) => N.toFloat().sum(1) as unknown as tf.Tensor2D, words, vocab).message,
    /normalise\(N\) has shape \[27\], expected \[27, 27\]/,
  );
});

test('checkSampler accepts the lecture loop and rejects a greedy or a never-stopping one', () => {
  const loop =
    (greedy: boolean, stop = true) =>
    (P: Matrix, g: Rng) => {
      let s = '';
      let ix = 0;
      for (let n = 0; n < 30; n++) {
        const r = row(P, ix);
        ix = greedy ? r.indexOf(Math.max(...r)) : g.multinomial(r, 1, true)[0]!;
        if (ix === 0 && stop) return s;
        s += vocab.itos[ix];
      }
      return s;
    };
  const v = checkSampler(loop(false), words, vocab);
  assert.equal(v.status, 'passed', v.message);
  assert.match(v.message, /mor, axx, minaymoryles/);
  assert.equal(checkSampler(undefined, words, vocab).status, 'unanswered');
  assert.match(
    checkSampler(loop(true), words, vocab).message,
    /name 1: got "\w*", expected "mor" from the same generator/,
  );
  assert.match(
    checkSampler(loop(false, false), words, vocab).message,
    /name 1: got "mor\..*", expected "mor" .*stop as soon as '\.'/,
  );
});
