/**
 * The GPTs save as the other models do (model.safetensors + config.json + vocab.json): nanoGPT's
 * state_dict names and [out, in] Linear weights, a tied head written twice for nanoGPT's strict load and
 * read once, config.json of GPTConfig's fields; notebook 12's stages with nn.Sequential-style names. Each
 * loads back with the same logits, and its layout (from the config alone) lists exactly its weights.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf, initTf } from '../../lib/runtime/tf';
import { TorchGenerator } from '../../lib/random/torch-generator';
import { Vocab } from '../../lib/data/vocab';
import { createModel, stateDictLayout, type ModelConfigs } from '../../lib/models/registry';
import { loadModel, saveModel } from '../../lib/train/saved-model';
import { decodeSafetensors } from '../../lib/data/safetensors';
import { NANOGPT_CPU, LECTURE_GPT } from '../../lib/models/gpt-config';
import type { LanguageModel } from '../../lib/models/language-model';

process.env.SEQUENTIA_QUIET_BACKEND = '1';
const VOCAB = new Vocab('abcdefghij', null);
const IDX = [
  [1, 2, 3, 4, 5, 6],
  [9, 8, 7, 0, 1, 2],
];

function logitsOf(m: LanguageModel): Float32Array {
  return tf.tidy(() => m.forward(tf.tensor2d(IDX, undefined, 'int32')).logits.dataSync() as Float32Array);
}

const small = { vocabSize: 10, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 8, dropout: 0 };
const CASES: [string, keyof ModelConfigs, ModelConfigs['gpt'] | ModelConfigs['gpt-stage']][] = [
  ['nanoGPT (tied, no biases)', 'gpt', { ...NANOGPT_CPU, ...small }],
  ['gpt.py (ReLU, biases, own head)', 'gpt', { ...LECTURE_GPT, ...small }],
  [
    'stage: bigram',
    'gpt-stage',
    { vocabSize: 10, blockSize: 8, nEmbd: 0, nHead: 0, nLayer: 0, ffwd: 'none', residual: false, layerNorm: false },
  ],
  [
    'stage: heads + feed-forward',
    'gpt-stage',
    { vocabSize: 10, blockSize: 8, nEmbd: 8, nHead: 2, nLayer: 2, ffwd: 'linear', residual: false, layerNorm: false },
  ],
  [
    'stage: residual + LayerNorm',
    'gpt-stage',
    { vocabSize: 10, blockSize: 8, nEmbd: 8, nHead: 2, nLayer: 2, ffwd: 'mlp', residual: true, layerNorm: true },
  ],
];

test('GPT and stage models: saved and loaded with the same logits; the layout from the config names every weight once', async () => {
  await initTf();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sequentia-gpt-saved-'));
  for (const [name, type, config] of CASES) {
    const m = createModel(type, config as never, new TorchGenerator(7));
    const layout = stateDictLayout(type, config as never);
    const ours = Object.fromEntries(Object.entries(m.namedWeights()).map(([k, v]) => [k, v.shape]));
    assert.deepEqual(
      Object.fromEntries(layout.ours.map((o) => [o.name, o.shape])),
      ours,
      `${name}: the layout's weights are the model's namedWeights()`,
    );
    const dir = path.join(tmp, name.replace(/\W+/g, '-'));
    await saveModel(dir, m, VOCAB);
    const { model } = await loadModel(dir);
    assert.deepEqual([...logitsOf(model)], [...logitsOf(m)], `${name}: the same logits after the round trip`);
    const file = path.join(dir, 'model.safetensors');
    const saved = decodeSafetensors(file, fs.readFileSync(file)).tensors;
    if (type === 'gpt') {
      const c = config as ModelConfigs['gpt'];
      const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(cfg, {
        model_type: 'gpt',
        block_size: 8,
        vocab_size: 10,
        n_layer: 2,
        n_head: 2,
        n_embd: 8,
        dropout: 0,
        bias: c.bias,
      });
      const wq = saved['transformer.h.1.attn.c_attn.weight']!;
      assert.deepEqual(wq.shape, [24, 8], `${name}: c_attn.weight is nn.Linear's [out, in]`);
      assert.deepEqual(saved['lm_head.weight']!.shape, [10, 8]);
      if (c.tieWeights)
        assert.deepEqual([...saved['lm_head.weight']!.data], [...saved['transformer.wte.weight']!.data], 'tied');
      assert.equal('transformer.ln_f.bias' in saved, c.bias, `${name}: LayerNorm biases only with bias`);
    }
    m.dispose();
    model.dispose();
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});
