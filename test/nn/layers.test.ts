// lib/nn/layers: one Linear whose initialisation is a parameter (PyTorch's uniform, Kaiming, randn·scale),
// any-rank inputs; weights by name from nn/module; Embedding, FlattenConsecutive and BatchNorm1d on
// [B, T, C] (the WaveNet lecture's layers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { Linear, BatchNorm1d, Tanh, Embedding, FlattenConsecutive, layerFromSpec } from '../../lib/nn/layers';
import { TorchGenerator } from '../../lib/random/torch-generator';

function stats(v: tf.Variable): { min: number; max: number; std: number } {
  const a = Array.from(v.dataSync());
  const mean = a.reduce((s, x) => s + x, 0) / a.length;
  return {
    min: Math.min(...a),
    max: Math.max(...a),
    std: Math.sqrt(a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length),
  };
}

test('Linear: the three initialisations draw what they promise, from the generator they are given', async () => {
  await initTf();
  const fanIn = 400;
  const uniform = new Linear(new TorchGenerator(1), fanIn, 300, { init: { kind: 'uniform' } });
  const u = stats(uniform.W);
  const bound = 1 / Math.sqrt(fanIn);
  assert.ok(u.min >= -bound && u.max <= bound && u.max > 0.99 * bound, `U(±${bound}): [${u.min}, ${u.max}]`);
  const b = stats(uniform.b as tf.Variable);
  assert.ok(b.min >= -bound && b.max <= bound && b.std > 0, "PyTorch's bias is uniform too");
  const kaiming = new Linear(new TorchGenerator(1), fanIn, 300, {
    bias: false,
    init: { kind: 'kaiming', gain: 5 / 3 },
  });
  assert.ok(Math.abs(stats(kaiming.W).std / (5 / 3 / Math.sqrt(fanIn)) - 1) < 0.02);
  assert.equal(kaiming.b, null);
  assert.deepEqual(Object.keys(kaiming.namedWeights()), ['W']);
  const small = new Linear(new TorchGenerator(1), fanIn, 300, { init: { kind: 'randn', scale: 0.01 } });
  assert.ok(Math.abs(stats(small.W).std / 0.01 - 1) < 0.02);
  assert.deepEqual(Array.from(new Set((small.b as tf.Variable).dataSync())), [0]);
  // the same seed and init give the same weights: randn·scale and Kaiming differ only by the factor
  const w1 = small.W.dataSync();
  const w2 = kaiming.W.dataSync();
  const ratio = 0.01 / (5 / 3 / Math.sqrt(fanIn));
  assert.ok(Math.abs((w1[7] as number) - (w2[7] as number) * ratio) < 1e-7);
  assert.equal(small.numParams(), fanIn * 300 + 300);
  for (const l of [uniform, kaiming, small]) l.dispose();
});

test('Linear on [B, T, E] equals Linear on the [B·T, E] rows; BatchNorm and Tanh describe themselves', async () => {
  await initTf();
  const lin = new Linear(new TorchGenerator(2), 4, 3, { init: { kind: 'uniform' } });
  const x = tf.tensor3d(
    Array.from({ length: 24 }, (_, i) => Math.sin(i)),
    [2, 3, 4],
  );
  const y3 = tf.tidy(() => lin.forward(x).arraySync() as number[][][]);
  const y2 = tf.tidy(() => lin.forward(x.reshape([6, 4])).arraySync() as number[][]);
  assert.deepEqual(y3.flat(), y2);
  const bn = new BatchNorm1d(5, 1e-5, 0.1, 0.1);
  assert.deepEqual(bn.spec, { kind: 'BatchNorm1d', dim: 5, eps: 1e-5, momentum: 0.1, gamma: 0.1 });
  assert.deepEqual(Object.keys(bn.namedWeights()), ['gamma', 'beta', 'runningMean', 'runningVar']);
  assert.equal(bn.params().length, 2, 'running statistics are buffers, not parameters');
  assert.deepEqual(new Tanh().spec, { kind: 'Tanh' });
  tf.dispose([x]);
  lin.dispose();
  bn.dispose();
});

test('Embedding: ids [B, T] → rows of its randn table [B, T, dim], drawn from the generator it is given', async () => {
  await initTf();
  const emb = new Embedding(new TorchGenerator(42), 27, 5);
  assert.deepEqual(emb.spec, { kind: 'Embedding', numEmbeddings: 27, dim: 5 });
  assert.equal(emb.numParams(), 135);
  // the same draws as torch.manual_seed(42); torch.randn(27, 5)
  assert.deepEqual(Array.from(emb.weight.dataSync()), Array.from(new TorchGenerator(42).randn([27, 5])));
  const table = emb.weight.arraySync() as number[][];
  const ids = tf.tensor2d([0, 3, 26, 3, 1, 1], [2, 3], 'int32');
  const out = tf.tidy(() => emb.forward(ids).arraySync() as number[][][]);
  assert.deepEqual(out, [
    [table[0], table[3], table[26]],
    [table[3], table[1], table[1]],
  ]);
  ids.dispose();
  emb.dispose();
});

