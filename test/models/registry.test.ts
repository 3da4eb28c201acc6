// lib/models/registry + lib/train/saved-model: every model type — lecture, zoo and recurrent — builds
// from its config, goes through the one interface, and comes back from saveModel/loadModel identical
// ('sequential' in both its forms: notebook 06's own embedding table, notebook 11's Embedding layer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { tf, initTf } from '../../lib/runtime/tf';
import { createModel, MODEL_TYPES, zooModel, type ModelConfigs, type ModelType } from '../../lib/models/registry';
import { batchNormMLP, LECTURE_MLP } from '../../lib/models/presets';
import { loadModel, saveModel } from '../../lib/train/saved-model';
import { Vocab, LOWERCASE } from '../../lib/data/vocab';
import { TorchGenerator } from '../../lib/random/torch-generator';
import { saveLegacy } from '../helpers/legacy-save';
import { cleanup } from '../helpers/cleanup';

const { tmp: tmpDir } = cleanup('seq-registry-');

const V = 27;
const zoo = { vocabSize: V, blockSize: 6, nLayer: 1, nHead: 2, nEmbd: 8, nEmbd2: 8 };
const recurrent = { vocabSize: V, blockSize: 6, nEmbd: 8, nHidden: 8 };
// a small config per type: the compiler checks this table covers every key of ModelConfigs too
const CONFIGS: { [T in ModelType]: ModelConfigs[T] } = {
  'bigram-net': { vocabSize: V, blockSize: 1 },
  'lecture-mlp': { vocabSize: V, blockSize: 3, nEmbd: 4, nHidden: 16, init: { W2: 0.01, b2: 0 } },
  sequential: {
    vocabSize: V,
    blockSize: 3,
    nEmbd: 4,
    layers: [
      { kind: 'Linear', fanIn: 12, fanOut: 16, bias: false, init: { kind: 'kaiming', gain: 5 / 3 } },
      { kind: 'BatchNorm1d', dim: 16, eps: 1e-5, momentum: 0.1, gamma: 1 },
      { kind: 'Tanh' },
      { kind: 'Linear', fanIn: 16, fanOut: V, bias: true, init: { kind: 'randn', scale: 0.01 } },
    ],
  },
  'gpt-stage': {
    vocabSize: V,
    blockSize: 6,
    nEmbd: 8,
    nHead: 2,
    nLayer: 2,
    ffwd: 'mlp',
    residual: true,
    layerNorm: true,
  },
  bigram: zoo,
  mlp: zoo,
  bow: zoo,
  transformer: zoo,
  wavenet: zoo,
  rnn: { ...recurrent, cell: 'rnn' },
  gru: { ...recurrent, cell: 'gru' },
  lstm: { ...recurrent, cell: 'lstm' },
  gpt: {
    vocabSize: V,
    blockSize: 6,
    nLayer: 1,
    nHead: 2,
    nEmbd: 8,
    dropout: 0,
    bias: false,
    activation: 'gelu',
    tieWeights: true,
    init: 'nanogpt',
  },
};

// the WaveNet lecture's form of 'sequential' (notebook 11): the layers begin with their own Embedding
const WAVENET_FORM: ModelConfigs['sequential'] = {
  vocabSize: V,
  blockSize: 4,
  layers: [
    { kind: 'Embedding', numEmbeddings: V, dim: 4 },
    { kind: 'FlattenConsecutive', n: 2 },
    { kind: 'Linear', fanIn: 8, fanOut: 16, bias: false, init: { kind: 'kaiming', gain: 1 } },
    { kind: 'BatchNorm1d', dim: 16, eps: 1e-5, momentum: 0.1, gamma: 1 },
    { kind: 'Tanh' },
    { kind: 'FlattenConsecutive', n: 2 },
    { kind: 'Linear', fanIn: 32, fanOut: 16, bias: false, init: { kind: 'kaiming', gain: 1 } },
    { kind: 'BatchNorm1d', dim: 16, eps: 1e-5, momentum: 0.1, gamma: 1 },
    { kind: 'Tanh' },
    { kind: 'Linear', fanIn: 16, fanOut: V, bias: true, init: { kind: 'kaiming', gain: 0.1 } },
  ],
};

/** Every type with its config, plus the other forms a type takes. */
const CASES: [ModelType, ModelConfigs[ModelType], string][] = [
  ...MODEL_TYPES.map((t): [ModelType, ModelConfigs[ModelType], string] => [t, CONFIGS[t], t]),
  ['sequential', WAVENET_FORM, 'sequential (WaveNet form)'],
];

