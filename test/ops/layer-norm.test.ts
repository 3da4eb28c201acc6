// lib/ops/layer-norm: the fused op against its op-by-op reference, values and gradients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { layerNorm, layerNormReference } from '../../lib/ops/layer-norm';
import { TorchGenerator } from '../../lib/random/torch-generator';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

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
