// lib/models/lecture/gpt-stages.ts: each stage of "Let's build GPT" has the lecture's parameter count,
// reads only the past, trains fused with the ops' loss and gradients, shows its attention weights (causal
// rows that sum to 1, the weights the layer mixes its values with), and names a bad config.
// lib/data/text-split.ts: the lecture's 90/10 split and the blocks a split is scored on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { GptStage, type GptStageConfig } from '../../lib/models/lecture/gpt-stages';
import { FusedStep } from '../../lib/fused/step';
import { batchTensors, type Batch } from '../../lib/data/batches';
import fs from 'node:fs';
import path from 'node:path';
import { tinyShakespeare, textBlocks } from '../../lib/data/text-split';
import { TorchGenerator } from '../../lib/random/torch-generator';
import { cleanup } from '../helpers/cleanup';

const { tmp: tmpDir } = cleanup('seq-text-');

process.env.SEQUENTIA_QUIET_BACKEND = '1';

const V = 65;
const base = {
  vocabSize: V,
  blockSize: 8,
  nEmbd: 32,
  nHead: 1,
  nLayer: 1,
  ffwd: 'none',
  residual: false,
  layerNorm: false,
} as const;
const STAGES: Record<string, GptStageConfig> = {
  bigram: { ...base, nEmbd: 0, nHead: 0, nLayer: 0 },
  'one head': base,
  'four heads': { ...base, nHead: 4 },
  'feed-forward': { ...base, nHead: 4, ffwd: 'linear' },
  'three blocks': { ...base, nHead: 4, nLayer: 3, ffwd: 'linear' },
  residual: { ...base, nHead: 4, nLayer: 3, ffwd: 'mlp', residual: true },
  layerNorm: { ...base, nHead: 4, nLayer: 3, ffwd: 'mlp', residual: true, layerNorm: true },
};

