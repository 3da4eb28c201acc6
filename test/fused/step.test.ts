// lib/fused/step.ts: the fused step computes the ops' loss (1e-6 relative) and gradients (3e-6),
// updates as tf.train.sgd does, moves BatchNorm's running statistics the same way, keeps the tensor count
// flat, and declines models it does not cover.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { FusedStep } from '../../lib/fused/step';
import { batchTensors, type Batch } from '../../lib/data/batches';
import { MLP } from '../../lib/models/lecture/mlp';
import { BigramNet } from '../../lib/models/lecture/bigram-net';
import { Sequential } from '../../lib/models/lecture/sequential';
import { LECTURE_MLP, batchNormMLP, wavenet, WAVENET } from '../../lib/models/presets';
import { BatchNorm1d, Embedding, FlattenConsecutive, Linear, Tanh, type Layer } from '../../lib/nn/layers';
import { BatchNormDim0 } from '../../lib/nn/batchnorm-dim0';
import { TorchGenerator } from '../../lib/random/torch-generator';
import type { LanguageModel } from '../../lib/models/language-model';
import { zooModel } from '../../lib/models/registry';
import { RecurrentLM } from '../../lib/models/recurrent';
import type { MakemoreMLP } from '../../lib/models/zoo/mlp';
import { defaultConfig } from '../../lib/models/zoo/config';
import { createOptimizer, type Adam } from '../../lib/train/optimizers';
import { train } from '../../lib/train/loop';
import { relDiff } from '../helpers/rel-diff';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

/** A batch of n random windows of `block` ids below 27 and targets, from a seeded generator. */
function batch(n: number, block: number, seed: number): Batch {
  const g = new TorchGenerator(seed);
  return { X: Int32Array.from(g.randint(0, 27, n * block)), Y: Int32Array.from(g.randint(0, 27, n)), rows: n };
}

/** The ops' loss and gradients (tf.variableGrads of model.loss in training mode), by variable name. */
function opGradients(m: LanguageModel, b: Batch, reg = 0) {
  return tf.tidy(() => {
    const { X: x, Y: y } = batchTensors(b, m.reads);
    const opts = reg > 0 ? { reg, training: true } : { training: true };
    const { value, grads } = tf.variableGrads(() => m.loss(x, y, opts), m.params());
    return {
      loss: value.dataSync()[0]!,
      grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.dataSync() as Float32Array])),
    };
  });
}

// Losses agree to 1e-6; gradients to 3e-6 in norm: BatchNorm's β gradient at the top of a deep stack sums
// softmax − onehot over the batch, where one-ulp differences in the softmax (our exp against tfjs's) add up,
// and our products round each multiply-add once (the FMA build), tfjs's twice (2.05e-6 seen on WaveNet's).
function assertSameGradients(
  m: LanguageModel,
  b: Batch,
  reg = 0,
  tol = 1e-6,
  gradTol = 3e-6,
  twin?: LanguageModel,
): void {
  const fused = FusedStep.for(twin ?? m, { reg });
  assert.ok(fused, `${m.type}: fused step available`);
  // BatchNorm's running statistics move in both passes: run the fused one on a copy of the state (or on
  // `twin`, the same model built again, where the statistics change shape)
  const before = twin ? {} : Object.fromEntries(Object.entries(m.namedWeights()).map(([k, v]) => [k, v.clone()]));
  const ops = opGradients(m, b, reg);
  if (!twin) m.loadWeights(before);
  tf.dispose(Object.values(before));
  const got = fused.gradients(b);
  assert.ok(Math.abs(got.loss - ops.loss) <= tol * Math.abs(ops.loss), `loss ${got.loss} vs ops ${ops.loss}`);
  const names = m.params().map((p) => p.name);
  const fusedNames = (twin ?? m).params().map((p) => p.name); // the twin's variables have names of their own
  assert.deepEqual(Object.keys(got.grads).sort(), fusedNames.slice().sort());
  for (const [i, name] of names.entries()) {
    const d = relDiff(got.grads[fusedNames[i]!]!, ops.grads[name]!);
    assert.ok(d <= gradTol, `${m.type} gradient ${name}: relative difference ${d.toExponential(2)} > ${gradTol}`);
  }
}

