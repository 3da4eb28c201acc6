/**
 * Tensor leaks: creating, using and disposing any model must leave tf.memory() exactly where it was.
 * Every type the zoo's createModel knows (ZOO_TYPES, so a new type is covered automatically), RecurrentLM
 * and the lecture models go through three cycles of: create (small sizes) → forward with targets (in
 * tf.tidy) → loadWeights(namedWeights()) → one training step → loadWeights(fresh copies) → dispose; the
 * tensor count and bytes must come back exactly to the start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { createModel, zooModel, ZOO_TYPES, type ModelConfigs, type ModelType } from '../../lib/models/registry';
import { DEFAULT_CONFIG, type ZooConfig } from '../../lib/models/zoo/config';
import { RecurrentLM, type CellType } from '../../lib/models/recurrent';
import { BigramNet } from '../../lib/models/lecture/bigram-net';
import { MLP } from '../../lib/models/lecture/mlp';
import { Sequential } from '../../lib/models/lecture/sequential';
import { Linear, BatchNorm1d, Tanh } from '../../lib/nn/layers';
import { createOptimizer, type OptimizerName } from '../../lib/train/optimizers';
import { TorchGenerator } from '../../lib/random/torch-generator';
import { saveWeights, loadWeights } from '../../lib/train/saved-model';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

const CYCLES = 3;
const V = 11;

/** What the cycle needs from a model, whatever its own interface. */
interface Subject {
  /** Mean loss on a fixed batch, built from the model's own forward pass (called inside tf.tidy). */
  loss(): tf.Scalar;
  params(): tf.Variable[];
  namedWeights(): Record<string, tf.Tensor>;
  loadWeights(w: Record<string, tf.Tensor>): void;
  dispose(): void;
}

/** Deterministic token ids in [0, high). */
function ids(n: number, high: number, seed: number): number[] {
  return Array.from(new TorchGenerator(seed).randint(0, high, n));
}

function lossValue(s: Subject): number {
  return tf.tidy(() => s.loss().dataSync()[0] as number);
}

/** A model under test: how to build it and which optimizer its training step uses. */
interface Case {
  label: string;
  make: () => Subject;
  optimizer: OptimizerName;
}

/** A copy of every weight in fresh tensors, as saved-model's loadWeights returns them. */
function copiesOf(s: Subject): Record<string, tf.Tensor> {
  return tf.tidy(() => Object.fromEntries(Object.entries(s.namedWeights()).map(([k, t]) => [k, t.mul(1)])));
}

function trainStep(c: Case, s: Subject): void {
  const opt = createOptimizer(c.optimizer, 1e-2);
  tf.tidy(() => {
    opt.minimize(() => s.loss(), false, s.params());
  });
  opt.dispose();
}

/** One create → forward → load → train → load → dispose cycle. */
function cycle(c: Case): void {
  const s = c.make();
  const before = lossValue(s);
  assert.ok(Number.isFinite(before), `${c.label}: loss ${before}`);
  // a model's own tensors loaded into itself: must neither leak nor free what the variables hold
  s.loadWeights(s.namedWeights());
  assert.equal(lossValue(s), before, `${c.label}: loadWeights(namedWeights()) changed the model`);
  trainStep(c, s);
  const trained = lossValue(s);
  assert.ok(
    Number.isFinite(trained) && trained !== before,
    `${c.label}: the training step changed nothing (${before} → ${trained})`,
  );
  // fresh copies, disposed by the caller after loading
  const copies = copiesOf(s);
  s.loadWeights(copies);
  tf.dispose(Object.values(copies));
  assert.equal(lossValue(s), trained, `${c.label}: loading copies changed the model`);
  s.dispose();
}

/** Runs the cycles and returns the tensors / bytes left behind (0 / 0 when nothing leaks). */
function leakOf(c: Case): { tensors: number; bytes: number } {
  const start = tf.memory();
  for (let i = 0; i < CYCLES; i++) cycle(c);
  const end = tf.memory();
  return { tensors: end.numTensors - start.numTensors, bytes: end.numBytes - start.numBytes };
}

/** A batch [B, T] of ids and next-token targets with some −1 (ignored) padding. */
function sequenceBatch(B: number, T: number): { X: number[]; Y: number[] } {
  const X = ids(B * T, V, 7);
  const Y = ids(B * T, V, 8).map((y, i) => (i % T === T - 1 ? -1 : y));
  return { X, Y };
}

