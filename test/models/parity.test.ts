// Training parity with PyTorch 1.13, step for step (test/fixtures/torch-transformer-steps.json), and
// nanoGPT's GPT against scripts/torch/nanogpt.py (test/fixtures/torch-gpt-steps.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { tf, initTf } from '../../lib/runtime/tf';
import { zooModel } from '../../lib/models/registry';
import { createOptimizer, type Adam } from '../../lib/train/optimizers';
import { GPT } from '../../lib/models/gpt';
import { FusedStep } from '../../lib/fused/step';
import { TorchGenerator } from '../../lib/random/torch-generator';
import { relDiff } from '../helpers/rel-diff';

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

interface GPTFixture {
  config: {
    vocab_size: number;
    block_size: number;
    n_layer: number;
    n_head: number;
    n_embd: number;
    bias: boolean;
    qkv_bias?: boolean;
    head_bias?: boolean;
    activation: 'gelu' | 'relu';
    tie: boolean;
  };
  weights: Record<string, number[]>;
  shapes: Record<string, number[]>;
  logits: number[];
  batches: { X: number[]; Y: number[] }[];
  losses: number[];
  after: Record<string, number[]>;
}

test("nanoGPT's GPT matches PyTorch's (scripts/torch/nanogpt.py): same weights → logits, loss, and AdamW steps with clipping", async () => {
  await initTf();
  // test/fixtures/torch-gpt-steps.json: written by scripts/torch/gpt_parity.py with PyTorch 1.13
  const fx = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'torch-gpt-steps.json'), 'utf8')) as {
    batch: number;
    lr: number;
    clip: number;
    models: Record<string, GPTFixture>;
  };
  for (const [label, m] of Object.entries(fx.models)) {
    const c = m.config;
    const model = new GPT(
      {
        vocabSize: c.vocab_size,
        blockSize: c.block_size,
        nLayer: c.n_layer,
        nHead: c.n_head,
        nEmbd: c.n_embd,
        dropout: 0,
        bias: c.bias,
        ...(c.qkv_bias !== undefined ? { qkvBias: c.qkv_bias } : {}),
        ...(c.head_bias !== undefined ? { headBias: c.head_bias } : {}),
        activation: c.activation,
        tieWeights: c.tie,
        init: 'nanogpt',
      },
      new TorchGenerator(0),
    );
    // by nanoGPT's names: PyTorch's named_parameters() lists a tied table once, as our namedWeights()
    const sd = model.stateDict();
    assert.deepEqual(Object.keys(m.weights).sort(), Object.keys(model.namedWeights()).sort(), label);
    const byName = (name: string, values: number[]) => {
      const { transposed } = sd[name]!;
      const t = tf.tensor(values, m.shapes[name]);
      if (!transposed) return t;
      const u = t.transpose();
      t.dispose();
      return u;
    };
    const init = Object.fromEntries(Object.entries(m.weights).map(([k, v]) => [k, byName(k, v)]));
    model.loadWeights(init);
    tf.dispose(Object.values(init));
    const [B, T] = [fx.batch, c.block_size];
    const batch = (i: number) => ({
      X: Int32Array.from(m.batches[i]!.X),
      Y: Int32Array.from(m.batches[i]!.Y),
      rows: B,
    });
    const logits = tf.tidy(() => model.forward(tf.tensor2d(m.batches[0]!.X, [B, T], 'int32')).logits.dataSync());
    assert.ok(relDiff(logits, m.logits) <= 1e-5, `${label}: logits ${relDiff(logits, m.logits)}`);
    // train as npm run gpt does: the fused step, AdamW decaying ≥2-D weights, gradients clipped
    const opt = createOptimizer('adamw', fx.lr, { beta2: 0.99, weightDecay: 0.1, noDecay: model.noDecay() }) as Adam;
    const step = FusedStep.for(model)!;
    const losses = m.losses.map((_, i) => {
      const loss = step.step(batch(i), opt, fx.lr, { clip: fx.clip });
      if (i === 0)
        for (const [name, want] of Object.entries(m.after)) {
          const { variable, transposed } = sd[name]!;
          const got = tf.tidy(() => (transposed ? variable.transpose() : variable).dataSync());
          const d = relDiff(got, want);
          assert.ok(d <= 1e-5, `${label}: ${name} after one AdamW step: relative difference ${d.toExponential(2)}`);
        }
      return loss;
    });
    losses.forEach((l, i) =>
      assert.ok(Math.abs(l - m.losses[i]!) <= 1e-5 * m.losses[i]!, `${label} step ${i}: loss ${l} vs ${m.losses[i]}`),
    );
    step.release();
    opt.dispose();
    model.dispose();
  }
});
