// lib/train/loop and schedules: divergence stops training; a bad learning rate is named; step decay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { train } from '../../lib/train/loop';
import { stepDecay, warmupCosine } from '../../lib/train/schedules';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

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

test('a learning rate that is missing, negative or not a number is named before any step', async () => {
  await initTf();
  const v = tf.variable(tf.scalar(1));
  const loss = () => v.square() as tf.Scalar;
  for (const learningRate of [undefined, -0.1, NaN, '0.1'])
    await assert.rejects(
      // a JavaScript caller's mistakes (the compiler rejects them in TypeScript)
      train({ steps: 1, params: [v], progressMs: 0, loss, learningRate } as unknown as Parameters<typeof train>[0]),
      /train: learningRate must be a number ≥ 0 or a function of the step, got /,
    );
  assert.equal(v.dataSync()[0], 1, 'nothing trained');
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

test('warmupCosine: nanoGPT get_lr — warm-up from peak/(w + 1), the peak at the warm-up’s end, half-way the mean, min at the end', () => {
  const s = warmupCosine({ peak: 1e-3, min: 1e-4, warmup: 100, decaySteps: 2000 });
  assert.equal(s(0), 1e-3 / 101);
  assert.equal(s(99), (1e-3 * 100) / 101);
  assert.equal(s(100), 1e-3);
  assert.ok(Math.abs(s(1050) - 5.5e-4) < 1e-12);
  assert.equal(s(2000), 1e-4);
  assert.equal(s(5000), 1e-4);
  assert.throws(
    () => warmupCosine({ peak: 1e-3, min: 1e-4, warmup: 100, decaySteps: 100 }),
    /0 ≤ warmup < decaySteps, got 100 and 100/,
  );
  assert.throws(
    () => warmupCosine({ peak: 1e-3, min: 1e-2, warmup: 0, decaySteps: 10 }),
    /0 ≤ min ≤ peak, got peak 0.001, min 0.01/,
  );
});
