// The model zoo: makemore's parameter counts, shapes, initial loss, padding and causality.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { zooModel, ZOO_TYPES } from '../../lib/models/registry';
import { DEFAULT_CONFIG, defaultConfig } from '../../lib/models/zoo/config';
import { buildSequences } from '../../lib/data/sequences';
import { Vocab } from '../../lib/data/vocab';
import { TorchGenerator } from '../../lib/random/torch-generator';
import { causalSelfAttention } from '../../lib/ops/attention';
import type { Transformer } from '../../lib/models/zoo/transformer';
import { FastGenerator } from '../../lib/random/fast-generator';

process.env.SEQUENTIA_QUIET_BACKEND = '1';
const config = { ...DEFAULT_CONFIG, vocabSize: 27, blockSize: 16 };

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
    wavenet: 76579, // the lecture's sizes, its own defaults
  };
  for (const type of ZOO_TYPES) {
    const m = zooModel(type, { ...defaultConfig(type), vocabSize: 27, blockSize: 16 }, new TorchGenerator(1));
    assert.equal(m.numParams(), want[type], type);
    m.dispose();
  }
  assert.throws(() => zooModel('cnn', config, new TorchGenerator(1)), /unknown model type 'cnn'/);
});

test('every model: logits [B, T, V], ln 27-ish loss at init, padding ignored, causal (no peeking ahead)', async () => {
  await initTf();
  const seq = buildSequences(['emma', 'olivia'], Vocab.fromWords(['abcdefghijklmnopqrstuvwxyz']), 16);
  for (const type of ZOO_TYPES) {
    const m = zooModel(type, config, new TorchGenerator(3));
    tf.tidy(() => {
      const X = tf.tensor2d(seq.X, [2, 16], 'int32');
      const Y = tf.tensor2d(seq.Y, [2, 16], 'int32');
      const { loss } = m.forward(X, Y);
      const { logits } = m.forward(X); // every position (WaveNet scores only the targets' positions given them)
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

test('transformer attention weights: causal rows that sum to 1, and weights · v is what the fused op computes', async () => {
  await initTf();
  const before = tf.memory().numTensors;
  const cfg = { ...DEFAULT_CONFIG, nLayer: 2, vocabSize: 27, blockSize: 8 };
  const m = zooModel('transformer', cfg, new TorchGenerator(5)) as Transformer;
  const idx = tf.tensor2d([0, 5, 13, 13, 1, 0, 0, 19, 5, 2, 1, 19], [2, 6], 'int32');
  const maps = m.attentionWeights(idx);
  assert.deepEqual(
    maps.map((w) => w.shape),
    [
      [2, 4, 6, 6],
      [2, 4, 6, 6],
    ],
  );
  const w = maps[0]!.arraySync();
  for (const b of w)
    for (const head of b)
      head.forEach((row, t) => {
        assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-5, 'each row is a distribution');
        assert.ok(
          row.slice(t + 1).every((v) => v === 0),
          'no weight on later positions',
        );
      });
  const err = tf.tidy(() => {
    const block = m.blocks[0]!;
    const x = tf.gather(m.wte, idx).add(m.wpe.slice([0, 0], [6, -1])) as tf.Tensor3D;
    const qkv = block.cAttn.forward(block.ln1.forward(x)) as tf.Tensor3D;
    const fused = causalSelfAttention(qkv, 4);
    const v = tf.split(qkv, 3, 2)[2]!.reshape([2, 6, 4, 16]).transpose([0, 2, 1, 3]);
    const mixed = tf.matMul(maps[0]!, v).transpose([0, 2, 1, 3]).reshape([2, 6, 64]);
    return mixed.sub(fused).abs().max().dataSync()[0] as number;
  });
  assert.ok(err < 1e-5, `weights · v against the fused attention: max |Δ| ${err}`);
  tf.dispose([...maps, idx]);
  m.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test("the June 2022 transformer: minGPT's init and decay groups; dropout only while training, from the rng, with identical eval logits", async () => {
  await initTf();
  const before = tf.memory().numTensors;
  const cfg = { ...DEFAULT_CONFIG, vocabSize: 27, blockSize: 16 };
  const m = zooModel('transformer', { ...cfg, dropout: 0.1, init: 'gpt' }, new TorchGenerator(1)) as Transformer;
  const plain = zooModel('transformer', cfg, new TorchGenerator(1)) as Transformer;
  assert.equal(m.numParams(), 204_544);
  // N(0, 0.02) weights and zero biases instead of U(±1/√fan_in)
  const std = (v: tf.Variable) => tf.tidy(() => tf.moments(v).variance.sqrt().dataSync()[0] as number);
  for (const v of [m.wte, m.wpe, m.blocks[0]!.cAttn.W, m.blocks[3]!.mlpProj.W, m.head.W])
    assert.ok(Math.abs(std(v) - 0.02) < 0.002, `${v.name}: std ${std(v)}`);
  assert.ok(Math.abs(std(plain.blocks[0]!.cAttn.W) - 1 / Math.sqrt(3 * 64)) < 0.005);
  assert.equal(
    tf.tidy(() => m.blocks[0]!.fc.b!.abs().max().dataSync()[0]),
    0,
  );
  // decayed: the 4 Linear weights of each of the 4 blocks and the head; not: 36 others
  const no = m.noDecay();
  assert.equal(no.size, 36);
  assert.equal(m.params().length - no.size, 17);
  assert.ok(!no.has(m.head.W.name) && no.has(m.wte.name) && no.has(m.blocks[2]!.ln1.g.name));
  // dropout: none at evaluation; while training, masks from the rng (same seed, same loss), and an rng is required
  plain.loadWeights(m.namedWeights());
  const idx = tf.tensor2d([[0, 5, 13, 13, 1, 0, 3, 4]], [1, 8], 'int32');
  const Y = tf.tensor2d([[5, 13, 13, 1, 0, -1, -1, -1]], [1, 8], 'int32');
  const evalDiff = tf.tidy(() => m.forward(idx).logits.sub(plain.forward(idx).logits).abs().max().dataSync()[0]);
  assert.equal(evalDiff, 0);
  const lossWith = (seed: number) =>
    tf.tidy(() => m.loss(idx, Y, { training: true, rng: new FastGenerator(seed) }).dataSync()[0] as number);
  assert.equal(lossWith(5), lossWith(5));
  assert.notEqual(lossWith(5), lossWith(6));
  assert.notEqual(
    lossWith(5),
    tf.tidy(() => m.loss(idx, Y).dataSync()[0]),
  );
  assert.throws(() => m.loss(idx, Y, { training: true }), /dropout 0\.1: training needs an rng/);
  tf.dispose([idx, Y]);
  m.dispose();
  plain.dispose();
  assert.equal(tf.memory().numTensors, before);
});
