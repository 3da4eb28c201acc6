// lib/models/gpt.ts: nanoGPT's GPT from lib/nn's layers. Parameter counts nanoGPT and the lecture
// report; nanoGPT's state_dict names; the fused step's loss and gradients equal the ops' for each option
// (tied head, no biases, exact GELU, ReLU, the lecture's biases); clipped AdamW steps fused = ops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { GPT } from '../../lib/models/gpt';
import { gptNonEmbeddingParams, gptParamCount, LECTURE_GPT, NANOGPT_CPU } from '../../lib/models/gpt-config';
import type { GPTConfig } from '../../lib/models/configs';
import { FusedStep } from '../../lib/fused/step';
import { batchTensors, type Batch } from '../../lib/data/batches';
import { TorchGenerator } from '../../lib/random/torch-generator';
import { createOptimizer, type Adam } from '../../lib/train/optimizers';
import { train } from '../../lib/train/loop';
import { relDiff } from '../helpers/rel-diff';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

function sequences(rows: number, T: number, V: number, seed: number): Batch {
  const g = new TorchGenerator(seed);
  return {
    X: Int32Array.from(g.randint(0, V, rows * T)),
    Y: Int32Array.from(g.randint(0, V, rows * T)),
    rows,
  };
}

test("parameter counts: nanoGPT's CPU recipe 804,096 (0.80M without wpe, as it prints), the lecture's gpt.py 10,788,929", async () => {
  await initTf();
  const cpu = new GPT(NANOGPT_CPU, new TorchGenerator(1));
  assert.equal(cpu.numParams(), 804_096);
  assert.equal(gptParamCount(NANOGPT_CPU), 804_096);
  // nanoGPT's get_num_params(non_embedding=True) leaves out wpe (64 × 128): "number of parameters: 0.80M"
  assert.equal(gptNonEmbeddingParams(NANOGPT_CPU), 795_904);
  cpu.dispose();
  const lecture = new GPT(LECTURE_GPT, new TorchGenerator(1));
  // gpt.py prints sum(p.numel() for p in m.parameters())/1e6 → 10.788929 M
  assert.equal(lecture.numParams(), 10_788_929);
  assert.equal(gptParamCount(LECTURE_GPT), 10_788_929);
  lecture.dispose();
});

test("weights are named as nanoGPT's state_dict names them; a tied head is the token table", async () => {
  await initTf();
  const m = new GPT(NANOGPT_CPU, new TorchGenerator(1));
  const sd = m.stateDict();
  const names = Object.keys(sd);
  assert.deepEqual(names.slice(0, 8), [
    'transformer.wte.weight',
    'transformer.wpe.weight',
    'transformer.h.0.ln_1.weight',
    'transformer.h.0.attn.c_attn.weight',
    'transformer.h.0.attn.c_proj.weight',
    'transformer.h.0.ln_2.weight',
    'transformer.h.0.mlp.c_fc.weight',
    'transformer.h.0.mlp.c_proj.weight',
  ]);
  assert.deepEqual(names.slice(-2), ['transformer.ln_f.weight', 'lm_head.weight']);
  assert.equal(names.length, 2 + 4 * 6 + 2); // bias False: no biases anywhere
  assert.equal(sd['lm_head.weight']!.variable, m.wte);
  assert.deepEqual(sd['transformer.h.3.attn.c_attn.weight']!.variable.shape, [128, 384]);
  assert.equal(sd['transformer.h.3.attn.c_attn.weight']!.transposed, true);
  // namedWeights: each variable once, under the same names (a checkpoint has no second copy of wte)
  assert.deepEqual(Object.keys(m.namedWeights()), names.slice(0, -1));
  // nanoGPT decays every ≥2-D parameter: with bias False, only the LayerNorm gains are left alone
  assert.equal(m.noDecay().size, 4 * 2 + 1);
  // the residual projections start smaller: N(0, 0.02/√8)
  const std = (v: tf.Variable) => Math.sqrt(tf.tidy(() => v.square().mean().dataSync()[0]!));
  assert.ok(Math.abs(std(m.blocks[0]!.attnProj.W) / (0.02 / Math.sqrt(8)) - 1) < 0.03);
  assert.ok(Math.abs(std(m.blocks[0]!.fc.W) / 0.02 - 1) < 0.03);
  m.dispose();
  const lecture = new GPT({ ...LECTURE_GPT, blockSize: 8, nLayer: 1 }, new TorchGenerator(1));
  const lnames = Object.keys(lecture.stateDict());
  assert.ok(lnames.includes('lm_head.bias') && lnames.includes('transformer.h.0.attn.c_proj.bias'));
  assert.ok(!lnames.includes('transformer.h.0.attn.c_attn.bias'), "the lecture's key, query, value have no bias");
  lecture.dispose();
});

