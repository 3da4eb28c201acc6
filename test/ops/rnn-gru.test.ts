// lib/ops/rnn and lib/ops/gru: hand-written BPTT against the step-by-step reference (lib/nn/recurrent.ts's cell).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { rnnSequence } from '../../lib/ops/rnn';
import { gruSequence } from '../../lib/ops/gru';
import { cellSequence } from '../../lib/nn/recurrent';
import { TorchGenerator } from '../../lib/random/torch-generator';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

test('fused RNN and GRU recurrences equal the step-by-step ops: values and all three gradients', async () => {
  await initTf();
  const [T, B, H] = [5, 3, 8];
  for (const [cell, f, G] of [
    ['rnn', rnnSequence, 1],
    ['gru', gruSequence, 3],
  ] as const) {
    const g = new TorchGenerator(12);
    const xg = tf.tensor3d(g.randn(T * B * G * H), [T, B, G * H]);
    const h0 = tf.tensor2d(g.randn(B * H), [B, H]).mul(0.5) as tf.Tensor2D;
    const Wh = tf.tensor2d(g.randn(H * G * H), [H, G * H]).mul(0.3) as tf.Tensor2D;
    const w = tf.tensor3d(g.randn(T * B * H), [T, B, H]);
    const ref = (a: tf.Tensor3D, b: tf.Tensor2D, c: tf.Tensor2D) => cellSequence(cell, c, a, { h: b });
    const run = (fn: typeof rnnSequence) => ({
      y: fn(xg, h0, Wh).dataSync(),
      gr: tf
        .grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          fn(a as tf.Tensor3D, b as tf.Tensor2D, c as tf.Tensor2D)
            .mul(w)
            .sum(),
        )([xg, h0, Wh])
        .map((t) => t.dataSync()),
    });
    const a = run(f);
    const b = run(ref);
    for (let i = 0; i < a.y.length; i++) assert.ok(Math.abs(a.y[i]! - b.y[i]!) < 1e-5, `${cell} h[${i}]`);
    ['xg', 'h0', 'Wh'].forEach((name, k) => {
      for (let i = 0; i < a.gr[k]!.length; i++)
        assert.ok(
          Math.abs(a.gr[k]![i]! - b.gr[k]![i]!) < 1e-4,
          `${cell} d${name}[${i}]: ${a.gr[k]![i]} vs ${b.gr[k]![i]}`,
        );
    });
    tf.dispose([xg, h0, Wh, w]);
  }
});
