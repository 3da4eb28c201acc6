// lib/ops/lstm: hand-written BPTT against the step-by-step cell (lib/nn/recurrent.ts), values and gradients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { lstmSequence } from '../../lib/ops/lstm';
import { cellSequence } from '../../lib/nn/recurrent';
import { TorchGenerator } from '../../lib/random/torch-generator';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

test('fused LSTM recurrence (hand-written BPTT) equals the step-by-step ops: values and all four gradients', async () => {
  await initTf();
  const [T, B, H] = [6, 3, 8];
  const g = new TorchGenerator(11);
  const xg = tf.tensor3d(g.randn(T * B * 4 * H), [T, B, 4 * H]);
  const h0 = tf.tensor2d(g.randn(B * H), [B, H]).mul(0.5) as tf.Tensor2D;
  const c0 = tf.tensor2d(g.randn(B * H), [B, H]) as tf.Tensor2D;
  const Wh = tf.tensor2d(g.randn(H * 4 * H), [H, 4 * H]).mul(0.3) as tf.Tensor2D;
  const w = tf.tensor3d(g.randn(T * B * H), [T, B, H]);
  const run = (f: typeof lstmSequence) => {
    const y = f(xg, h0, c0, Wh).dataSync();
    const gr = tf
      .grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
        f(a as tf.Tensor3D, b as tf.Tensor2D, c as tf.Tensor2D, d as tf.Tensor2D)
          .mul(w)
          .sum(),
      )([xg, h0, c0, Wh])
      .map((t) => t.dataSync());
    return { y, gr };
  };
  const a = run(lstmSequence);
  const b = run((x, h, c, W) => cellSequence('lstm', W, x, { h, c }));
  for (let i = 0; i < a.y.length; i++) assert.ok(Math.abs(a.y[i]! - b.y[i]!) < 1e-5, `h[${i}]`);
  ['xg', 'h0', 'c0', 'Wh'].forEach((name, k) => {
    for (let i = 0; i < a.gr[k]!.length; i++)
      assert.ok(Math.abs(a.gr[k]![i]! - b.gr[k]![i]!) < 1e-4, `d${name}[${i}]: ${a.gr[k]![i]} vs ${b.gr[k]![i]}`);
  });
  tf.dispose([xg, h0, c0, Wh, w]);
});