test('fused MLP step: the ops loss and gradients, at the lecture init and at a trained-like scale', async () => {
  await initTf();
  const m = new MLP(LECTURE_MLP, new TorchGenerator(2147483647));
  const b = batch(32, 3, 1);
  assertSameGradients(m, b);
  // a softer start too (the lecture's fixed initialisation): the loss near ln 27
  const m2 = new MLP(LECTURE_MLP, new TorchGenerator(7), { W1: 0.2, b1: 0.01, W2: 0.01, b2: 0 });
  assertSameGradients(m2, b);
  m.dispose();
  m2.dispose();
});

test('fused BatchNorm MLP, a deep BatchNorm stack and the WaveNet: the ops loss and gradients', async () => {
  await initTf();
  const bn = batchNormMLP(new TorchGenerator(2147483647));
  const b = batch(32, 3, 2);
  assertSameGradients(bn, b);
  const g = new TorchGenerator(3);
  const deep = new Sequential(g, 27, 3, 10, [
    new Linear(g, 30, 64, { bias: false, init: { kind: 'kaiming', gain: 5 / 3 } }),
    new BatchNorm1d(64),
    new Tanh(),
    new Linear(g, 64, 64, { bias: true, init: { kind: 'kaiming', gain: 5 / 3 } }),
    new Tanh(),
    new Linear(g, 64, 27, { bias: false }),
    new BatchNorm1d(27, 1e-5, 0.1, 0.1),
  ]);
  assertSameGradients(deep, b);
  const w = wavenet(new TorchGenerator(42), { ...WAVENET, nEmbd: 10, nHidden: 68 });
  const b8 = batch(32, 8, 4);
  assertSameGradients(w, b8);
  for (const m of [bn, deep, w]) m.dispose();
});

/** Notebook 11's hierarchical net with the lecture's buggy BatchNorm (statistics over dim 0 only). */
function buggyWavenet(seed: number): Sequential {
  const g = new TorchGenerator(seed);
  const layers: Layer[] = [new Embedding(g, 27, 10)];
  for (const fanIn of [20, 136, 136])
    layers.push(
      new FlattenConsecutive(2),
      new Linear(g, fanIn, 68, { bias: false }),
      new BatchNormDim0(68),
      new Tanh(),
    );
  layers.push(new Linear(g, 68, 27));
  return Sequential.of(27, 8, layers);
}

test('fused BatchNormDim0 (the WaveNet lecture’s bug): the ops loss, gradients, and [1, T, C] running statistics', async () => {
  await initTf();
  const [m, twin] = [buggyWavenet(6), buggyWavenet(6)];
  // a trained-like γ and β (not 1 and 0), so a wrong sum over positions would show in every gradient
  for (const net of [m, twin])
    for (const l of net.layers)
      if (l instanceof BatchNormDim0) {
        tf.tidy(() => l.gamma.assign(tf.randomUniform([68], 0.5, 1.5, 'float32', 1)));
        tf.tidy(() => l.beta.assign(tf.randomUniform([68], -0.3, 0.3, 'float32', 2)));
      }
  assertSameGradients(m, batch(32, 8, 7), 0, 1e-6, 3e-6, twin);
  const ops = buggyWavenet(8);
  const fusedModel = buggyWavenet(8);
  const opts: [tf.Optimizer, tf.Optimizer] = [tf.train.sgd(0.1), tf.train.sgd(0.1)];
  trackSteps(
    ops,
    fusedModel,
    opts,
    0.1,
    Array.from({ length: 5 }, (_, s) => batch(32, 8, 200 + s)),
    1e-4,
  );
  const shapes = fusedModel.layers.flatMap((l) =>
    l instanceof BatchNormDim0 ? [l.runningMean.shape, l.runningVar.shape] : [],
  );
  assert.deepEqual(shapes, [
    [1, 4, 68],
    [1, 4, 68],
    [1, 2, 68],
    [1, 2, 68],
    [1, 68],
    [1, 68],
  ]);
  for (const x of [...opts, m, twin, ops, fusedModel]) x.dispose();
});

test('fused bigram net with reg: the ops (one-hot @ W) loss and gradient, on 5,000 examples', async () => {
  await initTf();
  const net = new BigramNet(new TorchGenerator(2147483647));
  assertSameGradients(net, batch(5000, 1, 5), 0.01);
  net.dispose();
});

/**
 * `batches.length` steps of the ops (opOpt.minimize on `ops`) and of the fused step (fusedOpt on `fusedModel`,
 * a copy of it): the losses agree every step and the weights at the end; no tensor is left behind.
 */
