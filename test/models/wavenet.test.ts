// The WaveNet lecture's model (notebook 11): lib/models/presets' wavenet, a Sequential whose layers begin
// with their own Embedding and merge the 8-character window with FlattenConsecutive(2) three times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf, initTf } from '../../lib/runtime/tf';
import { WAVENET, wavenet } from '../../lib/models/presets';
import { Sequential } from '../../lib/models/lecture/sequential';
import { createModel, zooModel } from '../../lib/models/registry';
import { defaultConfig } from '../../lib/models/zoo/config';
import type { WaveNet } from '../../lib/models/zoo/wavenet';
import { Vocab } from '../../lib/data/vocab';
import { buildSequences, sequenceBlockSize } from '../../lib/data/sequences';
import { buildWindows } from '../../lib/data/windows';
import { BatchNorm1d, Embedding, FlattenConsecutive, Linear } from '../../lib/nn/layers';
import { lectureData } from '../../lib/data/setups';
import { minibatch } from '../../lib/data/batches';
import { train } from '../../lib/train/loop';
import { loadModel, saveModel } from '../../lib/train/saved-model';
import { generateWords } from '../../lib/sample/generate';
import { TorchGenerator } from '../../lib/random/torch-generator';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

const data = lectureData(8);

test('the lecture’s final WaveNet has 76,579 parameters, layer by layer', async () => {
  await initTf();
  const m = wavenet(new TorchGenerator(42));
  assert.equal(m.numParams(), 76_579);
  assert.deepEqual(
    m.layers.map((l) => `${l.spec?.kind}:${l.params().reduce((s, p) => s + p.size, 0)}`),
    [
      'Embedding:648', // 27 × 24
      'FlattenConsecutive:0',
      'Linear:6144', // 48 × 128, no bias
      'BatchNorm1d:256', // γ and β (the running statistics are buffers)
      'Tanh:0',
      'FlattenConsecutive:0',
      'Linear:32768', // 256 × 128
      'BatchNorm1d:256',
      'Tanh:0',
      'FlattenConsecutive:0',
      'Linear:32768',
      'BatchNorm1d:256',
      'Tanh:0',
      'Linear:3483', // 128 × 27 + 27
    ],
  );
  assert.equal(m.type, 'sequential');
  assert.equal(m.reads, 'window');
  assert.equal(m.blockSize, 8);
  assert.equal(m.C, null, 'the embedding is a layer, not the model’s own table');
  assert.equal(Object.keys(m.namedWeights())[0], '0.weight');
  // the lecture's 22k-parameter versions: flat (context 8) and hierarchical
  const flat = wavenet(new TorchGenerator(1), { ...WAVENET, nEmbd: 10, nHidden: 200, merge: [8] });
  const tree = wavenet(new TorchGenerator(1), { ...WAVENET, nEmbd: 10, nHidden: 68 });
  assert.deepEqual([flat.numParams(), tree.numParams()], [22_097, 22_397]);
  assert.throws(() => wavenet(new TorchGenerator(1), { ...WAVENET, merge: [2, 2] }), /does not take 8 characters/);
  for (const x of [m, flat, tree]) x.dispose();
});

test('weights are drawn in layer order (Kaiming gain 1, last layer ×0.1) and the first loss is near ln 27', async () => {
  await initTf();
  const m = wavenet(new TorchGenerator(42));
  // torch.manual_seed(42): C = randn(27, 24), then each Linear's randn(fanIn, fanOut) / √fanIn in turn
  const g = new TorchGenerator(42);
  const C = g.randn([27, 24]);
  const W1 = g.randn([48, 128]);
  assert.deepEqual(Array.from((m.layers[0] as Embedding).weight.dataSync()), Array.from(C));
  const w1 = (m.layers[2] as Linear).W.dataSync();
  assert.ok(Math.abs((w1[5] as number) - (W1[5] as number) / Math.sqrt(48)) < 1e-7);
  g.randn([256, 128]);
  g.randn([256, 128]);
  const Wout = g.randn([128, 27]);
  const last = m.layers[13] as Linear;
  assert.ok(Math.abs((last.W.dataSync()[9] as number) - ((Wout[9] as number) * 0.1) / Math.sqrt(128)) < 1e-7);
  assert.deepEqual(Array.from(new Set((last.b as tf.Variable).dataSync())), [0]);
  const b = minibatch(data.windows.train, new TorchGenerator(5), 1000);
  const loss = tf.tidy(() => m.loss(b.X, b.Y, { training: true }).dataSync()[0] as number);
  assert.ok(Math.abs(loss - Math.log(27)) < 0.05, `first loss ${loss}, ln 27 = ${Math.log(27)}`);
  tf.dispose([b.X, b.Y]);
  m.dispose();
});

