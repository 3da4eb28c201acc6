// Training parity with PyTorch 1.13, step for step (test/fixtures/torch-transformer-steps.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { tf, initTf } from '../../lib/runtime/tf';
import { zooModel } from '../../lib/models/registry';
import { createOptimizer } from '../../lib/train/optimizers';
import { TorchGenerator } from '../../lib/random/torch-generator';

process.env.SEQUENTIA_QUIET_BACKEND = '1';
const ROOT = path.resolve(__dirname, '..', '..');

test('transformer training tracks PyTorch step for step (same weights, same batches, AdamW)', async () => {
  await initTf();
  // test/fixtures/torch-transformer-steps.json: written by scripts/torch/parity.py with PyTorch 1.13
  const fx = JSON.parse(
    fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'torch-transformer-steps.json'), 'utf8'),
  ) as {
    config: { vocabSize: number; blockSize: number; nEmbd: number; nEmbd2: number; nLayer: number; nHead: number };
    batch: number;
    lr: number;
    weights: Record<string, number[]>;
    shapes: Record<string, number[]>;
    batches: { X: number[]; Y: number[] }[];
    losses: number[];
  };
  const model = zooModel('transformer', fx.config, new TorchGenerator(0));
  // torch name → ours; Linear weights are [out, in] in torch, [in, out] here
  const ours = (name: string): [string, boolean] => {
    const m = /^h\.(\d+)\.(ln_1|ln_2|c_attn|c_proj|c_fc|mlp_proj)\.(weight|bias)$/.exec(name);
    if (m) {
      const part = { ln_1: 'ln1', ln_2: 'ln2', c_attn: 'attn', c_proj: 'attnproj', c_fc: 'fc', mlp_proj: 'proj' }[
        m[2] as 'ln_1'
      ];
      const ln = m[2]!.startsWith('ln');
      return [
        `h${m[1]}.${part}.${ln ? (m[3] === 'weight' ? 'g' : 'b') : m[3] === 'weight' ? 'W' : 'b'}`,
        !ln && m[3] === 'weight',
      ];
    }
    const fixed: Record<string, [string, boolean]> = {
      'wte.weight': ['wte', false],
      'wpe.weight': ['wpe', false],
      'ln_f.weight': ['lnf.g', false],
      'ln_f.bias': ['lnf.b', false],
      'lm_head.weight': ['head.W', true],
    };
    if (!fixed[name]) throw new Error(`unmapped torch weight ${name}`);
    return fixed[name]!;
  };
  const weights: Record<string, tf.Tensor> = {};
  for (const [name, values] of Object.entries(fx.weights)) {
    const [key, transpose] = ours(name);
    const t = tf.tensor(values, fx.shapes[name]);
    weights[key] = transpose ? t.transpose() : t;
  }
  assert.equal(Object.keys(weights).length, Object.keys(model.namedWeights()).length);
  model.loadWeights(weights);
  const opt = createOptimizer('adamw', fx.lr, { beta2: 0.99, weightDecay: 0.01 });
  const [B, T] = [fx.batch, fx.config.blockSize];
  let worst = 0;
  fx.batches.forEach((b, i) => {
    const loss = opt.minimize(
      () => model.forward(tf.tensor2d(b.X, [B, T], 'int32'), tf.tensor2d(b.Y, [B, T], 'int32')).loss as tf.Scalar,
      true,
      model.params(),
    )!;
    worst = Math.max(worst, Math.abs(loss.dataSync()[0]! - fx.losses[i]!));
    loss.dispose();
  });
  assert.ok(worst < 2e-5, `largest |loss − torch loss| over ${fx.losses.length} steps: ${worst}`);
  assert.ok(fx.losses[0]! - fx.losses[fx.losses.length - 1]! > 0.5); // the run really trains
  tf.dispose(Object.values(weights));
  opt.dispose();
  model.dispose();
});
