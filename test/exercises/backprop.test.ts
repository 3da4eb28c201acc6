// lib/exercises/backprop: the four backward passes are accepted when right (lib's own hand-written
// ones among them), the usual slips are named with the entry that differs most, stubs are unanswered
// and the tensor count stays flat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { run } from '../helpers/checks';
import {
  checkCrossEntropyBackward,
  checkLinearBackward,
  checkBatchNormBackward,
  checkEmbeddingBackward,
} from '../../lib/exercises/backprop';
import { crossEntropyBackwardFast, linearBackward, embeddingBackward } from '../../lib/models/lecture/backprop';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

/** The one-formula BatchNorm backward; `bessel: false` is the 1/n variance's formula. */
function bnBackward(bessel = true) {
  return (x: tf.Tensor2D, gain: tf.Tensor2D, dy: tf.Tensor2D) => {
    const n = x.shape[0];
    const diff = x.sub(x.mean(0, true));
    const inv = diff
      .square()
      .sum(0, true)
      .div(n - 1)
      .add(1e-5)
      .rsqrt();
    const xhat = diff.mul(inv);
    const k = bessel ? n / (n - 1) : 1;
    return gain
      .mul(inv)
      .div(n)
      .mul(
        dy
          .mul(n)
          .sub(dy.sum(0, true))
          .sub(xhat.mul(k).mul(dy.mul(xhat).sum(0, true))),
      );
  };
}

test('cross-entropy backward: accepts (softmax − onehot)/n; names a missing 1/n and a flipped sign, with the worst entry', async () => {
  await initTf();
  assert.equal(run(() => checkCrossEntropyBackward(crossEntropyBackwardFast)).status, 'passed');
  const noMean = run(() => checkCrossEntropyBackward((l, Y) => tf.softmax(l).sub(tf.oneHot(Y, l.shape[1]).toFloat())));
  assert.match(
    noMean.message,
    /^dlogits \[32, 27\]: differs most at \[\d+, \d+\]: .* where autograd gives .*\(difference .*\). Your gradient is n times too large/,
  );
  const sign = run(() =>
    checkCrossEntropyBackward((l, Y) => tf.oneHot(Y, l.shape[1]).toFloat().sub(tf.softmax(l)).div(l.shape[0])),
  );
  assert.match(sign.message, /The sign is flipped/);
  assert.match(
    run(() => checkCrossEntropyBackward((l) => tf.softmax(l).sum(1))).message,
    /has shape \[32\]; expected \[n, V\] = \[32, 27\]/,
  );
  assert.equal(run(() => checkCrossEntropyBackward(() => undefined)).status, 'unanswered');
});

test('Linear backward: accepts lib’s (db as [out] or [1, out]); names a transposed dW, an unsummed db and a mean', async () => {
  await initTf();
  assert.equal(run(() => checkLinearBackward(linearBackward)).status, 'passed');
  const keepDims = run(() => checkLinearBackward((x, W, dy) => ({ ...linearBackward(x, W, dy), db: dy.sum(0, true) })));
  assert.equal(keepDims.status, 'passed');
  const transposed = run(() =>
    checkLinearBackward((x, W, dy) => ({ ...linearBackward(x, W, dy), dW: tf.matMul(dy, x, true, false) })),
  );
  assert.equal(
    transposed.message,
    'dW has shape [64, 30]; expected [in, out] = [30, 64] (its transpose: the two axes are swapped — check which operand of the matmul is transposed)',
  );
  const unsummed = run(() => checkLinearBackward((x, W, dy) => ({ ...linearBackward(x, W, dy), db: dy })));
  assert.match(
    unsummed.message,
    /db \(b was broadcast over the n rows: sum them\) has shape \[32, 64\]; expected \[out\] = \[64\]/,
  );
  const mean = run(() => checkLinearBackward((x, W, dy) => ({ ...linearBackward(x, W, dy), db: dy.mean(0) })));
  assert.match(mean.message, /^db: differs most at \[\d+\]: .*its gradient is their sum/);
  assert.equal(run(() => checkLinearBackward(undefined)).status, 'unanswered');
});

test('BatchNorm backward: accepts the Bessel formula; names the 1/n formula and a missing mean path', async () => {
  await initTf();
  assert.equal(run(() => checkBatchNormBackward(bnBackward())).status, 'passed');
  assert.match(
    run(() => checkBatchNormBackward(bnBackward(false))).message,
    /^dx \(batch of 32\): differs most at .*the formula for the variance with 1\/n/,
  );
  // 1/n everywhere, as a learner who took the variance with 1/n in their own forward pass would write it.
  const biased = run(() =>
    checkBatchNormBackward((x, gain, dy) => {
      const n = x.shape[0];
      const diff = x.sub(x.mean(0, true));
      const inv = diff.square().mean(0, true).add(1e-5).rsqrt();
      const xhat = diff.mul(inv);
      return gain
        .mul(inv)
        .div(n)
        .mul(
          dy
            .mul(n)
            .sub(dy.sum(0, true))
            .sub(xhat.mul(dy.mul(xhat).sum(0, true))),
        );
    }),
  );
  assert.equal(biased.status, 'failed');
  assert.match(
    biased.message,
    /^dx \(batch of 32\): differs most at .*the 1\/n variance throughout \(its bnvar_inv too\)/,
  );
  const direct = run(() =>
    checkBatchNormBackward((x, gain, dy) => {
      const n = x.shape[0];
      const diff = x.sub(x.mean(0, true));
      return gain
        .mul(
          diff
            .square()
            .sum(0, true)
            .div(n - 1)
            .add(1e-5)
            .rsqrt(),
        )
        .mul(dy);
    }),
  );
  assert.match(direct.message, /Only the direct path/);
  assert.equal(run(() => checkBatchNormBackward(() => undefined)).status, 'unanswered');
});

test('embedding backward: accepts a segment sum; names "=" instead of "+=" for repeated characters', async () => {
  await initTf();
  assert.equal(
    run(() =>
      checkEmbeddingBackward(
        (demb, X, V) => embeddingBackward(tf.zeros([V, demb.shape[2]]), X, demb.reshape([X.shape[0], -1])).dC,
      ),
    ).status,
    'passed',
  );
  const assign = (demb: tf.Tensor3D, X: tf.Tensor2D, V: number) => {
    const E = demb.shape[2];
    const out = new Float32Array(V * E);
    const ids = X.dataSync();
    const d = demb.dataSync();
    for (let k = 0; k < ids.length; k++) for (let e = 0; e < E; e++) out[ids[k]! * E + e] = d[k * E + e]!;
    return tf.tensor2d(out, [V, E]);
  };
  assert.match(
    run(() => checkEmbeddingBackward(assign)).message,
    /^dC: differs most at \[\d+, \d+\]: .*\(\+=, not =\)/,
  );
  assert.match(
    run(() => checkEmbeddingBackward((demb) => demb)).message,
    /dC has shape \[32, 3, 10\]; expected \[V, E\] = \[27, 10\]/,
  );
  assert.equal(run(() => checkEmbeddingBackward(undefined)).status, 'unanswered');
});