const CASES: Case[] = [];

// every type createModel knows, at small sizes
const ZOO: ZooConfig = { vocabSize: V, blockSize: 6, nLayer: 2, nHead: 2, nEmbd: 8, nEmbd2: 8 };
for (const type of ZOO_TYPES) {
  const { X, Y } = sequenceBatch(3, ZOO.blockSize);
  CASES.push({
    label: `zoo '${type}'`,
    optimizer: 'adamw',
    make: () => {
      const m = zooModel(type, ZOO, new TorchGenerator(1));
      return {
        loss: () =>
          m.forward(tf.tensor2d(X, [3, ZOO.blockSize], 'int32'), tf.tensor2d(Y, [3, ZOO.blockSize], 'int32'))
            .loss as tf.Scalar,
        params: () => m.params(),
        namedWeights: () => m.namedWeights(),
        loadWeights: (w) => m.loadWeights(w),
        dispose: () => m.dispose(),
      };
    },
  });
}

// RecurrentLM directly: nHidden 8 takes the fused recurrence (lib/ops), 6 the tf-ops cell; step() too
for (const cell of ['rnn', 'gru', 'lstm'] as CellType[]) {
  for (const nHidden of [8, 6]) {
    const T = 5;
    const { X, Y } = sequenceBatch(2, T);
    CASES.push({
      label: `RecurrentLM ${cell} (H ${nHidden})`,
      optimizer: 'adam',
      make: () => {
        const m = new RecurrentLM({ cell, vocabSize: V, blockSize: T, nEmbd: 4, nHidden }, new TorchGenerator(2));
        return {
          loss: () => {
            const { logits } = m.step(tf.tensor1d([1, 2], 'int32'), m.initialState(2));
            assert.deepEqual(logits.shape, [2, V]);
            return m.forward(tf.tensor2d(X, [2, T], 'int32'), tf.tensor2d(Y, [2, T], 'int32')).loss as tf.Scalar;
          },
          params: () => m.params(),
          namedWeights: () => m.namedWeights(),
          loadWeights: (w) => m.loadWeights(w),
          dispose: () => m.dispose(),
        };
      },
    });
  }
}

{
  const x = ids(20, 27, 3);
  const y = ids(20, 27, 4);
  CASES.push({
    label: 'lecture BigramNet (bigram-net.ts)',
    optimizer: 'sgd',
    make: () => {
      const net = new BigramNet(new TorchGenerator(2147483647));
      return {
        loss: () => net.loss(tf.tensor1d(x, 'int32'), tf.tensor1d(y, 'int32'), { reg: 0.01, via: 'onehot' }),
        params: () => net.params(),
        namedWeights: () => net.namedWeights(),
        loadWeights: (w) => net.loadWeights(w),
        dispose: () => net.dispose(),
      };
    },
  });
}

{
  const cfg = { vocabSize: V, blockSize: 3, nEmbd: 2, nHidden: 10 };
  const X = ids(8 * cfg.blockSize, V, 5);
  const Y = ids(8, V, 6);
  CASES.push({
    label: 'lecture MLP (mlp.ts)',
    optimizer: 'sgd',
    make: () => {
      const m = new MLP(cfg, new TorchGenerator(2147483647), { W2: 0.01, b2: 0 });
      return {
        loss: () => m.loss(tf.tensor2d(X, [8, cfg.blockSize], 'int32'), tf.tensor1d(Y, 'int32')),
        params: () => m.params(),
        namedWeights: () => m.namedWeights(),
        loadWeights: (w) => m.loadWeights(w),
        dispose: () => m.dispose(),
      };
    },
  });
}

