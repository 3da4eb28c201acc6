// lib/ops/attention: the fused op against its op-by-op reference, values and gradients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { causalSelfAttention, attentionReference } from '../../lib/ops/attention';
import { TorchGenerator } from '../../lib/random/torch-generator';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

// head sizes 4, 32 (the CPU recipe's), 10 (a tail past the last 4 columns) and 64; rows up to the kernel's 64
for (const [B, T, E, heads] of [
  [3, 7, 12, 3],
  [2, 64, 128, 4],
  [2, 33, 30, 3],
  [1, 64, 64, 1],
] as [number, number, number, number][])
  test(`fused causal attention equals the op-by-op formula: values and gradients (B ${B}, T ${T}, ${heads} heads of ${E / heads})`, async () => {
    await initTf();
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
    const hs = E / heads;
    for (let h = 0; h < heads; h++)
      for (let c = 0; c < hs; c++) assert.ok(Math.abs(ya[h * hs + c]! - qkv.dataSync()[2 * E + h * hs + c]!) < 1e-6);
    tf.dispose([qkv, w]);
  });
