// lib/nn/layers: one Linear whose initialisation is a parameter (PyTorch's uniform, Kaiming, randn·scale),
// any-rank inputs; weights by name from nn/module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { Linear, BatchNorm1d, Tanh } from '../../lib/nn/layers';
import { TorchGenerator } from '../../lib/random/torch-generator';

function stats(v: tf.Variable): { min: number; max: number; std: number } {
  const a = Array.from(v.dataSync());
  const mean = a.reduce((s, x) => s + x, 0) / a.length;
  return {
    min: Math.min(...a),
    max: Math.max(...a),
    std: Math.sqrt(a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length),
  };
}

test('Linear: the three initialisations draw what they promise, from the generator they are given', async () => {
  await initTf();
  const fanIn = 400;
  const uniform = new Linear(new TorchGenerator(1), fanIn, 300, { init: { kind: 'uniform' } });
  const u = stats(uniform.W);
  const bound = 1 / Math.sqrt(fanIn);
  assert.ok(u.min >= -bound && u.max <= bound && u.max > 0.99 * bound, `U(±${bound}): [${u.min}, ${u.max}]`);
  const b = stats(uniform.b as tf.Variable);
  assert.ok(b.min >= -bound && b.max <= bound && b.std > 0, "PyTorch's bias is uniform too");
  const kaiming = new Linear(new TorchGenerator(1), fanIn, 300, {
    bias: false,
    init: { kind: 'kaiming', gain: 5 / 3 },
  });
  assert.ok(Math.abs(stats(kaiming.W).std / (5 / 3 / Math.sqrt(fanIn)) - 1) < 0.02);
  assert.equal(kaiming.b, null);
  assert.deepEqual(Object.keys(kaiming.namedWeights()), ['W']);
  const small = new Linear(new TorchGenerator(1), fanIn, 300, { init: { kind: 'randn', scale: 0.01 } });
  assert.ok(Math.abs(stats(small.W).std / 0.01 - 1) < 0.02);
  assert.deepEqual(Array.from(new Set((small.b as tf.Variable).dataSync())), [0]);
  // the same seed and init give the same weights: randn·scale and Kaiming differ only by the factor
  const w1 = small.W.dataSync();
  const w2 = kaiming.W.dataSync();
  const ratio = 0.01 / (5 / 3 / Math.sqrt(fanIn));
  assert.ok(Math.abs((w1[7] as number) - (w2[7] as number) * ratio) < 1e-7);
  assert.equal(small.numParams(), fanIn * 300 + 300);
  for (const l of [uniform, kaiming, small]) l.dispose();
});

test('Linear on [B, T, E] equals Linear on the [B·T, E] rows; BatchNorm and Tanh describe themselves', async () => {
  await initTf();
  const lin = new Linear(new TorchGenerator(2), 4, 3, { init: { kind: 'uniform' } });
  const x = tf.tensor3d(
    Array.from({ length: 24 }, (_, i) => Math.sin(i)),
    [2, 3, 4],
  );
  const y3 = tf.tidy(() => lin.forward(x).arraySync() as number[][][]);
  const y2 = tf.tidy(() => lin.forward(x.reshape([6, 4])).arraySync() as number[][]);
  assert.deepEqual(y3.flat(), y2);
  const bn = new BatchNorm1d(5, 1e-5, 0.1, 0.1);
  assert.deepEqual(bn.spec, { kind: 'BatchNorm1d', dim: 5, eps: 1e-5, momentum: 0.1, gamma: 0.1 });
  assert.deepEqual(Object.keys(bn.namedWeights()), ['gamma', 'beta', 'runningMean', 'runningVar']);
  assert.equal(bn.params().length, 2, 'running statistics are buffers, not parameters');
  assert.deepEqual(new Tanh().spec, { kind: 'Tanh' });
  tf.dispose([x]);
  lin.dispose();
  bn.dispose();
});
