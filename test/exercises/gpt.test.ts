// lib/exercises/gpt: notebook 12's checks accept right answers, name the usual slips (an unnormalised or
// transposed averaging matrix, no mask or a mask of zeros or after the softmax, unscaled scores, a block
// count without biases), report stubs as unanswered and leave the tensor count flat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { run } from '../helpers/checks';
import { checkAverageMatrix, checkMaskedSoftmax, checkScaledScores, checkBlockParams } from '../../lib/exercises/gpt';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

const tril = (T: number) => tf.linalg.bandPart(tf.ones([T, T]), -1, 0);
const average = (T: number) => tril(T).div(tril(T).sum(1, true));
const masked = (s: tf.Tensor3D) => {
  const T = s.shape[1];
  return tf.softmax(tf.where(tril(T).equal(0), tf.fill(s.shape, -Infinity), s));
};

test('12·1 averaging matrix: accepts version 2; names a matrix of ones, its transpose, columns normalised', async () => {
  await initTf();
  const before = tf.memory().numTensors;
  assert.equal(run(() => checkAverageMatrix(average)).status, 'passed');
  assert.equal(
    run(() => checkAverageMatrix((T) => tf.softmax(tril(T).sub(1).mul(1e9)))).status,
    'passed',
    'version 3 too',
  );
  assert.match(
    run(() => checkAverageMatrix(tril)).message,
    /averageMatrix\(4\): first differs at \[1, 0\]: 1 where .*Each row still sums to t \+ 1/,
  );
  assert.match(run(() => checkAverageMatrix((T) => average(T).transpose())).message, /This is the transpose/);
  const upper = (T: number) => tf.linalg.bandPart(tf.ones([T, T]), 0, -1);
  assert.match(
    run(() => checkAverageMatrix((T) => upper(T).div(upper(T).sum(1, true)))).message,
    /The ones are above the diagonal: row t reads positions after t/,
  );
  assert.match(
    run(() => checkAverageMatrix((T) => tril(T).div(tril(T).sum(0, true)))).message,
    /The columns sum to 1, not the rows/,
  );
  assert.match(
    run(() => checkAverageMatrix((T) => tf.ones([T, T + 1]))).message,
    /has shape \[4, 5\]; expected \[T, T\] = \[4, 4\]/,
  );
  assert.equal(run(() => checkAverageMatrix(() => undefined)).status, 'unanswered');
  assert.equal(tf.memory().numTensors, before);
});

test('12·2 masked softmax: accepts it; names no mask, zeros for −∞, the mask after the softmax, the wrong axis', async () => {
  await initTf();
  const before = tf.memory().numTensors;
  assert.equal(run(() => checkMaskedSoftmax(masked)).status, 'passed');
  assert.match(
    run(() => checkMaskedSoftmax((s) => tf.softmax(s))).message,
    /No mask: every position reads its future too/,
  );
  assert.match(
    run(() => checkMaskedSoftmax((s) => tf.softmax(s.mul(tril(6))))).message,
    /The future’s scores are 0, not −Infinity/,
  );
  assert.match(
    run(() => checkMaskedSoftmax((s) => tf.softmax(s).mul(tril(6)))).message,
    /The mask came after the softmax/,
  );
  assert.match(
    run(() =>
      checkMaskedSoftmax((s) =>
        tf
          .softmax(tf.where(tril(6).equal(0), tf.fill(s.shape, -Infinity), s).transpose([0, 2, 1]))
          .transpose([0, 2, 1]),
      ),
    ).message,
    /The softmax ran over the wrong axis/,
  );
  assert.equal(run(() => checkMaskedSoftmax(() => undefined)).status, 'unanswered');
  assert.equal(tf.memory().numTensors, before);
});

test('12·3 scaled scores: accepts q·kᵀ/√hs and reports variance ≈ 1; names no scale (and its variance), /hs, k·qᵀ', async () => {
  await initTf();
  const before = tf.memory().numTensors;
  const ok = run(() => checkScaledScores((q, k) => tf.matMul(q, k, false, true).div(Math.sqrt(q.shape[2]))));
  assert.equal(ok.status, 'passed');
  // unit-Gaussian q and k: scaled scores have variance ≈ 1 whatever the head size, unscaled ≈ the head size
  const v = [...ok.message.matchAll(/variance ([\d.]+) \(unscaled ([\d.]+)\)/g)].map((m) => [
    Number(m[1]),
    Number(m[2]),
  ]);
  assert.equal(v.length, 2);
  for (const [i, hs] of [16, 256].entries()) {
    assert.ok(Math.abs(v[i]![0]! - 1) < 0.15, `scaled variance ${v[i]![0]} at head size ${hs}`);
    assert.ok(Math.abs(v[i]![1]! / hs - 1) < 0.15, `unscaled variance ${v[i]![1]} at head size ${hs}`);
  }
  const raw = run(() => checkScaledScores((q, k) => tf.matMul(q, k, false, true)));
  assert.match(
    raw.message,
    /Not scaled: these scores have variance 1[4-8]\.\d+ ≈ the head size, so the softmax is nearly one-hot/,
  );
  assert.match(
    run(() => checkScaledScores((q, k) => tf.matMul(q, k, false, true).div(q.shape[2]))).message,
    /Divided by the head size, not its square root/,
  );
  assert.match(
    run(() => checkScaledScores((q, k) => tf.matMul(k, q, false, true).div(Math.sqrt(q.shape[2])))).message,
    /These are k·qᵀ/,
  );
  assert.equal(run(() => checkScaledScores(() => undefined)).status, 'unanswered');
  assert.equal(tf.memory().numTensors, before);
});

test('12·4 block parameters: accepts 12·E² + 10·E; names weights only, biased q/k/v, LayerNorms or biases left out, a throw', async () => {
  await initTf();
  const ok = run(() => checkBlockParams((E) => 12 * E * E + 10 * E));
  assert.equal(ok.status, 'passed');
  assert.match(ok.message, /gpt\.py’s 6 blocks at n_embd 384 hold 10,639,872 of its 10,788,929/);
  assert.match(
    run(() => checkBlockParams((E) => 12 * E * E)).message,
    /blockParams\(32, 4\) is 12288; the block has 12608: that is the weights alone/,
  );
  assert.match(run(() => checkBlockParams((E) => 12 * E * E + 13 * E)).message, /have no bias in the lecture/);
  assert.match(
    run(() => checkBlockParams((E) => 12 * E * E + 6 * E)).message,
    /the two LayerNorms have a gain and a bias/,
  );
  assert.match(
    run(() => checkBlockParams((E) => 12 * E * E + 4 * E)).message,
    /the projection and both feed-forward Linear layers have biases/,
  );
  assert.match(run(() => checkBlockParams((E, H) => 12 * E * E + 10 * E + H)).message, /blockParams\(32, 4\) is 12612/);
  assert.match(
    run(() =>
      checkBlockParams(() => {
        throw new Error('oops');
      }),
    ).message,
    /your code threw Error: oops/,
  );
  assert.equal(run(() => checkBlockParams(() => undefined)).status, 'unanswered');
});
