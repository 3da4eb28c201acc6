// lib/exercises/batchnorm-inference: folding BatchNorm and calibrating it, checked in eval mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { checkBatchNormFold, checkBatchNormCalibration, type Fold } from '../../lib/exercises/batchnorm-inference';
import { lectureData } from '../../lib/data/setups';
import { minibatch } from '../../lib/data/batches';
import { Sequential } from '../../lib/models/lecture/sequential';
import { BatchNorm1d, Linear, Tanh } from '../../lib/nn/layers';
import { TorchGenerator } from '../../lib/random/torch-generator';

process.env.SEQUENTIA_QUIET_BACKEND = '1';
const data = lectureData(3);

const fold =
  (o: { eps?: boolean; sqrt?: boolean; mean?: boolean; beta?: boolean } = {}): Fold =>
  (linear, bn) =>
    tf.tidy(() => {
      const v = o.eps === false ? bn.runningVar : bn.runningVar.add(bn.eps);
      const s = bn.gamma.div(o.sqrt === false ? v : v.sqrt());
      const b = (linear.b ?? tf.zeros([linear.fanOut])).sub(o.mean === false ? 0 : bn.runningMean).mul(s);
      return { W: linear.W.mul(s), b: o.beta === false ? b : b.add(bn.beta) };
    });

/** A small notebook-06-style model whose running statistics moved away from 0 and 1. */
function smallModel(): Sequential {
  const g = new TorchGenerator(9);
  const model = new Sequential(g, 27, 3, 10, [
    new Linear(g, 30, 16, { bias: false, init: { kind: 'kaiming', gain: 5 / 3 } }),
    new BatchNorm1d(16),
    new Tanh(),
    new Linear(g, 16, 27),
  ]);
  const bg = new TorchGenerator(10);
  for (let i = 0; i < 20; i++)
    tf.tidy(() => {
      const b = minibatch(data.windows.train, bg, 64);
      model.forward(b.X, b.Y, { training: true });
    });
  return model;
}

test('checkBatchNormFold accepts the fold, on random layers and on a model, and reports an unanswered exercise', async () => {
  await initTf();
  assert.equal(checkBatchNormFold(fold()).status, 'passed');
  const model = smallModel();
  const X = minibatch(data.windows.dev, new TorchGenerator(3), 64).X;
  const v = checkBatchNormFold(fold(), model, X);
  assert.equal(v.status, 'passed', v.message);
  assert.match(v.message, /with 1 BatchNorm folded away the logits agree/);
  assert.equal(checkBatchNormFold(undefined).status, 'unanswered');
  model.dispose();
});

test('checkBatchNormFold names a missing eps, the variance for the deviation, a missing mean or β, and a wrong shape', async () => {
  await initTf();
  const where =
    /Linear\(6 → 4\) with bias, BatchNorm eps 0\.5: output\[\d\]\[\d\] of x·W \+ b is -?\d+\.\d{4}, but BatchNorm\(Linear\(x\)\) in eval mode gives -?\d+\.\d{4}/;
  const eps = checkBatchNormFold(fold({ eps: false }));
  assert.match(eps.message, where);
  assert.match(eps.message, /the folded layer leaves out eps/);
  assert.match(checkBatchNormFold(fold({ sqrt: false })).message, /it divides by the variance/);
  assert.match(checkBatchNormFold(fold({ mean: false })).message, /the running mean is missing from the bias/);
  assert.match(checkBatchNormFold(fold({ beta: false })).message, /β is missing from the bias/);
  const transposed: Fold = (l, bn) => {
    const r = fold()(l, bn);
    return { W: r.W.transpose(), b: r.b };
  };
  assert.match(checkBatchNormFold(transposed).message, /W has shape \[4, 6\], expected \[6, 4\]/);
});

test('checkBatchNormCalibration accepts the moments over the training set and rejects a minibatch, a std and the wrong axis', async () => {
  await initTf();
  const model = smallModel();
  const pre = (X: tf.Tensor2D) => model.layers[0]!.forward(tf.gather(model.C!, X).reshape([-1, 30]), false);
  const all = tf.tensor2d(data.windows.train.X, [data.windows.train.n, 3], 'int32');
  const right = tf.tidy(() => tf.moments(pre(all), 0));
  const v = checkBatchNormCalibration(right, model, data.windows.train, data.windows.dev);
  assert.equal(v.status, 'passed', v.message);
  assert.match(
    v.message,
    /right over all 182625 examples; .* Dev loss with the running statistics \d\.\d{4}, with yours \d\.\d{4}/,
  );
  assert.equal(checkBatchNormCalibration(undefined, model, data.windows.train, data.windows.dev).status, 'unanswered');
  const batch = minibatch(data.windows.train, new TorchGenerator(2), 32);
  const small = tf.tidy(() => tf.moments(pre(batch.X), 0));
  assert.match(
    checkBatchNormCalibration(small, model, data.windows.train, data.windows.dev).message,
    /mean\[\d+\] = -?\d\.\d{4}, but the pre-activation of unit \d+ averages -?\d\.\d{4} over all 182625 training examples/,
  );
  const std = { mean: right.mean, variance: right.variance.sqrt() };
  assert.match(
    checkBatchNormCalibration(std, model, data.windows.train, data.windows.dev).message,
    /that is the standard deviation; square it/,
  );
  const axis1 = tf.tidy(() => tf.moments(pre(all), 1));
  assert.match(
    checkBatchNormCalibration(axis1, model, data.windows.train, data.windows.dev).message,
    /mean has shape \[182625\], expected \[16\] .* yours has one per training example: take it over axis 0, not 1/,
  );
  model.dispose();
});