test('every stage: the parameters the lecture’s modules hold, logits [B, T, V], and no reading of the future', async () => {
  await initTf();
  const E = 32;
  const embed = V * E + 8 * E + (E * V + V); // tokens, positions, lm_head
  const expected: Record<string, number> = {
    bigram: V * V,
    'one head': embed + 3 * E * E, // key, query, value without bias
    'four heads': embed + 3 * E * E, // the heads split the width
    'feed-forward': embed + 3 * E * E + (E * E + E),
    'three blocks': embed + 3 * (3 * E * E + E * E + E),
    residual: embed + 3 * (3 * E * E + (E * E + E) + (4 * E * E + 4 * E) + (4 * E * E + E)),
    layerNorm: embed + 3 * (12 * E * E + 10 * E) + 2 * E,
  };
  const before = tf.memory().numTensors;
  for (const [name, c] of Object.entries(STAGES)) {
    const m = new GptStage(c, new TorchGenerator(1337));
    assert.equal(m.numParams(), expected[name], name);
    const g = new TorchGenerator(5);
    const ids = g.randint(0, V, 2 * 8);
    const changed = ids.slice();
    changed[5] = (changed[5]! + 1) % V; // row 0, position 5
    const [a, b] = [ids, changed].map((x) =>
      tf.tidy(() => m.forward(tf.tensor2d(Int32Array.from(x), [2, 8], 'int32')).logits.arraySync() as number[][][]),
    );
    assert.deepEqual([a!.length, a![0]!.length, a![0]![0]!.length], [2, 8, V], name);
    assert.deepEqual(b![0]!.slice(0, 5), a![0]!.slice(0, 5), `${name}: positions before 5 do not see it`);
    assert.notDeepEqual(b![0]![5], a![0]![5], `${name}: position 5 sees itself`);
    if (c.nEmbd > 0) assert.notDeepEqual(b![0]![7], a![0]![7], `${name}: position 7 reads position 5`);
    else assert.deepEqual(b![0]![7], a![0]![7], 'the bigram reads only its own character');
    assert.deepEqual(b![1], a![1], `${name}: rows are independent`);
    m.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
});

/** `rows` random sequences of length T: ids and next ids below V. */
function sequences(rows: number, T: number, seed: number): Batch {
  const g = new TorchGenerator(seed);
  return { X: Int32Array.from(g.randint(0, V, rows * T)), Y: Int32Array.from(g.randint(0, V, rows * T)), rows };
}

test('every stage trains fused: the loss and gradients of the ops (also for T below the block size)', async () => {
  await initTf();
  for (const [name, c] of Object.entries(STAGES)) {
    const m = new GptStage(c, new TorchGenerator(3));
    const fused = FusedStep.for(m);
    assert.ok(fused, `${name}: a fused step`);
    for (const b of [sequences(16, 8, 1), sequences(4, 5, 2)]) {
      const ops = tf.tidy(() => {
        const { X, Y } = batchTensors(b, 'sequence');
        const { value, grads } = tf.variableGrads(() => m.loss(X, Y, { training: true }), m.params());
        return { loss: value.dataSync()[0]!, grads: m.params().map((p) => Array.from(grads[p.name]!.dataSync())) };
      });
      const got = fused.gradients(b);
      assert.ok(Math.abs(got.loss - ops.loss) <= 1e-6 * ops.loss, `${name}: loss ${got.loss} vs ${ops.loss}`);
      m.params().forEach((p, i) => {
        const want = ops.grads[i]!;
        const have = got.grads[p.name]!;
        let num = 0;
        let den = 0;
        want.forEach((w, j) => ((num += (have[j]! - w) ** 2), (den += w * w)));
        assert.ok(Math.sqrt(num / (den || 1)) <= 3e-6, `${name}: gradient of ${p.name}`);
      });
    }
    m.dispose();
  }
});

test('attention weights: one [B, nHead, T, T] per block, causal rows summing to 1, the weights the layer uses', async () => {
  await initTf();
  const m = new GptStage(STAGES.residual!, new TorchGenerator(7));
  const idx = tf.tensor2d(Int32Array.from(new TorchGenerator(8).randint(0, V, 2 * 6)), [2, 6], 'int32');
  const maps = m.attentionWeights(idx);
  assert.equal(maps.length, 3);
  for (const w of maps) {
    assert.deepEqual(w.shape, [2, 4, 6, 6]);
    const a = w.arraySync() as number[][][][];
    for (const row of a.flat(2)) assert.ok(Math.abs(row.reduce((s, x) => s + x, 0) - 1) < 1e-5);
    for (const head of a.flat(1)) head.forEach((row, t) => row.forEach((x, s) => s > t && assert.equal(x, 0)));
  }
  // one head, no residual: the layer's output is the weights times the values (the last third of qkv)
  const one = new GptStage({ ...base, nLayer: 1 }, new TorchGenerator(9));
  const [w] = one.attentionWeights(idx);
  const { mixed, out } = tf.tidy(() => {
    const qkv = one.layers.slice(0, 3).reduce((x: tf.Tensor, l) => l.forward(x), idx) as tf.Tensor3D;
    const v = qkv.slice([0, 0, 64], [-1, -1, 32]) as tf.Tensor3D;
    return {
      mixed: tf.matMul(w!.squeeze([1]) as tf.Tensor3D, v).arraySync(),
      out: one.layers[3]!.forward(qkv).arraySync(),
    };
  });
  (out as number[][][]).flat(2).forEach((x, i) => assert.ok(Math.abs(x - (mixed as number[][][]).flat(2)[i]!) < 1e-5));
  tf.dispose([idx, ...maps, w!]);
  m.dispose();
  one.dispose();
});

test('a bad stage config is named before any weight is drawn', () => {
  const make = (c: Partial<GptStageConfig>) => () => new GptStage({ ...base, ...c }, new TorchGenerator(1));
  assert.throws(make({ nHead: 3 }), /nEmbd 32 needs nLayer ≥ 1 and nHead ≥ 1 dividing it, got nHead 3/);
  assert.throws(make({ nEmbd: 0 }), /nEmbd 0 is the bigram table alone/);
  assert.throws(make({ residual: true, ffwd: 'linear' }), /the residual blocks' feed-forward is the 4× MLP/);
  assert.throws(make({ layerNorm: true }), /layerNorm is pre-norm inside residual blocks/);
  assert.throws(make({ blockSize: 2.5 }), /blockSize must be a whole number ≥ 1, got 2.5/);
  assert.throws(make({ ffwd: 'conv' as 'none' }), /ffwd must be 'none', 'linear' or 'mlp', got "conv"/);
});

test('tinyShakespeare: the first int(0.9 n) characters train; textBlocks: consecutive blocks, targets shifted by one', () => {
  const text = 'abcdefghijklmnopqrstuvwxyz0123';
  const file = path.join(tmpDir(), 'input.txt');
  fs.writeFileSync(file, text);
  const { corpus, train, val } = tinyShakespeare(file);
  const vocab = corpus.vocab;
  assert.equal(vocab.size, 30);
  assert.equal(train.text, text.slice(0, 27));
  assert.equal(val.text, '123');
  assert.deepEqual(Array.from(val.encoded), vocab.encode('123'));
  const all = textBlocks(train, 4);
  assert.equal(all.n, 6); // (27 − 1) / 4
  assert.equal(vocab.decode(all.X.subarray(4, 8)), 'efgh');
  assert.equal(vocab.decode(all.Y.subarray(4, 8)), 'fghi');
  const some = textBlocks(train, 4, 3);
  assert.equal(some.n, 3);
  assert.deepEqual(
    [0, 1, 2].map((k) => vocab.decode(some.X.subarray(4 * k, 4 * k + 1))),
    ['a', 'i', 'q'],
  );
  assert.throws(() => textBlocks(val, 4), /a text of 3 characters holds no block of 4 \+ 1/);
});

test('data/tinyshakespeare.txt: 1,115,394 characters, 65 distinct, split 1,003,854 / 111,540 as the lecture', () => {
  const { corpus, train, val } = tinyShakespeare();
  assert.equal(corpus.encoded.length, 1_115_394);
  assert.equal(corpus.vocab.itos.join(''), "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
  assert.deepEqual([train.encoded.length, val.encoded.length], [1_003_854, 111_540]);
  assert.deepEqual(Array.from(train.encoded.subarray(0, 9)), [18, 47, 56, 57, 58, 1, 15, 47, 58]); // "First Cit"
  assert.equal(val.text.slice(0, 10), '?\n\nGREMIO:');
});
