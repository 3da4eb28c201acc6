// lib/train/loop and schedules: divergence stops training; step decay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { train } from '../../lib/train/loop';
import { stepDecay } from '../../lib/train/schedules';

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

test('stepDecay', () => {
  const s = stepDecay([
    [0, 0.1],
    [100, 0.01],
  ]);
  assert.equal(s(0), 0.1);
  assert.equal(s(99), 0.1);
  assert.equal(s(100), 0.01);
});