{
  const X = ids(8 * 3, V, 9);
  const Y = ids(8, V, 10);
  CASES.push({
    label: 'lecture layers (layers.ts: Sequential, Linear, BatchNorm1d, Tanh)',
    optimizer: 'sgd',
    make: () => {
      const rng = new TorchGenerator(42);
      const m = new Sequential(rng, V, 3, 4, [
        new Linear(rng, 12, 16, { bias: false, init: { kind: 'kaiming', gain: 5 / 3 } }),
        new BatchNorm1d(16),
        new Tanh(),
        new Linear(rng, 16, 16, { init: { kind: 'kaiming', gain: 5 / 3 } }),
        new Tanh(),
        new Linear(rng, 16, V, { init: { kind: 'randn', scale: 0.1 } }),
        new BatchNorm1d(V, 1e-5, 0.1, 0.1),
      ]);
      return {
        loss: () => {
          const Xt = tf.tensor2d(X, [8, 3], 'int32');
          // evaluation mode reads the running statistics; `keep` holds every layer's output
          const kept: tf.Tensor[] = [];
          m.forward(Xt, undefined, { keep: kept });
          tf.dispose(kept);
          // training mode updates the running statistics (variables assigned inside the forward pass)
          return tf.losses.softmaxCrossEntropy(
            tf.oneHot(tf.tensor1d(Y, 'int32'), V),
            m.forward(Xt, undefined, { training: true }).logits,
          ) as tf.Scalar;
        },
        params: () => m.params(),
        namedWeights: () => m.namedWeights(),
        loadWeights: (w) => m.loadWeights(w),
        dispose: () => m.dispose(),
      };
    },
  });
}

test('the cases cover every type createModel knows', () => {
  for (const type of ZOO_TYPES)
    assert.ok(
      CASES.some((c) => c.label === `zoo '${type}'`),
      type,
    );
});

for (const c of CASES) {
  test(`${c.label}: ${CYCLES}× create, forward, load, ${c.optimizer} step, load, dispose leave tf.memory() where it was`, async () => {
    await initTf();
    const leak = leakOf(c);
    assert.deepEqual(
      leak,
      { tensors: 0, bytes: 0 },
      `${c.label}: ${CYCLES} cycles left ${leak.tensors} tensors (${leak.bytes} bytes)`,
    );
  });
}

// the defect as reported: at makemore's defaults the transformer left 53 tensors per create/dispose
test('every zoo type at makemore’s defaults: create and dispose leave tf.memory() where it was', async () => {
  await initTf();
  for (const type of ZOO_TYPES) {
    const start = tf.memory();
    for (let i = 0; i < CYCLES; i++)
      zooModel(type, { ...DEFAULT_CONFIG, vocabSize: 27, blockSize: 16 }, new TorchGenerator(i)).dispose();
    const end = tf.memory();
    assert.deepEqual([end.numTensors - start.numTensors, end.numBytes - start.numBytes], [0, 0], type);
  }
});

// the checkpoint path: saved-model's loadWeights returns fresh tensors the caller disposes after loading
test('every zoo type: save, load from disk into a new model, dispose leave tf.memory() where it was', async () => {
  await initTf();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sequentia-leaks-'));
  try {
    for (const type of ZOO_TYPES) {
      const start = tf.memory();
      const m = zooModel(type, ZOO, new TorchGenerator(3));
      await saveWeights(
        path.join(dir, type),
        { sequentia: 3, type, config: m.config, itos: [], boundary: '.' },
        m.namedWeights(),
      );
      const saved = await loadWeights<ModelConfigs[ModelType]>(path.join(dir, type));
      const m2 = createModel(m.type, saved.topology.config, new TorchGenerator(4));
      m2.loadWeights(saved.weights);
      tf.dispose(Object.values(saved.weights));
      const [a, b] = [m, m2].map((x) =>
        tf.tidy(() =>
          Array.from(
            x.forward(tf.tensor2d(ids(2 * ZOO.blockSize, V, 11), [2, ZOO.blockSize], 'int32')).logits.dataSync(),
          ),
        ),
      );
      assert.deepEqual(b, a, `${type} differs after reload`);
      m.dispose();
      m2.dispose();
      const end = tf.memory();
      assert.deepEqual([end.numTensors - start.numTensors, end.numBytes - start.numBytes], [0, 0], type);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// assign() releases a variable's data before taking the new value's: loading a trained model's own
// tensors into itself used to free them (reads then recursed until the stack overflowed)
for (const c of CASES) {
  test(`${c.label}: loadWeights(namedWeights()) after a training step keeps the weights`, async () => {
    await initTf();
    const start = tf.memory().numTensors;
    const s = c.make();
    trainStep(c, s);
    const trained = lossValue(s);
    s.loadWeights(s.namedWeights());
    assert.equal(lossValue(s), trained);
    s.dispose();
    assert.equal(tf.memory().numTensors, start);
  });
}