/** The ops' loss and gradients, and the fused step's, for `m` on `b`: losses 1e-6, gradients 3e-6 (relative). */
function assertSameGradients(m: GPT, b: Batch, label: string): void {
  const fused = FusedStep.for(m);
  assert.ok(fused, `${label}: a fused step`);
  const ops = tf.tidy(() => {
    const { X, Y } = batchTensors(b, 'sequence');
    const { value, grads } = tf.variableGrads(() => m.loss(X, Y, { training: true }), m.params());
    return {
      loss: value.dataSync()[0]!,
      grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.dataSync() as Float32Array])),
    };
  });
  const got = fused.gradients(b);
  const evaluated = fused.loss(b); // forward only (the CLI's evaluations)
  assert.ok(Math.abs(evaluated - ops.loss) <= 1e-6 * ops.loss, `${label}: forward-only loss ${evaluated}`);
  assert.ok(Math.abs(got.loss - ops.loss) <= 1e-6 * ops.loss, `${label}: loss ${got.loss} vs ops ${ops.loss}`);
  for (const [name, v] of Object.entries(m.namedWeights())) {
    const d = relDiff(got.grads[v.name]!, ops.grads[v.name]!);
    assert.ok(d <= 3e-6, `${label} gradient ${name}: relative difference ${d.toExponential(2)}`);
  }
}

const SMALL: GPTConfig = { ...NANOGPT_CPU, vocabSize: 27, blockSize: 16, nLayer: 2, nHead: 4, nEmbd: 32 };

test('the fused step computes the ops’ loss and gradients: tied head (both uses summed), no biases, exact GELU; ReLU with the lecture’s biases; GELU’s tanh form', async () => {
  await initTf();
  const cases: [string, GPTConfig][] = [
    ['nanoGPT (tied, bias False, exact GELU)', SMALL],
    ['nanoGPT bias True', { ...SMALL, bias: true }],
    [
      'the lecture (ReLU, untied, head bias)',
      { ...SMALL, activation: 'relu', tieWeights: false, bias: true, qkvBias: false, headBias: true },
    ],
    ['GELU tanh form, PyTorch init', { ...SMALL, activation: 'gelu-tanh', init: 'torch' }],
  ];
  for (const [label, c] of cases) {
    const m = new GPT(c, new TorchGenerator(7));
    assertSameGradients(m, sequences(8, 16, 27, 1), label);
    assertSameGradients(m, sequences(3, 9, 27, 2), `${label}, T 9 < block 16`);
    m.dispose();
  }
  const dropping = new GPT({ ...SMALL, dropout: 0.1 }, new TorchGenerator(7));
  assert.equal(FusedStep.for(dropping), null, 'with dropout the ops train it');
  dropping.dispose();
});

test('clipped AdamW steps: the fused step (clip in its frame) tracks the ops (clip_grad_norm_) to 1e-5', async () => {
  await initTf();
  const batches = Array.from({ length: 4 }, (_, s) => sequences(8, 16, 27, 100 + s));
  const run = async (fused: boolean, gradClip = 0.5) => {
    const m = new GPT(SMALL, new TorchGenerator(3));
    const opt = createOptimizer('adamw', 3e-3, { beta2: 0.99, weightDecay: 0.1, noDecay: m.noDecay() }) as Adam;
    const common = { steps: 4, optimizer: opt, learningRate: 3e-3, gradClip, progressMs: 0 };
    const r = fused
      ? await train({ ...common, fusedStep: FusedStep.for(m)!, batch: (i) => batches[i]! })
      : await train({ ...common, model: m, batch: (i) => batches[i]!, fused: false });
    assert.equal(r.fused, fused);
    const w = Object.fromEntries(Object.entries(m.namedWeights()).map(([k, v]) => [k, v.dataSync().slice()]));
    m.dispose();
    opt.dispose();
    return { losses: r.losses, w };
  };
  const ops = await run(false);
  const fused = await run(true);
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(fused.losses[i]! - ops.losses[i]!) <= 1e-5 * ops.losses[i]!);
  for (const [k, a] of Object.entries(ops.w)) {
    const d = relDiff(fused.w[k]!, a);
    assert.ok(d <= 1e-5, `${k}: ${d.toExponential(2)}`);
  }
  // the clip acts (else this would test nothing): a clip far above the norm trains otherwise
  const unclipped = await run(true, 1e6);
  assert.ok(relDiff(unclipped.w['transformer.wte.weight']!, fused.w['transformer.wte.weight']!) > 1e-4);
});