function trackSteps(
  ops: LanguageModel,
  fusedModel: LanguageModel,
  [opOpt, fusedOpt]: [tf.Optimizer, tf.Optimizer],
  lr: number,
  batches: Batch[],
  weightTol: number,
): void {
  const fused = FusedStep.for(fusedModel)!;
  const tensors = tf.memory().numTensors;
  batches.forEach((b, s) => {
    const want = tf.tidy(() => {
      const { X, Y } = batchTensors(b, ops.reads);
      return opOpt.minimize(() => ops.loss(X, Y, { training: true }), true, ops.params())!.dataSync()[0]!;
    });
    const got = fused.step(b, fusedOpt, lr);
    assert.ok(Math.abs(got - want) <= 1e-5 * want, `step ${s}: loss ${got} vs ${want}`);
  });
  assert.equal(tf.memory().numTensors, tensors, 'fused steps leave no tensors behind');
  const a = ops.namedWeights();
  const b = fusedModel.namedWeights();
  for (const k of Object.keys(a)) {
    const d = relDiff(b[k]!.dataSync(), a[k]!.dataSync());
    assert.ok(d <= weightTol, `${k} after ${batches.length} steps: relative difference ${d.toExponential(2)}`);
  }
}

test('fused step: ten SGD steps track tf.train.sgd on the ops (losses, weights, running statistics)', async () => {
  await initTf();
  const ops = batchNormMLP(new TorchGenerator(9));
  const fusedModel = batchNormMLP(new TorchGenerator(9));
  const opts: [tf.Optimizer, tf.Optimizer] = [tf.train.sgd(0.1), tf.train.sgd(0.1)];
  const batches = Array.from({ length: 10 }, (_, s) => batch(32, 3, 100 + s));
  trackSteps(ops, fusedModel, opts, 0.1, batches, 1e-4);
  // the running statistics did move (momentum 0.1 from zeros / ones)
  assert.ok(Math.abs(fusedModel.namedWeights()['1.runningMean']!.dataSync()[0]!) > 1e-3);
  for (const x of [...opts, ops, fusedModel]) x.dispose();
});