function batch(T: number, window: boolean): { X: tf.Tensor2D; Y: tf.Tensor } {
  const g = new TorchGenerator(9);
  const X = tf.tensor2d(g.randint(0, V, 4 * T), [4, T], 'int32');
  const Y = window ? tf.tensor1d(g.randint(0, V, 4), 'int32') : tf.tensor2d(g.randint(0, V, 4 * T), [4, T], 'int32');
  return { X, Y };
}

test('every model type: the one interface, and saveModel → loadModel gives identical logits', async () => {
  await initTf();
  const dir = tmpDir();
  const vocab = new Vocab(LOWERCASE);
  const before = tf.memory().numTensors;
  assert.deepEqual([...MODEL_TYPES].sort(), Object.keys(CONFIGS).sort());
  for (const [type, config, label] of CASES) {
    const m = createModel(type, config, new TorchGenerator(3));
    assert.equal(m.type, type);
    assert.deepEqual(m.config, config, `${label}: the model describes itself with its config`);
    const window = m.reads === 'window';
    const { X, Y } = batch(window ? m.blockSize : 5, window);
    const { logits, shape, loss } = tf.tidy(() => {
      const r = m.forward(X, Y);
      return {
        logits: r.logits.arraySync(),
        shape: r.logits.shape,
        loss: (r.loss as tf.Scalar).dataSync()[0] as number,
      };
    });
    assert.deepEqual(shape, window ? [4, V] : [4, 5, V], label);
    // near −ln(1/27) at the start: no model is confidently wrong before training
    assert.ok(loss > 2 && loss < 12, `${label}: initial loss ${loss}`);
    assert.equal(
      tf.tidy(() => m.loss(X, Y).dataSync()[0]),
      loss,
      `${label}: loss() is forward().loss`,
    );
    assert.equal(
      m.numParams(),
      m.params().reduce((s, p) => s + p.size, 0),
    );
    await saveModel(path.join(dir, label), m, vocab, { note: type });
    const back = await loadModel(path.join(dir, label));
    assert.equal(back.model.type, type);
    assert.deepEqual(back.extra, { note: type });
    assert.equal(back.vocab.itos.join(''), vocab.itos.join(''));
    const again = tf.tidy(() => back.model.forward(X).logits.arraySync());
    assert.deepEqual(again, logits, `${label}: reloaded logits are identical`);
    back.model.dispose();
    m.dispose();
    tf.dispose([X, Y]);
  }
  assert.equal(tf.memory().numTensors, before, 'every model and every loaded weight is freed');
});

test('a Sequential describes its layers: the config rebuilds the same weights from the same seed', async () => {
  await initTf();
  const built = batchNormMLP(new TorchGenerator(1), { ...LECTURE_MLP, nEmbd: 4, nHidden: 16 });
  assert.deepEqual(built.config, CONFIGS.sequential);
  const rebuilt = createModel('sequential', built.config, new TorchGenerator(1));
  const a = Object.values(built.namedWeights()).map((w) => Array.from(w.dataSync()));
  const b = Object.values(rebuilt.namedWeights()).map((w) => Array.from(w.dataSync()));
  assert.deepEqual(b, a);
  built.dispose();
  rebuilt.dispose();
});

test("a makemore checkpoint (the CLI's zoo settings) loads with loadModel too", async () => {
  await initTf();
  const dir = tmpDir();
  const m = zooModel('gru', zoo, new TorchGenerator(5));
  // the older form (model.json + weights.bin) with the CLI's ZooConfig for a recurrent model
  await saveLegacy(
    dir,
    { sequentia: 1, type: 'gru', config: zoo, itos: [...new Vocab(LOWERCASE).itos], boundary: '.' },
    m.namedWeights(),
  );
  const back = await loadModel(dir);
  assert.equal(back.model.numParams(), m.numParams());
  back.model.dispose();
  fs.writeFileSync(
    path.join(dir, 'model.json'),
    fs.readFileSync(path.join(dir, 'model.json'), 'utf8').replace('"gru"', '"cnn"'),
  );
  await assert.rejects(loadModel(dir), /model\.json: unknown model type 'cnn'/);
  // the current form names config.json
  const now = path.join(dir, 'now');
  await saveModel(now, m, new Vocab(LOWERCASE));
  m.dispose();
  const cfg = path.join(now, 'config.json');
  fs.writeFileSync(cfg, fs.readFileSync(cfg, 'utf8').replace('"gru"', '"cnn"'));
  await assert.rejects(
    loadModel(now),
    /now\/model\.safetensors: __metadata__\.sequentia is a "gru", but model_type is 'cnn'/,
  );
});
