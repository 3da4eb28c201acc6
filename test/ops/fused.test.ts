// lib/models/fused: every hand-written forward and backward against its op-by-op reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { causalSelfAttention, attentionReference } from '../../lib/ops/attention';
import { gelu, geluReference } from '../../lib/ops/gelu';
import { layerNorm, layerNormReference } from '../../lib/ops/layer-norm';
import { lstmSequence, lstmSequenceReference } from '../../lib/ops/lstm';
import { rnnSequence } from '../../lib/ops/rnn';
import { gruSequence } from '../../lib/ops/gru';
import { recurrenceReference } from '../../lib/ops/recurrence-reference';
import { TorchGenerator } from '../../lib/random/torch-generator';

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

test('fused causal attention equals the op-by-op formula: values and gradients', async () => {
  await initTf();
  const [B, T, E, heads] = [3, 7, 12, 3];
  const g = new TorchGenerator(5);
  const qkv = tf.tensor3d(g.randn(B * T * 3 * E), [B, T, 3 * E]);
  const w = tf.tensor3d(g.randn(B * T * E), [B, T, E]); // a random upstream gradient
  const loss = (f: typeof causalSelfAttention) => (x: tf.Tensor) =>
    f(x as tf.Tensor3D, heads)
      .mul(w)
      .sum();
  const [ya, yb] = [causalSelfAttention(qkv, heads).dataSync(), attentionReference(qkv, heads).dataSync()];
  const [ga, gb] = [
    tf.grad(loss(causalSelfAttention))(qkv).dataSync(),
    tf.grad(loss(attentionReference))(qkv).dataSync(),
  ];
  assert.equal(ya.length, B * T * E);
  let maxY = 0;
  let maxG = 0;
  for (let i = 0; i < ya.length; i++) maxY = Math.max(maxY, Math.abs(ya[i]! - yb[i]!));
  for (let i = 0; i < ga.length; i++) maxG = Math.max(maxG, Math.abs(ga[i]! - gb[i]!));
  assert.ok(maxY < 1e-5 && maxG < 1e-4, `max |Δy| ${maxY}, max |Δgrad| ${maxG}`);
  // causal: the first position attends only to itself, so its output is its own value vector
  for (let h = 0; h < heads; h++)
    for (let c = 0; c < E / heads; c++) assert.ok(Math.abs(ya[h * 4 + c]! - qkv.dataSync()[2 * E + h * 4 + c]!) < 1e-6);
  tf.dispose([qkv, w]);
});

test('fused layer norm equals the op-by-op formula: values and gradients for x, gain and bias', async () => {
  await initTf();
  const g = new TorchGenerator(9);
  const x = tf
    .tensor3d(g.randn(4 * 5 * 24), [4, 5, 24])
    .mul(3)
    .add(1) as tf.Tensor3D;
  const gain = tf.tensor1d(g.randn(24)).add(1) as tf.Tensor1D;
  const bias = tf.tensor1d(g.randn(24)) as tf.Tensor1D;
  const w = tf.tensor3d(g.randn(4 * 5 * 24), [4, 5, 24]);
  const grads = (f: typeof layerNorm) =>
    tf
      .grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        f(a, b as tf.Tensor1D, c as tf.Tensor1D)
          .mul(w)
          .sum(),
      )([x, gain, bias])
      .map((t) => t.dataSync());
  const [ya, yb] = [layerNorm(x, gain, bias).dataSync(), layerNormReference(x, gain, bias).dataSync()];
  for (let i = 0; i < ya.length; i++) assert.ok(Math.abs(ya[i]! - yb[i]!) < 1e-5, `y[${i}]`);
  const [ga, gb] = [grads(layerNorm), grads(layerNormReference)];
  for (let k = 0; k < 3; k++)
    for (let i = 0; i < ga[k]!.length; i++)
      assert.ok(
        Math.abs(ga[k]![i]! - gb[k]![i]!) < 1e-4,
        `grad ${['x', 'gain', 'bias'][k]}[${i}]: ${ga[k]![i]} vs ${gb[k]![i]}`,
      );
  // each normalised row has mean 0 and (biased) variance 1 before gain and bias
  const plain = Array.from(
    layerNorm(x, tf.ones([24]) as tf.Tensor1D, tf.zeros([24]) as tf.Tensor1D)
      .dataSync()
      .slice(0, 24),
  );
  const mean = plain.reduce((p, q) => p + q, 0) / 24;
  assert.ok(Math.abs(mean) < 1e-6 && Math.abs(plain.reduce((p, q) => p + q * q, 0) / 24 - 1) < 1e-3);
  tf.dispose([x, gain, bias, w]);
});

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
  const b = run(lstmSequenceReference);
  for (let i = 0; i < a.y.length; i++) assert.ok(Math.abs(a.y[i]! - b.y[i]!) < 1e-5, `h[${i}]`);
  ['xg', 'h0', 'c0', 'Wh'].forEach((name, k) => {
    for (let i = 0; i < a.gr[k]!.length; i++)
      assert.ok(Math.abs(a.gr[k]![i]! - b.gr[k]![i]!) < 1e-4, `d${name}[${i}]: ${a.gr[k]![i]} vs ${b.gr[k]![i]}`);
  });
  tf.dispose([xg, h0, c0, Wh, w]);
});

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
    const ref = (a: tf.Tensor3D, b: tf.Tensor2D, c: tf.Tensor2D) => recurrenceReference(cell, a, b, c);
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