test('fused step: declined for models and layers it does not cover; bad batches are named', async () => {
  await initTf();
  // a layer whose forward a learner changed keeps no fused half (it would train the old forward); a
  // subclass that changes nothing of it keeps its parent's
  class MyTanh extends Tanh {
    override forward(x: tf.Tensor): tf.Tensor {
      return tf.tanh(x).mul(2);
    }
  }
  class SameTanh extends Tanh {}
  const g = new TorchGenerator(1);
  const custom = new Sequential(g, 27, 3, 10, [new Linear(g, 30, 27), new MyTanh()]);
  assert.equal(FusedStep.for(custom), null);
  const same = new Sequential(g, 27, 3, 10, [new Linear(g, 30, 27), new SameTanh()]);
  assert.notEqual(FusedStep.for(same), null);
  same.dispose();
  // a learner's variation of a model's forward: the fused step would train the old one, so there is none
  class MyMLP extends MLP {
    override forward(X: tf.Tensor2D, Y?: tf.Tensor1D) {
      return super.forward(X, Y);
    }
  }
  const mine = new MyMLP(LECTURE_MLP, g);
  assert.equal(FusedStep.for(mine), null);
  mine.dispose();
  const mlp = new MLP(LECTURE_MLP, g);
  const sgd = tf.train.sgd(0.1);
  assert.throws(
    () => FusedStep.for(mlp)!.step({ X: new Int32Array(10), Y: new Int32Array(4), rows: 4 }, sgd, 0.1),
    /a batch of 4 rows has 10 ids in X and 4 targets/,
  );
  assert.throws(
    () => FusedStep.for(mlp)!.step(batch(4, 3, 1), tf.train.momentum(0.1, 0.9), 0.1),
    /the optimizer must be tf.train.sgd or/,
  );
  // ids the kernels would read past a table with: named, before any kernel runs
  const bad = batch(4, 3, 1);
  bad.Y[2] = 27;
  assert.throws(
    () => FusedStep.for(mlp)!.step(bad, sgd, 0.1),
    /target 27 at row 2 is outside the vocabulary \[0, 27\)/,
  );
  bad.Y[2] = -1;
  assert.throws(() => FusedStep.for(mlp)!.step(bad, sgd, 0.1), /target -1 at row 2 is outside the vocabulary/);
  const badInput = batch(4, 3, 1);
  badInput.X[7] = 99;
  assert.throws(
    () => FusedStep.for(mlp)!.step(badInput, sgd, 0.1),
    /input id 99 at position 7 .* outside the vocabulary \[0, 27\)/,
  );
  const seqModel = zooModel('mlp', { ...defaultConfig('mlp'), vocabSize: 27, blockSize: 5, nEmbd: 4, nEmbd2: 8 }, g);
  const seq = sequences(3, 5, 2);
  seq.Y[1 * 5 + 2] = 30;
  assert.throws(
    () => FusedStep.for(seqModel)!.gradients(seq),
    /target 30 at batch row 1, position 2 is outside the vocabulary \[0, 27\) \(or -1, ignored\)/,
  );
  seqModel.dispose();
  // layers a fused half takes in with it (the Embedding's Flatten and Linear): a change to them counts too
  const zmlp = zooModel('mlp', { ...defaultConfig('mlp'), vocabSize: 27, blockSize: 5, nEmbd: 4, nEmbd2: 8 }, g);
  assert.notEqual(FusedStep.for(zmlp), null);
  const hidden = (zmlp as MakemoreMLP).hidden;
  hidden.forward = (x: tf.Tensor) => Linear.prototype.forward.call(hidden, x).mul(0.5);
  assert.equal(FusedStep.for(zmlp), null, 'an instance patch of the Linear the Embedding takes in');
  zmlp.dispose();
  class HalfLinear extends Linear {
    override forward(x: tf.Tensor): tf.Tensor {
      return super.forward(x).mul(0.5);
    }
  }
  const net = wavenet(new TorchGenerator(3));
  const lin = net.layers[2] as Linear;
  net.layers[2] = Object.setPrototypeOf(lin, HalfLinear.prototype) as Linear;
  assert.equal(FusedStep.for(net), null, 'a subclass of the Linear after the WaveNet’s first flatten');
  net.dispose();
  // a recurrent net's own cell: no fused half, and its forward steps through that cell
  const rnn = new RecurrentLM({ cell: 'rnn', vocabSize: 27, blockSize: 5, nEmbd: 4, nHidden: 8 }, g);
  const X = tf.tensor2d(sequences(3, 5, 4).X, [3, 5], 'int32');
  const before = tf.tidy(() => rnn.forward(X).logits.dataSync().slice());
  rnn.recurrence.cell = (xg, st) => ({ h: tf.relu(xg.add(tf.matMul(st.h, rnn.Wh as tf.Tensor2D))) as tf.Tensor2D });
  assert.equal(FusedStep.for(rnn), null, 'a learner’s cell');
  const after = tf.tidy(() => rnn.forward(X).logits.dataSync().slice());
  assert.notDeepEqual(after, before, 'the forward runs the learner’s cell');
  X.dispose();
  rnn.dispose();
  // a layer without a fused half at all (a plain object a learner wrote): the ops
  const plain = new Sequential(g, 27, 3, 10, [new Linear(g, 30, 27)]);
  (plain.layers as unknown[]).push({ forward: (x: tf.Tensor) => x, params: () => [], namedWeights: () => ({}) });
  assert.equal(FusedStep.for(plain), null);
  plain.dispose();
  sgd.dispose();
  custom.dispose();
  mlp.dispose();
});

/** Sequences of makemore's shape: rows of T ids, targets with −1 after each word's end. */
function sequences(rows: number, T: number, seed: number): Batch {
  const g = new TorchGenerator(seed);
  const X = Int32Array.from(g.randint(0, 27, rows * T));
  const Y = Int32Array.from(g.randint(0, 27, rows * T));
  const ends = g.randint(2, T, rows);
  for (let r = 0; r < rows; r++) for (let t = ends[r]! + 1; t < T; t++) Y[r * T + t] = -1;
  return { X, Y, rows };
}