test('FlattenConsecutive: [B, T, C] → [B, T/n, C·n] by concatenating neighbours, squeezing T when it is 1', async () => {
  await initTf();
  // x[b][t] = [100b + 10t, 100b + 10t + 1, 100b + 10t + 2]
  const x = tf.tensor3d(
    Array.from({ length: 2 * 8 * 3 }, (_, i) => 100 * Math.floor(i / 24) + 10 * Math.floor((i % 24) / 3) + (i % 3)),
    [2, 8, 3],
  );
  const pairs = tf.tidy(() => new FlattenConsecutive(2).forward(x).arraySync() as number[][][]);
  assert.equal(pairs.length, 2);
  assert.equal(pairs[0]?.length, 4);
  // position t of the output holds input positions 2t and 2t + 1, side by side
  assert.deepEqual(pairs[1]?.[2], [140, 141, 142, 150, 151, 152]);
  assert.deepEqual(pairs[0]?.[0], [0, 1, 2, 10, 11, 12]);
  const shapes = tf.tidy(() => {
    const four = new FlattenConsecutive(4).forward(x);
    const all = new FlattenConsecutive(8).forward(x);
    const tree = [2, 2, 2].reduce((t: tf.Tensor, n) => new FlattenConsecutive(n).forward(t), x);
    assert.deepEqual(Array.from(tree.dataSync()), Array.from(x.dataSync()), 'a reshape: the values keep their order');
    return [four.shape, all.shape, tree.shape];
  });
  assert.deepEqual(shapes, [
    [2, 2, 12],
    [2, 24],
    [2, 24],
  ]);
  assert.throws(() => new FlattenConsecutive(3).forward(x), /T = 8 is not a multiple of 3/);
  assert.throws(() => new FlattenConsecutive(2).forward(tf.zeros([2, 8])), /takes \[B, T, C\]/);
  assert.throws(() => new FlattenConsecutive(0), /positive integer/);
  assert.deepEqual(new FlattenConsecutive(2).spec, { kind: 'FlattenConsecutive', n: 2 });
  assert.deepEqual(new FlattenConsecutive(2).namedWeights(), {});
  x.dispose();
});

test('BatchNorm1d on [B, T, C]: statistics over dims (0, 1), as the 2-D layer on the reshaped [B·T, C] rows', async () => {
  await initTf();
  const [B, T, C] = [6, 4, 3];
  const values = Array.from({ length: B * T * C }, (_, i) => Math.sin(i * 1.7) * (1 + (i % C)) + ((i / C) % T));
  const x3 = tf.tensor3d(values, [B, T, C]);
  const x2 = x3.reshape([B * T, C]);
  const bn3 = new BatchNorm1d(C);
  const bn2 = new BatchNorm1d(C);
  const y3 = tf.tidy(() => bn3.forward(x3, true).arraySync() as number[][][]);
  const y2 = tf.tidy(() => bn2.forward(x2, true).arraySync() as number[][]);
  assert.deepEqual(y3.flat(), y2);
  // running statistics stay [C] (the lecture's bug made them [1, T, C]) and equal the 2-D layer's
  for (const k of ['runningMean', 'runningVar'] as const) {
    assert.deepEqual(bn3[k].shape, [C]);
    assert.deepEqual(Array.from(bn3[k].dataSync()), Array.from(bn2[k].dataSync()));
  }
  // by hand: 0.1 × the mean of channel c over all B·T rows (momentum 0.1 from 0), unbiased variance
  for (let c = 0; c < C; c++) {
    const col = values.filter((_, i) => i % C === c);
    const mean = col.reduce((s, v) => s + v, 0) / col.length;
    const unbiased = col.reduce((s, v) => s + (v - mean) ** 2, 0) / (col.length - 1);
    assert.ok(Math.abs((bn3.runningMean.dataSync()[c] as number) - 0.1 * mean) < 1e-5, `running mean ${c}`);
    assert.ok(Math.abs((bn3.runningVar.dataSync()[c] as number) - (0.9 + 0.1 * unbiased)) < 1e-4, `running var ${c}`);
  }
  // each channel of the output is standardised over B and T together — not per position
  const out = y3.flat();
  for (let c = 0; c < C; c++) {
    const col = out.map((r) => r[c] as number);
    assert.ok(Math.abs(col.reduce((s, v) => s + v, 0) / col.length) < 1e-5);
  }
  const perPosition = y3.map((b) => b[0]?.[0] as number).reduce((s, v) => s + v, 0) / B;
  assert.ok(Math.abs(perPosition) > 1e-3, 'position 0 alone is not centred: the statistics pool the positions');
  // evaluation uses the running statistics, for 3-D input as for 2-D
  const e3 = tf.tidy(() =>
    bn3
      .forward(x3, false)
      .reshape([B * T, C])
      .arraySync(),
  );
  const e2 = tf.tidy(() => bn2.forward(x2, false).arraySync());
  assert.deepEqual(e3, e2);
  tf.dispose([x3, x2]);
  bn3.dispose();
  bn2.dispose();
});

test('layerFromSpec rebuilds every kind, drawing the same weights from the same seed', async () => {
  await initTf();
  const before = tf.memory().numTensors;
  const g = new TorchGenerator(7);
  const layers = [
    new Embedding(g, 27, 4),
    new FlattenConsecutive(2),
    new Linear(g, 8, 5, { bias: false, init: { kind: 'kaiming', gain: 1 } }),
    new BatchNorm1d(5, 1e-5, 0.1, 0.5),
    new Tanh(),
  ];
  const g2 = new TorchGenerator(7);
  const rebuilt = layers.map((l) => layerFromSpec(l.spec, g2));
  layers.forEach((l, i) => {
    const r = rebuilt[i] as (typeof rebuilt)[number];
    assert.deepEqual(r.spec, l.spec);
    assert.deepEqual(
      Object.values(r.namedWeights()).map((w) => Array.from(w.dataSync())),
      Object.values(l.namedWeights()).map((w) => Array.from(w.dataSync())),
    );
  });
  for (const l of [...layers, ...rebuilt]) for (const w of Object.values(l.namedWeights())) w.dispose();
  assert.equal(tf.memory().numTensors, before);
});
