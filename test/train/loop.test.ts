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
import { stepDecay } from '../../lib/train/schedules';
import { evaluateWindows } from '../../lib/train/evaluate';
import { createOptimizer, type Adam } from '../../lib/train/optimizers';
import { readCurves, readLossLog, bestPoint } from '../../lib/train/curves';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

process.env.SEQUENTIA_QUIET_BACKEND = '1';
const data = lectureData(3);

test('the lecture split and windows: 25,626 / 3,203 / 3,204 names, 182,625 / 22,655 / 22,866 examples', () => {
  assert.deepEqual([data.split.train.length, data.split.dev.length, data.split.test.length], [25626, 3203, 3204]);
  assert.deepEqual([data.windows.train.n, data.windows.dev.n, data.windows.test.n], [182625, 22655, 22866]);
  const w = buildWindows(['emma'], data.vocab, 3);
  assert.deepEqual(Array.from(w.X), [0, 0, 0, 0, 0, 5, 0, 5, 13, 5, 13, 13, 13, 13, 1]);
  assert.deepEqual(Array.from(w.Y), [5, 13, 13, 1, 0]);
  assert.equal(buildWindows(data.words, data.vocab, 1).n, 228146);
});

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

test('crossEntropy equals −mean log softmax at the targets, and ignores ignoreIndex rows', async () => {
  await initTf();
  const logits = [
    [1, 2, 3],
    [0.5, -1, 2],
    [3, 3, 0],
  ];
  const targets = [2, 0, 1];
  const expected =
    -targets.reduce((s, t, i) => {
      const row = logits[i]!;
      const lse = Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
      return s + row[t]! - lse;
    }, 0) / 3;
  const ce = crossEntropy(tf.tensor2d(logits), tf.tensor1d(targets, 'int32'));
  assert.ok(Math.abs(ce.dataSync()[0]! - expected) < 1e-6);
  const masked = crossEntropy(tf.tensor2d(logits), tf.tensor1d([2, -1, -1], 'int32'), -1);
  const first = -(3 - Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)));
  assert.ok(Math.abs(masked.dataSync()[0]! - first) < 1e-6);
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

test('training that diverges stops with a clear error', async () => {
  await initTf();
  const v = tf.variable(tf.scalar(1));
  await assert.rejects(
    () =>
      train({
        steps: 5,
        params: [v],
        learningRate: 1e30,
        progressMs: 0,
        loss: () => v.square().mul(1e30) as tf.Scalar,
      }),
    /diverged/,
  );
  v.dispose();
});

test('stepDecay', () => {
  const s = stepDecay([
    [0, 0.1],
    [100, 0.01],
  ]);
  assert.equal(s(0), 0.1);
  assert.equal(s(99), 0.1);
  assert.equal(s(100), 0.01);
});

test('evaluateSequences: chunked, padding-weighted mean equals the one-shot mean', async () => {
  await initTf();
  const { buildSequences } = await import('../../lib/data/sequences');
  const { evaluateSequences } = await import('../../lib/train/evaluate');
  const { RecurrentLM } = await import('../../lib/models/recurrent');
  const seqs = buildSequences(data.split.dev.slice(0, 250), data.vocab, 16);
  const m = new RecurrentLM({ cell: 'rnn', vocabSize: 27, blockSize: 16, nEmbd: 8, nHidden: 8 }, new TorchGenerator(1));
  const f = (X: tf.Tensor2D, Y: tf.Tensor2D) => m.forward(X, Y).loss!;
  const whole = evaluateSequences(f, seqs, { chunk: 1000 });
  const chunked = evaluateSequences(f, seqs, { chunk: 64 });
  assert.ok(Math.abs(whole - chunked) < 1e-5, `${whole} vs ${chunked}`);
  m.dispose();
});

test('Adam and AdamW match torch.optim after 5 steps; a saved state resumes exactly', async () => {
  await initTf();
  // Golden values from torch 1.13: p = [1, −2, 3, 0.5], loss = Σ c·p² + 0.1·Σ p³, lr 0.1, 5 steps
  // (AdamW: betas 0.9/0.99, weight decay 0.01; Adam: torch defaults). Float32 rounding differs by ~1e-5
  // after 5 steps; a wrong bias correction or decay order is off by ~1e-2.
  const golden = {
    adamw: [0.5048020482063293, -1.4933106899261475, 2.4879822731018066, 0.9977883100509644],
    adam: [0.5091375708580017, -1.5024069547653198, 2.5020344257354736, 1.0018136501312256],
  };
  const c = tf.tensor1d([1, 2, 3, -4]);
  for (const name of ['adamw', 'adam'] as const) {
    const p = tf.variable(tf.tensor1d([1, -2, 3, 0.5]));
    const make = () => createOptimizer(name, 0.1, name === 'adamw' ? { beta2: 0.99, weightDecay: 0.01 } : {}) as Adam;
    const run = (opt: Adam, n: number) => {
      for (let i = 0; i < n; i++)
        tf.tidy(() => {
          opt.minimize(() => p.square().mul(c).sum().add(p.pow(3).sum().mul(0.1)) as tf.Scalar, false, [p]);
        });
    };
    const opt = make();
    const before = tf.memory().numTensors;
    run(opt, 3);
    const saved = { state: opt.state(), p: p.dataSync().slice() };
    run(opt, 2);
    assert.equal(tf.memory().numTensors, before);
    const got = Array.from(p.dataSync());
    got.forEach((v, i) =>
      assert.ok(Math.abs(v - golden[name][i]!) < 2e-5, `${name}[${i}]: ${v} vs torch ${golden[name][i]}`),
    );
    // restart from step 3 with a fresh optimizer and the saved moments: the same two steps follow
    p.assign(tf.tensor1d(saved.p));
    const resumed = make();
    resumed.loadState(saved.state);
    run(resumed, 2);
    assert.deepEqual(Array.from(p.dataSync()), got);
    p.dispose();
    opt.dispose();
    resumed.dispose();
  }
  c.dispose();
});

test('loss curves: the best point of each stored reference run; bad logs are named', () => {
  const curves = readCurves('docs/reference/transformer-names.json');
  assert.equal(curves.length, 4);
  const torch = bestPoint(curves.find((c) => c.label === 'PyTorch 1.13, seed 3407')!);
  assert.deepEqual([torch.step, torch.test, torch.lastStep], [11000, 1.9565, 20000]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sequentia-log-'));
  const bad = path.join(dir, 'log.jsonl');
  fs.writeFileSync(bad, '{"step":1,"train_loss":2,"test_loss":3}\n{"step":2}\n');
  assert.throws(() => readLossLog(bad), /log\.jsonl:2: expected step, train_loss and test_loss/);
  assert.throws(() => readLossLog(path.join(dir, 'missing.jsonl')), /loss log not found/);
});