test('fused makemore bigram, MLP, bag of words, WaveNet and transformer: the ops loss and gradients, −1 targets ignored, T below blockSize', async () => {
  await initTf();
  const config = { vocabSize: 27, blockSize: 16, nLayer: 4, nHead: 4, nEmbd: 64, nEmbd2: 64 };
  for (const type of ['bigram', 'mlp', 'bow', 'wavenet']) {
    const sizes = type === 'wavenet' ? { ...config, ...defaultConfig('wavenet') } : config;
    const m = zooModel(type, sizes, new TorchGenerator(3407));
    assertSameGradients(m, sequences(32, 16, 6));
    assertSameGradients(m, sequences(8, 11, 7));
    m.dispose();
  }
  const transformer = zooModel('transformer', config, new TorchGenerator(1));
  assertSameGradients(transformer, sequences(32, 16, 11));
  assertSameGradients(transformer, sequences(4, 7, 12));
  transformer.dispose();
  const june = zooModel('transformer', { ...config, dropout: 0.1 }, new TorchGenerator(1));
  assert.equal(FusedStep.for(june), null, 'with dropout the transformer trains through the ops');
  june.dispose();
});

test('fused RNN, GRU and LSTM language models: the ops (lib/ops BPTT) loss and gradients; odd sizes decline', async () => {
  await initTf();
  for (const cell of ['lstm', 'rnn', 'gru'] as const) {
    const m = new RecurrentLM({ cell, vocabSize: 27, blockSize: 16, nEmbd: 24, nHidden: 32 }, new TorchGenerator(8));
    assertSameGradients(m, sequences(16, 16, 9));
    assertSameGradients(m, sequences(5, 9, 10));
    m.dispose();
  }
  const odd = new RecurrentLM(
    { cell: 'lstm', vocabSize: 27, blockSize: 16, nEmbd: 24, nHidden: 30 },
    new TorchGenerator(8),
  );
  assert.equal(FusedStep.for(odd), null);
  odd.dispose();
});

test('fused AdamW steps: the same losses, weights and moments as lib’s Adam on the ops', async () => {
  await initTf();
  const config = { vocabSize: 27, blockSize: 16, nLayer: 4, nHead: 4, nEmbd: 32, nEmbd2: 48 };
  const ops = zooModel('bow', config, new TorchGenerator(5));
  const fusedModel = zooModel('bow', config, new TorchGenerator(5));
  const [optOps, optFused] = [createOptimizer('adamw', 1e-3) as Adam, createOptimizer('adamw', 1e-3) as Adam];
  const batches = Array.from({ length: 8 }, (_, s) => sequences(16, 16, 200 + s));
  trackSteps(ops, fusedModel, [optOps, optFused], 1e-3, batches, 1e-5);
  const fused = FusedStep.for(fusedModel)!;
  // the ops see the fused steps' weights (a weight written in place would leave tfjs's packed matmul
  // weights stale: the ops' loss would not move)
  const probe = sequences(16, 16, 300);
  const opsLoss = tf.tidy(() => {
    const { X, Y } = batchTensors(probe, 'sequence');
    return fusedModel.loss(X, Y).dataSync()[0]!;
  });
  assert.ok(Math.abs(opsLoss - fused.gradients(probe).loss) <= 1e-6 * opsLoss);
  const [sa, sb] = [optOps.state(), optFused.state()];
  assert.equal(sb.step, 8);
  // the moments are keyed by each model's own variable names, in the same order
  const [ma, mb] = [Object.values(sa.m), Object.values(sb.m)];
  assert.equal(mb.length, ma.length);
  ma.forEach((m, i) => assert.ok(relDiff(mb[i]!, m) <= 1e-4, `first moment ${i}`));
  for (const x of [ops, fusedModel]) x.dispose();
  for (const o of [optOps, optFused]) o.dispose();
});

