import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf, initTf } from '../lib/tf';
import { createModel, DEFAULT_CONFIG, MODEL_TYPES } from '../lib/models/makemore';
import { RecurrentLM } from '../lib/models/recurrent';
import { DataParallel } from '../lib/parallel';
import { createOptimizer } from '../lib/optim';
import {
  causalSelfAttention,
  attentionReference,
  gelu,
  geluReference,
  layerNorm,
  layerNormReference,
  lstmSequence,
  lstmSequenceReference,
  rnnSequence,
  gruSequence,
  recurrenceReference,
} from '../lib/models/fused';
import { saveWeights, loadWeights } from '../lib/io';
import { generate, generateText } from '../lib/generate';
import { loadMysteriousIsland, loadCorpus } from '../lib/text';
import { buildSequences } from '../lib/dataset';
import { Vocab } from '../lib/data';
import { TorchGenerator } from '../lib/random';

process.env.SEQUENTIA_QUIET_BACKEND = '1';
const config = { ...DEFAULT_CONFIG, vocabSize: 27, blockSize: 16 };
const ROOT = path.resolve(__dirname, '..');

test('the zoo at makemore defaults has makemore’s parameter counts', async () => {
  await initTf();
  const want: Record<string, number> = {
    bigram: 729,
    mlp: 69147,
    rnn: 11803,
    gru: 28315,
    bow: 12827,
    transformer: 204544,
    lstm: 36571,
  };
  for (const type of MODEL_TYPES) {
    const m = createModel(type, config, new TorchGenerator(1));
    assert.equal(m.numParams(), want[type], type);
    m.dispose();
  }
  assert.throws(() => createModel('cnn', config, new TorchGenerator(1)), /unknown model type 'cnn'/);
});

test('every model: logits [B, T, V], ln 27-ish loss at init, padding ignored, causal (no peeking ahead)', async () => {
  await initTf();
  const seq = buildSequences(['emma', 'olivia'], Vocab.fromWords(['abcdefghijklmnopqrstuvwxyz']), 16);
  for (const type of MODEL_TYPES) {
    const m = createModel(type, config, new TorchGenerator(3));
    tf.tidy(() => {
      const X = tf.tensor2d(seq.X, [2, 16], 'int32');
      const Y = tf.tensor2d(seq.Y, [2, 16], 'int32');
      const { logits, loss } = m.forward(X, Y);
      assert.deepEqual(logits.shape, [2, 16, 27], type);
      assert.ok(Number.isFinite(loss!.dataSync()[0]!), type);
      // changing a later token must not change earlier logits
      const X2 = X.arraySync() as number[][];
      X2[0]![10] = 7;
      const l2 = m.forward(tf.tensor2d(X2, [2, 16], 'int32')).logits;
      const a = logits.slice([0, 0, 0], [1, 10, 27]).dataSync();
      const b = l2.slice([0, 0, 0], [1, 10, 27]).dataSync();
      assert.ok(
        a.every((v, i) => Math.abs(v - b[i]!) < 1e-5),
        `${type} looks ahead`,
      );
    });
    m.dispose();
  }
});

test('save and load round trip gives identical logits (LSTM and transformer)', async () => {
  await initTf();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sequentia-io-'));
  for (const type of ['lstm', 'transformer']) {
    const m = createModel(type, config, new TorchGenerator(5));
    await saveWeights(path.join(dir, type), { sequentia: 1, type, config, itos: [], boundary: '.' }, m.namedWeights());
    const saved = await loadWeights<typeof config>(path.join(dir, type));
    const m2 = createModel(saved.topology.type, saved.topology.config, new TorchGenerator(99));
    m2.loadWeights(saved.weights);
    tf.dispose(Object.values(saved.weights));
    const x = tf.tensor2d(new TorchGenerator(1).randint(0, 27, 32), [2, 16], 'int32');
    const a = m.forward(x).logits.dataSync();
    const b = m2.forward(x).logits.dataSync();
    assert.ok(
      a.every((v, i) => v === b[i]),
      `${type} differs after reload`,
    );
    m.dispose();
    m2.dispose();
  }
  await assert.rejects(() => loadWeights(path.join(dir, 'nothing')), /no saved model/);
});