test('forward: [B, 8] ids → [B, 27] logits through [B, 4, ·], [B, 2, ·], [B, ·]; one context alone in evaluation', async () => {
  await initTf();
  const m = wavenet(new TorchGenerator(3));
  const X = tf.tensor2d(Array.from(new TorchGenerator(4).randint(0, 27, 5 * 8)), [5, 8], 'int32');
  const kept: tf.Tensor[] = [];
  const shape = tf.tidy(() => m.forward(X, undefined, { training: true, keep: kept }).logits.shape);
  assert.deepEqual(shape, [5, 27]);
  assert.deepEqual(
    kept.map((t) => t.shape),
    [
      [5, 8, 24],
      [5, 4, 48],
      [5, 4, 128],
      [5, 4, 128],
      [5, 4, 128],
      [5, 2, 256],
      [5, 2, 128],
      [5, 2, 128],
      [5, 2, 128],
      [5, 256],
      [5, 128],
      [5, 128],
      [5, 128],
      [5, 27],
    ],
  );
  tf.dispose(kept);
  // evaluation (running statistics): each row's logits do not depend on the rest of the batch
  const all = tf.tidy(() => m.forward(X).logits.arraySync() as number[][]);
  const one = tf.tidy(() => m.forward(X.slice([2, 0], [1, 8]) as tf.Tensor2D).logits.arraySync() as number[][]);
  assert.deepEqual(
    one[0]?.map((v) => v.toFixed(5)),
    all[2]?.map((v) => v.toFixed(5)),
  );
  // a stack that leaves the time axis in place is refused, and the first layer must be the embedding
  const g = new TorchGenerator(1);
  const unflattened = Sequential.of(27, 8, [new Embedding(g, 27, 4), new Linear(g, 4, 27)]);
  assert.throws(() => unflattened.forward(X), /gave \[5,8,27\], not logits \[B, V\]/);
  unflattened.dispose();
  assert.throws(() => Sequential.of(27, 8, [new FlattenConsecutive(8)]), /first layer must be an Embedding\(27/);
  X.dispose();
  m.dispose();
});

test('a short training run lowers the loss, the tensor count stays flat, BatchNorm keeps [C] running statistics', async () => {
  await initTf();
  const before = tf.memory().numTensors;
  const g = new TorchGenerator(42);
  const m = wavenet(g, { ...WAVENET, nEmbd: 10, nHidden: 32 });
  const probe = minibatch(data.windows.dev, new TorchGenerator(6), 2000);
  const evalLoss = () => tf.tidy(() => m.loss(probe.X, probe.Y).dataSync()[0] as number);
  const start = evalLoss();
  const counts: number[] = [];
  const run = await train({
    steps: 300,
    params: m.params(),
    learningRate: 0.1,
    progressMs: 0,
    loss: () => {
      const b = minibatch(data.windows.train, g, 32);
      return m.loss(b.X, b.Y, { training: true });
    },
    onStep: () => {
      counts.push(tf.memory().numTensors);
    },
  });
  const end = evalLoss();
  assert.ok(start > 3.2 && end < 2.75, `dev-batch loss ${start} → ${end}`);
  assert.ok((run.losses[299] as number) < (run.losses[0] as number));
  assert.equal(Math.max(...counts), Math.min(...counts), 'tensor count moved during training');
  for (const l of m.layers)
    if (l instanceof BatchNorm1d) {
      assert.deepEqual(l.runningMean.shape, [32]);
      assert.deepEqual(l.runningVar.shape, [32]);
      assert.ok(
        l.runningMean.dataSync().some((v) => Math.abs(v) > 1e-3),
        'running mean moved',
      );
    }
  const words = generateWords(m, data.vocab, new TorchGenerator(7), { count: 5 });
  assert.equal(words.length, 5);
  assert.ok(words.every((w) => /^[a-z]*$/.test(w)));
  tf.dispose([probe.X, probe.Y]);
  m.dispose();
  assert.equal(tf.memory().numTensors, before, 'training, evaluation and sampling leave nothing behind');
});

test('save → load gives identical logits; the config rebuilds the same weights; create/dispose leaves no tensors', async () => {
  await initTf();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sequentia-wavenet-'));
  try {
    const before = tf.memory().numTensors;
    const g = new TorchGenerator(11);
    const m = wavenet(g);
    // a few steps so γ, β and the running statistics are not their initial values
    await train({
      steps: 5,
      params: m.params(),
      learningRate: 0.1,
      progressMs: 0,
      loss: () => {
        const b = minibatch(data.windows.train, g, 32);
        return m.loss(b.X, b.Y, { training: true });
      },
    });
    await saveModel(dir, m, data.vocab);
    // config.json: the type and (no PyTorch class for a lecture model) createModel's config itself
    const saved = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as object;
    assert.deepEqual(saved, { model_type: 'sequential', ...m.config });
    assert.equal('nEmbd' in m.config, false);
    const back = await loadModel(dir);
    const X = tf.tensor2d(Array.from(data.windows.dev.X.subarray(0, 64 * 8)), [64, 8], 'int32');
    const a = tf.tidy(() => Array.from(m.forward(X).logits.dataSync()));
    const b = tf.tidy(() => Array.from(back.model.forward(X).logits.dataSync()));
    assert.deepEqual(b, a);
    assert.deepEqual(back.model.numParams(), 76_579);
    // createModel from the config and the same seed draws the same weights as the preset
    const fresh = wavenet(new TorchGenerator(12));
    const rebuilt = createModel('sequential', fresh.config, new TorchGenerator(12));
    assert.deepEqual(
      Object.entries(rebuilt.namedWeights()).map(([k, w]) => [k, Array.from(w.dataSync())]),
      Object.entries(fresh.namedWeights()).map(([k, w]) => [k, Array.from(w.dataSync())]),
    );
    for (const x of [m, back.model, fresh, rebuilt]) x.dispose();
    X.dispose();
    assert.equal(tf.memory().numTensors, before);
    for (let i = 0; i < 3; i++) wavenet(new TorchGenerator(i)).dispose();
    assert.equal(tf.memory().numTensors, before, 'create and dispose leave tf.memory() where it was');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('makemore --type wavenet: on sequences it scores exactly the lecture’s windows; BatchNorm sees only scored positions', async () => {
  await initTf();
  const before = tf.memory().numTensors;
  const words = ['emma', 'olivia', 'ava', 'isabella', 'sophia', 'mia'];
  const vocab = Vocab.fromWords(words);
  const T = sequenceBlockSize(words);
  const m = zooModel(
    'wavenet',
    { ...defaultConfig('wavenet'), vocabSize: vocab.size, blockSize: T },
    new TorchGenerator(3),
  );
  assert.equal(m.numParams(), 76_579 - (27 - vocab.size) * (24 + 128 + 1));
  const seqs = buildSequences(words, vocab, T);
  const win = buildWindows(words, vocab, 8);
  const X = tf.tensor2d(seqs.X, [seqs.n, T], 'int32');
  const Y = tf.tensor2d(seqs.Y, [seqs.n, T], 'int32');
  const net = (m as WaveNet).net;
  const Xw = tf.tensor2d(win.X, [win.n, 8], 'int32');
  const Yw = tf.tensor1d(win.Y, 'int32');
  // evaluation: every scored position's loss is the lecture's window loss (same windows, same net)
  const [zooEval, lectureEval] = tf.tidy(() => [m.loss(X, Y).dataSync()[0]!, net.loss(Xw, Yw).dataSync()[0]!]);
  assert.ok(Math.abs(zooEval - lectureEval) < 1e-6, `${zooEval} vs ${lectureEval}`);
  // training: the batch statistics are those of the lecture's windows, not of the padding after the ends
  const [zooTrain, lectureTrain] = tf.tidy(() => [
    m.loss(X, Y, { training: true }).dataSync()[0]!,
    net.loss(Xw, Yw, { training: true }).dataSync()[0]!,
  ]);
  assert.ok(Math.abs(zooTrain - lectureTrain) < 1e-5, `${zooTrain} vs ${lectureTrain}`);
  assert.notEqual(zooTrain, zooEval);
  // logits at every position [B, T, V], 0 where the target is ignored
  const logits = tf.tidy(() => m.forward(X, Y).logits);
  assert.deepEqual(logits.shape, [seqs.n, T, vocab.size]);
  assert.equal(
    tf.tidy(
      () =>
        logits
          .slice([0, T - 1, 0], [1, 1, -1])
          .abs()
          .sum()
          .dataSync()[0],
    ),
    0,
  );
  tf.dispose([X, Y, Xw, Yw, logits]);
  m.dispose();
  assert.equal(tf.memory().numTensors, before);
});