test('train({ model, batch }): fused where covered (result.fused), the ops with fused: false, the same losses', async () => {
  await initTf();
  const run = async (fused: boolean) => {
    const m = batchNormMLP(new TorchGenerator(21));
    const g = new TorchGenerator(22);
    const r = await train({
      steps: 30,
      model: m,
      batch: () => batch(32, 3, g.randint(0, 1000, 1)[0]!),
      learningRate: (i) => (i < 20 ? 0.1 : 0.01),
      fused,
      progressMs: 0,
    });
    const w = Float32Array.from(m.namedWeights()['1.runningVar']!.dataSync());
    m.dispose();
    return { r, w };
  };
  const tensors = tf.memory().numTensors;
  const a = await run(true);
  const b = await run(false);
  assert.equal(a.r.fused, true);
  assert.equal(b.r.fused, false);
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(a.r.losses.length, 30);
  for (let i = 0; i < 30; i++)
    assert.ok(
      Math.abs(a.r.losses[i]! - b.r.losses[i]!) <= 1e-4 * b.r.losses[i]!,
      `step ${i}: ${a.r.losses[i]} vs ${b.r.losses[i]}`,
    );
  assert.ok(relDiff(a.w, b.w) <= 1e-4, 'running variance');
  // not covered: a custom optimizer, or a subset of the parameters
  const m = batchNormMLP(new TorchGenerator(23));
  const g = new TorchGenerator(24);
  const common = {
    steps: 2,
    model: m,
    batch: () => batch(32, 3, g.randint(0, 1000, 1)[0]!),
    learningRate: 0.1,
    progressMs: 0,
  };
  assert.equal((await train({ ...common, optimizer: createOptimizer('adam', 1e-3) })).fused, true);
  assert.equal((await train({ ...common, params: m.params().slice(1) })).fused, false);
  // clipped in the step's frame (torch's clip_grad_norm_), as the ops clip: the same losses
  const clipped = (fused: boolean) => {
    const mc = batchNormMLP(new TorchGenerator(23));
    const gc = new TorchGenerator(24);
    const b = () => batch(32, 3, gc.randint(0, 1000, 1)[0]!);
    return train({ steps: 5, model: mc, batch: b, learningRate: 0.1, progressMs: 0, gradClip: 0.05, fused }).then(
      (r) => (mc.dispose(), r),
    );
  };
  const [cf, co] = [await clipped(true), await clipped(false)];
  assert.equal(cf.fused, true);
  for (let i = 0; i < 5; i++)
    assert.ok(Math.abs(cf.losses[i]! - co.losses[i]!) <= 1e-4 * co.losses[i]!, `clipped step ${i}`);
  // Wrong combinations: the compiler rejects each (the @ts-expect-error lines are checked by tsc in
  // npm test); a JavaScript caller gets the run-time error.
  // @ts-expect-error a model without its batches
  await assert.rejects(train({ steps: 1, model: m, learningRate: 0.1 }), /`model` needs `batch`/);
  // a fused step made by the caller: with a batch, and without `params` or a second way
  const fusedStep = FusedStep.for(m)!;
  // @ts-expect-error a fused step without its batches
  await assert.rejects(train({ steps: 1, fusedStep, learningRate: 0.1 }), /`fusedStep` needs `batch`/);
  const { model: _m, ...noModel } = common;
  // @ts-expect-error a fused step with params
  await assert.rejects(train({ ...noModel, fusedStep, params: m.params() }), /`fusedStep` trains its own parameters/);
  await assert.rejects(
    // @ts-expect-error a model and a fused step
    train({ ...common, fusedStep }),
    /give exactly one of `loss`, `gradients`, and `model` or `fusedStep`/,
  );
  // @ts-expect-error a model and a loss
  await assert.rejects(train({ ...common, loss: () => tf.scalar(0) }), /give exactly one of/);
  const bigram = new BigramNet(new TorchGenerator(5));
  const words = () => batch(8, 1, 3);
  // @ts-expect-error reg is the bigram net's loss option, not this model's
  void (() => train({ steps: 1, model: m, batch: words, learningRate: 1, lossOptions: { reg: 0.01 } }));
  assert.equal(
    (await train({ steps: 1, model: bigram, batch: words, learningRate: 1, lossOptions: { reg: 0.01 }, progressMs: 0 }))
      .fused,
    true,
  );
  bigram.dispose();
  assert.equal((await train({ ...noModel, fusedStep })).fused, true);
  m.dispose();
});

