// lib/models/lecture: the bigram net's first loss bit for bit; the MLP and the BatchNorm model train with flat memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { lectureData } from '../../lib/data/setups';
import { minibatch } from '../../lib/data/batches';
import { buildWindows } from '../../lib/data/windows';
import { MLP } from '../../lib/models/lecture/mlp';
import { BigramNet } from '../../lib/models/lecture/bigram-net';
import { Sequential } from '../../lib/models/lecture/sequential';
import { Linear, BatchNorm1d, Tanh } from '../../lib/nn/layers';
import { crossEntropy } from '../../lib/nn/losses';
import { TorchGenerator } from '../../lib/random/torch-generator';
import { train } from '../../lib/train/loop';
import { evaluateWindows } from '../../lib/train/evaluate';

process.env.SEQUENTIA_QUIET_BACKEND = '1';
const data = lectureData(3);

test('bigram net: the lecture’s first loss on "emma", bit for bit', async () => {
  await initTf();
  const net = new BigramNet(new TorchGenerator(2147483647));
  const w = buildWindows(['emma'], data.vocab, 1);
  const x = tf.tensor1d(w.X, 'int32');
  const y = tf.tensor1d(w.Y, 'int32');
  const onehot = net.loss(x, y, { via: 'onehot' });
  const gather = net.loss(x, y, { via: 'gather' });
  assert.equal(onehot.dataSync()[0], 3.7693049907684326);
  assert.equal(gather.dataSync()[0], 3.7693049907684326);
  tf.dispose([x, y, onehot, gather]);
  net.dispose();
});

test('MLP: 11,897 parameters; training lowers the loss; tensors stay flat across the loop', async () => {
  await initTf();
  const g = new TorchGenerator(2147483647);
  const m = new MLP({ vocabSize: 27, blockSize: 3, nEmbd: 10, nHidden: 200 }, g, { W2: 0.01, b2: 0 });
  assert.equal(m.numParams(), 11897);
  const counts: number[] = [];
  const before = tf.memory().numTensors;
  const r = await train({
    steps: 300,
    params: m.params(),
    learningRate: 0.1,
    progressMs: 0,
    loss: () => {
      const b = minibatch(data.windows.train, g, 32);
      return m.loss(b.X, b.Y);
    },
    onStep: () => {
      counts.push(tf.memory().numTensors);
    },
  });
  assert.ok(Math.abs(r.losses[0]! - Math.log(27)) < 0.1, `initial loss ${r.losses[0]}`);
  const dev = evaluateWindows(data.windows.dev, (X, Y) => m.loss(X, Y));
  assert.ok(dev < 2.9, `dev loss after 300 steps ${dev}`);
  assert.equal(Math.max(...counts), Math.min(...counts), 'tensor count changed during training');
  assert.equal(tf.memory().numTensors, before, 'tensors leaked by the training loop');
  m.dispose();
});

test('BatchNorm model: running statistics move, evaluation uses them, tensors stay flat', async () => {
  await initTf();
  const g = new TorchGenerator(1);
  const bn = new BatchNorm1d(20);
  const model = new Sequential(g, 27, 3, 10, [
    new Linear(g, 30, 20, { bias: false, init: { kind: 'kaiming', gain: 5 / 3 } }),
    bn,
    new Tanh(),
    new Linear(g, 20, 27, { init: { kind: 'randn', scale: 0.01 } }),
  ]);
  const counts: number[] = [];
  await train({
    steps: 50,
    params: model.params(),
    learningRate: 0.1,
    progressMs: 0,
    loss: () => {
      const b = minibatch(data.windows.train, g, 32);
      return crossEntropy(model.forward(b.X, undefined, { training: true }).logits, b.Y);
    },
    onStep: () => {
      counts.push(tf.memory().numTensors);
    },
  });
  assert.equal(Math.max(...counts), Math.min(...counts));
  const rm = bn.runningMean.dataSync();
  assert.ok(
    rm.some((v) => Math.abs(v) > 1e-3),
    'running mean did not move',
  );
  // evaluation on a single example works (batch statistics would be undefined)
  const one = tf.tensor2d([[0, 0, 5]], [1, 3], 'int32');
  const l = model.forward(one).logits;
  assert.deepEqual(l.shape, [1, 27]);
  assert.ok(l.dataSync().every(Number.isFinite));
  tf.dispose([one, l]);
  model.dispose();
});
