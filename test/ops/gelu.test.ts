// lib/ops/gelu: the hand-written gradient against autodiff of the formula.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { gelu, geluReference } from '../../lib/ops/gelu';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

test('GELU: hand-written gradient equals autodiff of the tanh formula', async () => {
  await initTf();
  const x = tf.tensor1d(Array.from({ length: 41 }, (_, i) => (i - 20) / 4));
  const ref = geluReference;
  const w = tf.tensor1d(Array.from({ length: 41 }, (_, i) => Math.cos(i)));
  const [ours, theirs] = [gelu, ref].map((f) =>
    tf
      .grad((t: tf.Tensor) => f(t).mul(w).sum())(x)
      .dataSync(),
  );
  const [yo, yt] = [gelu(x).dataSync(), ref(x).dataSync()];
  for (let i = 0; i < 41; i++) {
    assert.ok(Math.abs(yo[i]! - yt[i]!) < 1e-5, `value at ${i}`);
    assert.ok(Math.abs(ours![i]! - theirs![i]!) < 1e-5, `grad at x=${x.dataSync()[i]}: ${ours![i]} vs ${theirs![i]}`);
  }
  // x = 1: GELU(1) = 0.841192 with the tanh approximation (0.841345 exact)
  assert.ok(Math.abs(yo[24]! - 0.841192) < 1e-5);
});
