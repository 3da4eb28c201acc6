// lib/exercises/bigram-net: notebook 04's checks accept a right answer, name what is wrong in typical wrong ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { checkRowIndexing, checkCrossEntropy, checkLogitGradient } from '../../lib/exercises/bigram-net';
import { crossEntropy } from '../../lib/nn/losses';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

test('checkRowIndexing accepts a gather and rejects one-hot, the wrong axis and a transpose', async () => {
  await initTf();
  assert.equal(checkRowIndexing((W, xs) => tf.gather(W, xs)).status, 'passed');
  assert.equal(checkRowIndexing(undefined).status, 'unanswered');
  assert.match(
    checkRowIndexing((W, xs) => tf.matMul(tf.oneHot(xs, W.shape[0]).toFloat(), W)).message,
    /right values, but your code still ran OneHot and BatchMatMul: pick the rows with tf\.gather/,
  );
  assert.match(
    checkRowIndexing((W, xs) => tf.gather(W, xs, 1)).message,
    /logitsOf gave \[27, 50\], expected \[50, 27\]/,
  );
  assert.match(
    checkRowIndexing((W, xs) => tf.gather(W.transpose(), xs) as tf.Tensor2D).message,
    /row 0 \(input x = \d+\), column \d+: got -?\d\.\d{4}, expected W\[\d+\]\[\d+\]/,
  );
});

test('checkCrossEntropy accepts a stable cross-entropy and rejects an overflowing, a summed and an unreduced one', async () => {
  await initTf();
  assert.equal(checkCrossEntropy((l, y) => crossEntropy(l, y)).status, 'passed');
  assert.equal(checkCrossEntropy(undefined).status, 'unanswered');
  const naive = (l: tf.Tensor2D, y: tf.Tensor1D) => {
    const p = l.exp().div(l.exp().sum(1, true));
    return p.mul(tf.oneHot(y, 27).toFloat()).sum(1).log().mean().neg() as tf.Scalar;
  };
  assert.match(
    checkCrossEntropy(naive).message,
    /logits around \+100 .*: your loss is NaN, expected \d\.\d{4}: subtract each row's maximum before exp/,
  );
  assert.match(
    checkCrossEntropy((l, y) => crossEntropy(l, y).mul(32)).message,
    /your loss is \d+\.\d+, expected \d\.\d+ \(that is the sum: take the mean over the rows\)/,
  );
  assert.match(
    checkCrossEntropy((l, y) => tf.logSoftmax(l).mul(tf.oneHot(y, 27).toFloat()).sum(1).neg() as unknown as tf.Scalar)
      .message,
    /returned shape \[32\], expected a scalar \(\[\]\): average the 32 losses/,
  );
  const detached = (l: tf.Tensor2D, y: tf.Tensor1D) => crossEntropy(l.mul(0).add(tf.tensor2d(l.arraySync())), y);
  assert.match(
    checkCrossEntropy(detached).message,
    /the loss is right but its gradient disagrees at logits\[0\]\[0\]: 0 vs lib's/,
  );
});

test('checkLogitGradient accepts (softmax − one-hot) / N and names a missing /N, a flipped sign and a missing one-hot', async () => {
  await initTf();
  const right = (l: tf.Tensor2D, y: tf.Tensor1D) =>
    tf.softmax(l).sub(tf.oneHot(y, 27).toFloat()).div(l.shape[0]) as tf.Tensor2D;
  assert.equal(checkLogitGradient(right).status, 'passed');
  assert.equal(checkLogitGradient(undefined).status, 'unanswered');
  assert.match(
    checkLogitGradient((l, y) => right(l, y).mul(16)).message,
    /dlogits\[0\]\[0\] = .*, autograd says .*: 16× too large — the loss is a mean over 16 rows/,
  );
  assert.match(checkLogitGradient((l, y) => right(l, y).neg()).message, /: the sign is flipped/);
  assert.match(
    checkLogitGradient((l) => tf.softmax(l).div(l.shape[0]) as tf.Tensor2D).message,
    /dlogits\[0\]\[\d+\] = .*: this is the target column \(y = \d+\), where the one-hot 1 is subtracted/,
  );
  assert.match(
    checkLogitGradient((l) => tf.softmax(l).reshape([-1]) as unknown as tf.Tensor2D).message,
    /dlogits has shape \[432\], expected \[16, 27\]/,
  );
});
