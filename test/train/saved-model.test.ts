// lib/train/saved-model: saved models record their type and createModel's config and load back to identical logits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { tf, initTf } from '../../lib/runtime/tf';
import { createModel, zooModel, type ModelConfigs } from '../../lib/models/registry';
import type { LanguageModel } from '../../lib/models/language-model';
import { Vocab } from '../../lib/data/vocab';
import { DEFAULT_CONFIG } from '../../lib/models/zoo/config';
import {
  loadModel,
  loadWeights,
  readSavedModelInfo,
  SAVED_MODEL_VERSION,
  saveModel,
  saveWeights,
  type SavedTopology,
} from '../../lib/train/saved-model';
import { TorchGenerator } from '../../lib/random/torch-generator';
import { saveLegacy } from '../helpers/legacy-save';
import { cleanup } from '../helpers/cleanup';

const { tmp: tmpDir } = cleanup('sequentia-io-');

process.env.SEQUENTIA_QUIET_BACKEND = '1';
const config = { ...DEFAULT_CONFIG, vocabSize: 27, blockSize: 16 };

test('save and load round trip gives identical logits (LSTM and transformer)', async () => {
  await initTf();
  const dir = tmpDir();
  for (const type of ['lstm', 'transformer']) {
    const m = zooModel(type, config, new TorchGenerator(5));
    const t = { sequentia: 3 as const, type, config: m.config, itos: [], boundary: '.' };
    await saveWeights(path.join(dir, type), t, m.namedWeights());
    const saved = await loadWeights<ModelConfigs['lstm']>(path.join(dir, type));
    const m2 = createModel(saved.topology.type as 'lstm', saved.topology.config, new TorchGenerator(99));
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

/** Logits of two models on the same batch. */
function sameLogits(a: LanguageModel, b: LanguageModel): boolean {
  const x = tf.tensor2d(new TorchGenerator(1).randint(0, 27, 32), [2, 16], 'int32');
  const [p, q] = [a.forward(x).logits.dataSync(), b.forward(x).logits.dataSync()];
  x.dispose();
  return p.length === q.length && p.every((v, i) => v === q[i]);
}

test('saveModel records the type and the config createModel takes; loadModel rebuilds from them', async () => {
  await initTf();
  const dir = tmpDir();
  const vocab = new Vocab([...'.abcdefghijklmnopqrstuvwxyz'], '.');
  for (const type of ['lstm', 'transformer']) {
    const m = zooModel(type, config, new TorchGenerator(5));
    await saveModel(path.join(dir, type), m, vocab, { note: type });
    const t = readSavedModelInfo<object>(path.join(dir, type)).topology;
    assert.equal(t.sequentia, SAVED_MODEL_VERSION);
    assert.equal(t.type, type);
    assert.deepEqual(t.config, m.config);
    // createModel(type, config) builds it: no guessing from the config's fields
    const rebuilt = createModel(t.type as 'lstm', t.config as ModelConfigs['lstm'], new TorchGenerator(7));
    assert.equal(rebuilt.numParams(), m.numParams());
    rebuilt.dispose();
    const back = await loadModel(path.join(dir, type));
    assert.ok(sameLogits(m, back.model), `${type}: the same logits`);
    assert.deepEqual(back.extra, { note: type });
    back.model.dispose();
    m.dispose();
  }
  assert.deepEqual(
    (readSavedModelInfo<object>(path.join(dir, 'lstm')).topology.config as { nHidden?: number }).nHidden,
    config.nEmbd2,
    "the LSTM's own config: nHidden, not makemore's nEmbd2",
  );
});

test('model.json + weights.bin (a ZooConfig for a recurrent model, or no type) loads for one release, with notes on converting', async () => {
  await initTf();
  const dir = tmpDir();
  const m = zooModel('gru', config, new TorchGenerator(5));
  const itos = [...'.abcdefghijklmnopqrstuvwxyz'];
  await saveLegacy(path.join(dir, 'zoo'), { sequentia: 1, type: 'gru', config, itos, boundary: '.' }, m.namedWeights());
  const rc = { cell: 'gru', vocabSize: 27, blockSize: 16, nEmbd: config.nEmbd, nHidden: config.nEmbd2 };
  const noType = { sequentia: 1, config: rc, itos, boundary: '.' } as unknown as SavedTopology<object>;
  await saveLegacy(path.join(dir, 'untyped'), noType, m.namedWeights());
  const notes: string[] = [];
  const warn = console.warn;
  console.warn = (msg: string) => notes.push(msg);
  try {
    for (const form of ['zoo', 'untyped']) {
      const back = await loadModel(path.join(dir, form));
      assert.equal(back.model.type, 'gru');
      assert.ok(sameLogits(m, back.model), `${form}: the same logits`);
      back.model.dispose();
    }
  } finally {
    console.warn = warn;
  }
  assert.equal(notes.length, 3, 'a note for each older folder, and one for the ZooConfig');
  assert.match(notes[0]!, /zoo holds a model of the older form .*npm run makemore -- convert --model .*zoo/);
  assert.match(notes[1]!, /zoo\/model\.json is an older saved model .* Convert it: .*convert --model .*zoo/);
  assert.match(notes[2]!, /untyped holds a model of the older form/);
  // the second older form is read as written: a ZooConfig there is an error naming the field
  await saveLegacy(path.join(dir, 'v2'), { sequentia: 2, type: 'gru', config, itos, boundary: '.' }, m.namedWeights());
  await assert.rejects(loadModel(path.join(dir, 'v2')), /v2\/model\.json: config\.nHidden is undefined/);
  m.dispose();
});