test('deferred steps: the variables change at sync(), a weight assigned between steps is used, another step taking the memory writes back first', async () => {
  await initTf();
  const [a, b] = [batchNormMLP(new TorchGenerator(31)), batchNormMLP(new TorchGenerator(31))];
  const sgd = tf.train.sgd(0.1);
  const [fa, fb] = [FusedStep.for(a)!, FusedStep.for(b)!];
  const batches = Array.from({ length: 6 }, (_, s) => batch(32, 3, 300 + s));
  const same = (what: string) => {
    for (const [k, v] of Object.entries(b.namedWeights()))
      assert.deepEqual(a.namedWeights()[k]!.dataSync(), v.dataSync(), `${k} ${what}`);
  };
  const w0 = Float32Array.from(a.params()[1]!.dataSync());
  for (const x of batches.slice(0, 3)) fa.step(x, sgd, 0.1, { defer: true });
  assert.deepEqual(Float32Array.from(a.params()[1]!.dataSync()), w0, 'deferred: the variable is unchanged before sync');
  assert.equal(a.namedWeights()['1.runningMean']!.dataSync()[0], 0, 'and so are the running statistics');
  fa.sync();
  for (const x of batches.slice(0, 3)) fb.step(x, sgd, 0.1);
  same('after sync');
  // a weight assigned between steps (loadWeights) is what the next step starts from
  const fresh = batchNormMLP(new TorchGenerator(32));
  a.loadWeights(fresh.namedWeights());
  b.loadWeights(fresh.namedWeights());
  fa.step(batches[3]!, sgd, 0.1, { defer: true });
  assert.deepEqual(a.params()[1]!.dataSync(), fresh.params()[1]!.dataSync(), 'not written back yet');
  // b's step takes the kernels' memory over: a's deferred step is written back first
  fb.step(batches[3]!, sgd, 0.1);
  same('after the same step from the loaded weights');
  fa.step(batches[4]!, sgd, 0.1);
  fb.step(batches[4]!, sgd, 0.1);
  same('after another step');
  fa.release();
  fb.release();
  for (const x of [sgd, a, b, fresh]) x.dispose();
});

test('train() defers the fused steps’ writes but onStep sees every step’s weights', async () => {
  await initTf();
  const seen = async (stepped: boolean) => {
    const m = batchNormMLP(new TorchGenerator(33));
    const g = new TorchGenerator(34);
    const firsts: number[] = [];
    const fsum = (): number => m.params()[1]!.dataSync()[0]!;
    await train({
      steps: 12,
      model: m,
      batch: () => batch(32, 3, g.randint(0, 1000, 1)[0]!),
      learningRate: 0.1,
      progressMs: 0,
      fused: stepped,
      onStep: () => void firsts.push(fsum()),
    });
    m.dispose();
    return firsts;
  };
  const [fused, ops] = [await seen(true), await seen(false)];
  assert.equal(new Set(fused).size, 12, 'the weight moved at every step');
  fused.forEach((v, i) =>
    assert.ok(Math.abs(v - ops[i]!) <= 1e-5 * Math.abs(ops[i]!) + 1e-7, `step ${i}: ${v} vs ${ops[i]}`),
  );
});

test('onStepEvery: onStep after steps k − 1, 2k − 1, … with the weights of that step; a bad value is refused', async () => {
  await initTf();
  const run = async (every?: number, fused = true) => {
    const m = batchNormMLP(new TorchGenerator(33));
    const g = new TorchGenerator(34);
    const calls: { step: number; loss: number; w: number }[] = [];
    const r = await train({
      steps: 10,
      model: m,
      batch: () => batch(32, 3, g.randint(0, 1000, 1)[0]!),
      learningRate: 0.1,
      progressMs: 0,
      onStepEvery: every,
      fused,
      onStep: (step, loss) => void calls.push({ step, loss, w: m.params()[1]!.dataSync()[0]! }),
    });
    m.dispose();
    return { calls, losses: r.losses };
  };
  const [each, third] = [await run(1, false), await run(3)]; // each: the ops, every step
  assert.deepEqual(
    third.calls.map((c) => c.step),
    [2, 5, 8],
  );
  for (const c of third.calls) {
    assert.equal(c.loss, third.losses[c.step]);
    const want = each.calls[c.step]!.w;
    assert.ok(Math.abs(c.w - want) <= 1e-5 * Math.abs(want) + 1e-7, `step ${c.step}: the model as after that step`);
  }
  third.losses.forEach((l, i) => assert.ok(Math.abs(l - each.losses[i]!) <= 1e-5 * l, `loss ${i}`));
  const m = batchNormMLP(new TorchGenerator(1));
  for (const bad of [0, 2.5, -1])
    await assert.rejects(
      train({
        steps: 1,
        model: m,
        batch: () => batch(32, 3, 1),
        learningRate: 0.1,
        onStepEvery: bad,
        onStep: () => {},
      }),
      new RegExp(`onStepEvery must be a whole number of steps ≥ 1, got ${bad}`),
    );
  m.dispose();
});
