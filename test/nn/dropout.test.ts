// lib/nn/dropout: inverted dropout with masks from a seeded generator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { dropout } from '../../lib/nn/dropout';
import { FastGenerator } from '../../lib/random/fast-generator';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

test('dropout zeroes a fraction p, scales the rest by 1/(1−p), repeats for a seed, passes gradients through the mask', async () => {
  await initTf();
  const before = tf.memory().numTensors;
  const x = tf.ones([200, 50]);
  const drop = (p: number, seed: number, t: tf.Tensor = x) =>
    tf.tidy(() => dropout(t, p, new FastGenerator(seed)).dataSync());
  const v = drop(0.1, 7);
  const zeros = v.filter((a) => a === 0).length;
  assert.ok(Math.abs(zeros / v.length - 0.1) < 0.01, `dropped ${zeros} of ${v.length}`);
  assert.ok(
    v.every((a) => a === 0 || Math.abs(a - 1 / 0.9) < 1e-6),
    'survivors × 1/(1 − p)',
  );
  assert.deepEqual(drop(0.1, 7), v);
  assert.notDeepEqual(drop(0.1, 8), v);
  assert.equal(dropout(x, 0, new FastGenerator(7)), x, 'p = 0 returns the input itself');
  assert.throws(() => dropout(x, 1, new FastGenerator(7)), /dropout probability must be in \[0, 1\), got 1/);
  const [g, mask] = tf.tidy(() => {
    const ones = tf.ones([4, 4]);
    return [
      tf
        .grad((t: tf.Tensor) => dropout(t, 0.5, new FastGenerator(3)).sum())(ones)
        .dataSync(),
      dropout(ones, 0.5, new FastGenerator(3)).dataSync(),
    ];
  });
  assert.deepEqual([...g!], [...mask!]);
  x.dispose();
  assert.equal(tf.memory().numTensors, before);
});
