// lib/train/saved-model: saved models load back to identical logits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf, initTf } from '../../lib/runtime/tf';
import { zooModel } from '../../lib/models/registry';
import { DEFAULT_CONFIG } from '../../lib/models/zoo/config';
import { saveWeights, loadWeights } from '../../lib/train/saved-model';
import { TorchGenerator } from '../../lib/random/torch-generator';

process.env.SEQUENTIA_QUIET_BACKEND = '1';
const config = { ...DEFAULT_CONFIG, vocabSize: 27, blockSize: 16 };

test('save and load round trip gives identical logits (LSTM and transformer)', async () => {
  await initTf();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sequentia-io-'));
  for (const type of ['lstm', 'transformer']) {
    const m = zooModel(type, config, new TorchGenerator(5));
    await saveWeights(path.join(dir, type), { sequentia: 1, type, config, itos: [], boundary: '.' }, m.namedWeights());
    const saved = await loadWeights<typeof config>(path.join(dir, type));
    const m2 = zooModel(saved.topology.type, saved.topology.config, new TorchGenerator(99));
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
