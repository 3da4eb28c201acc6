// lib/train/parallel: two threads give the full batch's loss and gradients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { zooModel } from '../../lib/models/registry';
import { DEFAULT_CONFIG } from '../../lib/models/zoo/config';
import { DataParallel } from '../../lib/train/parallel';
import { TorchGenerator } from '../../lib/random/torch-generator';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

test("data parallel: two threads give the full batch's loss and gradients (padding-weighted halves), fused or through the ops", async () => {
  await initTf();
  const config = { ...DEFAULT_CONFIG, vocabSize: 27, blockSize: 8 };
  for (const [type, fused] of [
    ['transformer', true],
    ['gru', true],
    ['transformer', false],
  ] as const) {
    const model = zooModel(type, config, new TorchGenerator(4));
    const B = 6;
    const T = 8;
    const X = Int32Array.from({ length: B * T }, (_, i) => (i * 7) % 27);
    // uneven padding: the halves score different numbers of tokens, so a plain average would be wrong
    const Y = Int32Array.from({ length: B * T }, (_, i) => (i % T > (i < 3 * T ? 6 : 2) ? -1 : (i * 5) % 27));
    const dp = await DataParallel.start(model, B, { fused });
    try {
      assert.equal(dp.fused !== null, fused, `${type}: the fused halves where lib/fused covers the model`);
      const before = tf.memory().numTensors;
      const one = tf.variableGrads(
        () => model.forward(tf.tensor2d(X, [B, T], 'int32'), tf.tensor2d(Y, [B, T], 'int32')).loss as tf.Scalar,
        model.params(),
      );
      const two = dp.gradients(X, Y, B);
      assert.ok(Math.abs(one.value.dataSync()[0]! - two.loss.dataSync()[0]!) < 1e-5);
      for (const v of model.params()) {
        const a = one.grads[v.name]!.dataSync();
        const b = two.grads[v.name]!.dataSync();
        for (let i = 0; i < a.length; i++)
          assert.ok(Math.abs(a[i]! - b[i]!) < 1e-5, `${type} ${v.name}[${i}]: ${a[i]} vs ${b[i]}`);
      }
      tf.dispose([one.value, two.loss, ...Object.values(one.grads), ...Object.values(two.grads)]);
      assert.equal(tf.memory().numTensors, before);
    } finally {
      await dp.close();
      model.dispose();
    }
  }
});

test('data parallel: nothing accumulates per step — tensors on both threads, listeners, the worker keeps pace', async () => {
  await initTf();
  const config = { ...DEFAULT_CONFIG, vocabSize: 27, blockSize: 8 };
  const model = zooModel('transformer', config, new TorchGenerator(4));
  const B = 4;
  const T = 8;
  const X = Int32Array.from({ length: B * T }, (_, i) => (i * 7) % 27);
  const Y = Int32Array.from({ length: B * T }, (_, i) => (i * 5) % 27);
  const dp = await DataParallel.start(model, B);
  try {
    const step = () => {
      const r = dp.gradients(X, Y, B);
      tf.dispose([r.loss, ...Object.values(r.grads)]);
    };
    step();
    const before = { main: tf.memory().numTensors, ...dp.workerStats() };
    const at: { main: number; worker: number; listeners: number; steps: number }[] = [];
    for (let i = 1; i <= 60; i++) {
      step();
      if (i === 10 || i === 60) {
        const w = dp.workerStats();
        at.push({ main: tf.memory().numTensors, worker: w.numTensors, listeners: w.listeners, steps: w.steps });
      }
    }
    const flat = { main: before.main, worker: before.numTensors, listeners: before.listeners };
    assert.deepEqual(at, [
      { ...flat, steps: 11 },
      { ...flat, steps: 61 },
    ]);
    assert.equal(before.listeners, 1, "one 'error' listener, added once at start-up");
  } finally {
    await dp.close();
    model.dispose();
  }
});