test('The Mysterious Island: 1,112,350 characters, 80 distinct; generation checks its input', async () => {
  await initTf();
  const c = loadMysteriousIsland();
  assert.equal(c.text.length, 1112350);
  assert.equal(c.vocab.size, 80);
  assert.ok(c.text.startsWith('THE MYSTERIOUS ISLAND'));
  const m = new RecurrentLM(
    { cell: 'lstm', vocabSize: 80, blockSize: 40, nEmbd: 8, nHidden: 16 },
    new TorchGenerator(1),
  );
  const out = generateText(m, c.vocab, 'The island', 20, new TorchGenerator(1), { temperature: 0.5 });
  assert.equal(out.length, 30);
  assert.equal(
    out,
    generateText(m, c.vocab, 'The island', 20, new TorchGenerator(1), { temperature: 0.5 }),
    'same seed, same text',
  );
  assert.throws(
    () => generateText(m, c.vocab, 'The ísland', 5, new TorchGenerator(1)),
    /'í' \(U\+00ED\) at position 4/,
  );
  assert.throws(
    () => generateText(m, c.vocab, 'The', 5, new TorchGenerator(1), { temperature: 0 }),
    /temperature must be > 0/,
  );
  assert.throws(() => generateText(m, c.vocab, '', 5, new TorchGenerator(1)), /seed string is empty/);
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'seq-')), 'e.txt');
  fs.writeFileSync(tmp, '   \n');
  assert.throws(() => loadCorpus(tmp), /empty/);
  const rows = generate(createModel('bigram', config, new TorchGenerator(1)), 16, 3, 5, new TorchGenerator(1));
  assert.equal(rows.length, 3);
  m.dispose();
});

test('makemore CLI: trains, checkpoints, samples with tags, rejects bad flags', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sequentia-mm-'));
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'makemore.ts'), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, SEQUENTIA_QUIET_BACKEND: '1' },
    });
  const r = run('--type', 'bow', '--work-dir', work, '--max-steps', '60', '--eval-every', '30', '--num-samples', '4');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /model bow: 12,827 parameters/);
  assert.match(r.stdout, /samples that are new:/);
  assert.match(r.stdout, /step 60 train loss \d\.\d{4} test loss \d\.\d{4}/);
  for (const f of [
    'latest/model/model.json',
    'latest/model/weights.bin',
    'best/model/model.json',
    'log.jsonl',
    'log.csv',
    'loss.html',
  ])
    assert.ok(fs.existsSync(path.join(work, f)), f);
  assert.equal(fs.readFileSync(path.join(work, 'log.jsonl'), 'utf8').trim().split('\n').length, 2);
  const s = run('--work-dir', work, '--sample-only', '--num-samples', '3');
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stdout, /loaded bow/);
  // resume to step 90 (--max-steps is the total): the AdamW moments come back; two threads share the batch
  const res = run(
    '--work-dir',
    work,
    '--resume',
    '--max-steps',
    '90',
    '--eval-every',
    '30',
    '--num-samples',
    '0',
    '--workers',
    '2',
  );
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /loaded bow from .* \(step 60,.*AdamW step 60\)/);
  assert.match(res.stdout, /step 90 train loss/);
  assert.equal(fs.readFileSync(path.join(work, 'log.jsonl'), 'utf8').trim().split('\n').length, 3);
  const bad3 = run('--workers', '3');
  assert.equal(bad3.status, 2);
  assert.match(bad3.stderr, /--workers must be 1 or 2/);
  const bad = run('--type', 'cnn');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown model type 'cnn'/);
  const bad2 = run('--batch-size', '0');
  assert.equal(bad2.status, 2);
  const missing = run('--input', 'no/such/file.txt', '--max-steps', '1');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /data file not found/);
});

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

test("data parallel: two threads give the full batch's loss and gradients (padding-weighted halves)", async () => {
  await initTf();
  const config = { ...DEFAULT_CONFIG, vocabSize: 27, blockSize: 8 };
  for (const type of ['transformer', 'gru'] as const) {
    const model = createModel(type, config, new TorchGenerator(4));
    const B = 6;
    const T = 8;
    const X = Int32Array.from({ length: B * T }, (_, i) => (i * 7) % 27);
    // uneven padding: the halves score different numbers of tokens, so a plain average would be wrong
    const Y = Int32Array.from({ length: B * T }, (_, i) => (i % T > (i < 3 * T ? 6 : 2) ? -1 : (i * 5) % 27));
    const dp = await DataParallel.start({ type, config }, model, B);
    try {
      const before = tf.memory().numTensors;
      const one = tf.variableGrads(
        () => model.forward(tf.tensor2d(X, [B, T], 'int32'), tf.tensor2d(Y, [B, T], 'int32')).loss as tf.Scalar,
        model.params(),
      );
      const two = dp.gradients(X, Y, B);
      assert.ok(Math.abs(one.value.dataSync()[0]! - two.loss.dataSync()[0]!) < 1e-5);
      for (const v of model.params()) {
        const a = one.grads[v.name]!.dataSync();
        const b = two.grads[v.name]!.dataSync();
        for (let i = 0; i < a.length; i++)
          assert.ok(Math.abs(a[i]! - b[i]!) < 1e-5, `${type} ${v.name}[${i}]: ${a[i]} vs ${b[i]}`);
      }
      tf.dispose([one.value, two.loss, ...Object.values(one.grads), ...Object.values(two.grads)]);
      assert.equal(tf.memory().numTensors, before);
    } finally {
      await dp.close();
      model.dispose();
    }
  }
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
  const model = createModel('transformer', fx.config, new TorchGenerator(0));
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
