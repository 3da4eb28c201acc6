// lib/models/lecture/backprop: every hand-written gradient equals tfjs's autograd bit for bit, the fused
// formulas equal the chunked ones, the first loss is PyTorch's, training by hand tracks autograd with flat memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { lectureData } from '../../lib/data/setups';
import { minibatch } from '../../lib/data/batches';
import { buildWindows } from '../../lib/data/windows';
import { TorchGenerator } from '../../lib/random/torch-generator';
import { crossEntropy } from '../../lib/nn/losses';
import {
  BACKPROP_MLP,
  INTERMEDIATES,
  PARAM_NAMES,
  autogradGradients,
  batchNormBackwardFast,
  calibrateBatchNorm,
  chunkedBackward,
  chunkedForward,
  cmp,
  compareGradients,
  crossEntropyBackwardFast,
  initParams,
  manualGradients,
  toSequential,
  trainByHand,
  type BackpropConfig,
  type Params,
} from '../../lib/models/lecture/backprop';

process.env.SEQUENTIA_QUIET_BACKEND = '1';
const data = lectureData(3);
const SEED = 2147483647;

function disposeParams(p: Params): void {
  tf.dispose(PARAM_NAMES.map((k) => p[k]));
}

/** Parameters and one training batch drawn as the lecture draws them (batch after parameters, one generator). */
function setUp(seed: number, n: number, c: BackpropConfig = BACKPROP_MLP) {
  const g = new TorchGenerator(seed);
  const p = initParams(c, g);
  const { X, Y } = minibatch(data.windows.train, g, n);
  return { p, X, Y };
}

function maxAbs(t: tf.Tensor): number {
  return tf.tidy(() => t.abs().max().dataSync()[0] as number);
}

test('initParams: the lecture’s parameters in its order, float32 as torch computes them', async () => {
  await initTf();
  const p = initParams(BACKPROP_MLP, new TorchGenerator(SEED));
  // printed by PyTorch 1.13 for the same draws (W1 = randn·(5/3)/√30, bngain = randn·0.1 + 1, all from g)
  assert.deepEqual(
    Array.from(p.W1.dataSync().slice(0, 4)),
    [-0.3562328815460205, 0.021889854222536087, -0.5627095103263855, 0.2771851122379303],
  );
  assert.deepEqual(
    Array.from(p.bngain.dataSync().slice(0, 3)),
    [0.8898678421974182, 0.9879735112190247, 0.9317240715026855],
  );
  assert.equal(
    PARAM_NAMES.reduce((s, k) => s + p[k].size, 0),
    4137,
  );
  assert.deepEqual(p.bnbias.shape, [1, 64]);
  assert.ok(maxAbs(p.b1) > 0.05 && maxAbs(p.b1) < 0.5, 'b1 is small and random, not zero');
  disposeParams(p);
});

test('the chunked forward pass: PyTorch’s first loss, and log-softmax of logits computed a second way', async () => {
  await initTf();
  const { p, X, Y } = setUp(SEED, 32);
  const f = chunkedForward(p, X, Y);
  const loss = f.loss.dataSync()[0] as number;
  // torch: the same set-up, loss = -logprobs[range(n), Yb].mean() → 3.5571470260620117
  assert.ok(Math.abs(loss - 3.5571470260620117) < 1e-6, `loss ${loss}`);
  // second way: fused matmul, tf.moments (×n/(n−1) for Bessel), rsqrt, tf.logSoftmax, targets picked on the host
  const logp = tf.tidy(() => {
    const n = 32;
    const embcat = tf.gather(p.C, X).reshape([n, 30]) as tf.Tensor2D;
    const x = tf.fused.matMul({ a: embcat, b: p.W1 as tf.Tensor2D, bias: p.b1 });
    const { mean, variance } = tf.moments(x, 0, true);
    const hpre = x
      .sub(mean)
      .mul(tf.rsqrt(variance.mul(n / (n - 1)).add(1e-5)))
      .mul(p.bngain)
      .add(p.bnbias);
    return tf.logSoftmax(tf.fused.matMul({ a: tf.tanh(hpre) as tf.Tensor2D, b: p.W2 as tf.Tensor2D, bias: p.b2 }));
  });
  const lp = logp.arraySync() as number[][];
  const ys = Array.from(Y.dataSync());
  const second = -ys.reduce((s, y, i) => s + (lp[i]?.[y] as number), 0) / ys.length;
  assert.ok(Math.abs(second - loss) < 2e-6, `${second} vs ${loss}`);
  assert.ok(Math.abs((crossEntropy(f.logits, Y).dataSync()[0] as number) - loss) < 1e-6);
  // every intermediate is there, with the lecture's shapes
  assert.deepEqual(f.emb.shape, [32, 3, 10]);
  assert.deepEqual(f.bnvar_inv.shape, [1, 64]);
  assert.deepEqual(f.counts_sum_inv.shape, [32, 1]);
  assert.equal(INTERMEDIATES.filter((k) => !f[k]).length, 0);
  tf.dispose([logp, X, Y]);
  disposeParams(p);
});

test('exercise 1: every hand-written gradient equals autograd’s bit for bit (seeds, batch sizes, widths)', async () => {
  await initTf();
  for (const [seed, n, nHidden] of [
    [SEED, 32, 64],
    [1, 32, 64],
    [2, 25, 64],
    [3, 7, 13],
  ] as const) {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const { p, X, Y } = setUp(seed, n, { ...BACKPROP_MLP, nHidden });
      const f = chunkedForward(p, X, Y);
      const rows = compareGradients(chunkedBackward(p, f, X, Y), autogradGradients(p, X, Y));
      assert.equal(rows.length, 26);
      const off = rows.filter((r) => !r.exact).map((r) => `${r.name} ${r.maxdiff}`);
      assert.deepEqual(off, [], `seed ${seed}, n ${n}: not bit-exact`);
      const auto = autogradGradients(p, X, Y);
      // the checks are not vacuous: the gradients are far from zero…
      assert.ok(maxAbs(auto.dW1) > 1e-3 && maxAbs(auto.dC) > 1e-3 && maxAbs(auto.dbngain) > 1e-3);
      // …except where they must vanish: shifting the logits or adding b1 before BatchNorm changes nothing
      assert.ok(maxAbs(auto.dlogit_maxes) < 1e-6, `dlogit_maxes ${maxAbs(auto.dlogit_maxes)}`);
      assert.ok(maxAbs(auto.db1) < 1e-6, `db1 ${maxAbs(auto.db1)}`);
      disposeParams(p);
    });
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  }
});

test('exercise 1 with repeated characters and targets: dC collects every use of a row', async () => {
  await initTf();
  tf.tidy(() => {
    const p = initParams(BACKPROP_MLP, new TorchGenerator(5));
    const rows = [
      [1, 1, 1],
      [1, 1, 1],
      [1, 2, 1],
      [0, 0, 1],
      [2, 2, 2],
      [0, 1, 2],
      [1, 1, 1],
      [2, 0, 0],
    ];
    const X = tf.tensor2d(rows, [8, 3], 'int32');
    const Y = tf.tensor1d([1, 1, 1, 2, 1, 1, 2, 1], 'int32');
    const f = chunkedForward(p, X, Y);
    const manual = chunkedBackward(p, f, X, Y);
    const off = compareGradients(manual, autogradGradients(p, X, Y)).filter((r) => !r.exact);
    assert.deepEqual(off, []);
    // row c of dC is the sum of demb over the positions holding character c; unused characters get 0
    const demb = manual.demb.arraySync() as number[][][];
    const dC = manual.dC.arraySync() as number[][];
    for (let c = 0; c < 27; c++) {
      const expect = new Array<number>(10).fill(0);
      rows.forEach((r, k) =>
        r.forEach((ch, j) => {
          if (ch === c) demb[k]?.[j]?.forEach((v, e) => (expect[e] = (expect[e] as number) + v));
        }),
      );
      (dC[c] as number[]).forEach((v, e) => assert.ok(Math.abs(v - (expect[e] as number)) < 1e-7, `dC[${c}][${e}]`));
      if (c > 2) assert.ok((dC[c] as number[]).every((v) => v === 0));
    }
    assert.ok(maxAbs(manual.dC.slice([1, 0], [1, 10])) > 1e-4, 'character 1, used 14 times, gets a gradient');
    disposeParams(p);
  });
});

test('exercises 2 and 3: the fused formulas equal the step-by-step gradients; a wrong one would not', async () => {
  await initTf();
  for (const [seed, n] of [
    [SEED, 32],
    [4, 25],
    [6, 9],
  ] as const) {
    tf.tidy(() => {
      const { p, X, Y } = setUp(seed, n);
      const f = chunkedForward(p, X, Y);
      const g = chunkedBackward(p, f, X, Y);
      const ce = cmp('logits', crossEntropyBackwardFast(f.logits, Y), g.dlogits);
      assert.ok(ce.approximate && ce.maxdiff < 1e-7, `dlogits ${ce.maxdiff}`);
      const bn = batchNormBackwardFast(p.bngain, f.bnvar_inv, f.bnraw, g.dhpreact);
      const dh = cmp('hprebn', bn.dhprebn, g.dhprebn);
      assert.ok(dh.approximate && dh.maxdiff < 1e-8, `dhprebn ${dh.maxdiff}`);
      assert.ok(cmp('bngain', bn.dbngain, g.dbngain).exact && cmp('bnbias', bn.dbnbias, g.dbnbias).exact);
      // without Bessel's n/(n−1) the formula is wrong, and the comparison says so
      const noBessel = p.bngain
        .mul(f.bnvar_inv)
        .div(n)
        .mul(
          g.dhpreact
            .mul(n)
            .sub(g.dhpreact.sum(0))
            .sub(f.bnraw.mul(g.dhpreact.mul(f.bnraw).sum(0))),
        );
      const wrong = cmp('hprebn', noBessel, g.dhprebn);
      assert.ok(!wrong.approximate && wrong.maxdiff > 1e-5, `without Bessel: ${wrong.maxdiff}`);
      // exercise 4's step: the fused pieces together give the chunked gradients of every parameter
      const m = manualGradients(p, X, Y);
      assert.ok(Math.abs((m.loss.dataSync()[0] as number) - (f.loss.dataSync()[0] as number)) < 1e-6);
      for (const k of PARAM_NAMES) {
        const r = cmp(k, m.grads[k], g[`d${k}`]);
        // float noise only (softmax vs the chunked probabilities, summed over the batch): gradients are ~1e-2
        assert.ok(r.maxdiff < 1e-7, `${k}: ${r.maxdiff}`);
      }
      disposeParams(p);
    });
  }
});

test('exercise 4: 50 steps with hand-written gradients track autograd’s; tensors stay flat', async () => {
  await initTf();
  const before = tf.memory().numTensors;
  const counts: number[] = [];
  const common = {
    config: BACKPROP_MLP,
    seed: SEED,
    steps: 50,
    learningRate: 0.1,
    windows: data.windows.train,
    progressMs: 0,
  };
  const byHand = await trainByHand({ ...common, onStep: () => void counts.push(tf.memory().numTensors) });
  const auto = await trainByHand({ ...common, autograd: true });
  const fusedCounts: number[] = [];
  const fused = await trainByHand({
    ...common,
    fused: true,
    onStep: () => void fusedCounts.push(tf.memory().numTensors),
  });
  assert.equal(fused.run.fused, true);
  assert.equal(byHand.run.fused, false);
  const a = byHand.run.losses;
  const b = auto.run.losses;
  const c = fused.run.losses;
  assert.equal(a.length, 50);
  assert.ok(Math.abs((a[0] as number) - 3.5571470260620117) < 1e-6, `first loss ${a[0]}`);
  for (let i = 0; i < 50; i++) assert.ok(Math.abs((a[i] as number) - (b[i] as number)) < 1e-5, `step ${i}`);
  // the same hand-written step in the wasm kernels (Bessel's correction included): the same run
  for (let i = 0; i < 50; i++)
    assert.ok(Math.abs((a[i] as number) - (c[i] as number)) < 1e-5, `fused, step ${i}: ${c[i]} vs ${a[i]}`);
  for (const k of PARAM_NAMES) {
    const r = cmp(k, byHand.params[k], fused.params[k]);
    assert.ok(r.maxdiff < 1e-5, `${k} after 50 fused steps: ${r.maxdiff}`);
  }
  assert.equal(Math.max(...fusedCounts), Math.min(...fusedCounts), 'tensor count changed during fused training');
  await assert.rejects(
    trainByHand({ ...common, fused: true, autograd: true }),
    /`autograd` and `fused` exclude each other/,
  );
  disposeParams(fused.params);
  const mean = (xs: Float32Array) => xs.reduce((s, v) => s + v, 0) / xs.length;
  assert.ok(mean(a.subarray(40)) < (a[0] as number) - 0.3, 'training lowers the loss');
  for (const k of PARAM_NAMES) {
    const r = cmp(k, byHand.params[k], auto.params[k]);
    assert.ok(r.maxdiff < 1e-5, `${k} after 50 steps: ${r.maxdiff}`);
  }
  // the parameters moved (the run is not a no-op that trivially matches)
  const fresh = initParams(BACKPROP_MLP, new TorchGenerator(SEED));
  assert.ok(cmp('W2', byHand.params.W2, fresh.W2).maxdiff > 1e-2);
  assert.equal(Math.max(...counts), Math.min(...counts), 'tensor count changed during training');
  disposeParams(fresh);
  disposeParams(byHand.params);
  disposeParams(auto.params);
  assert.equal(tf.memory().numTensors, before, 'tensors leaked by the training runs');
});

test('calibration and evaluation: whole-set statistics chunk by chunk; the library model computes the lecture’s formula', async () => {
  await initTf();
  const before = tf.memory().numTensors;
  const p = initParams(BACKPROP_MLP, new TorchGenerator(7));
  const w = buildWindows(data.split.dev.slice(0, 40), data.vocab, 3);
  const stats = calibrateBatchNorm(p, w, 17);
  const X = tf.tensor2d(w.X, [w.n, 3], 'int32');
  const Y = tf.tensor1d(w.Y, 'int32');
  tf.tidy(() => {
    const hprebn = tf.gather(p.C, X).reshape([w.n, 30]).matMul(p.W1).add(p.b1);
    const m = tf.moments(hprebn, 0);
    assert.ok(cmp('mean', stats.mean, m.mean).maxdiff < 1e-5);
    assert.ok(cmp('var', stats.variance, m.variance.mul(w.n / (w.n - 1))).maxdiff < 1e-5);
    // the lecture's evaluation: bngain·(hpreact − bnmean)·(bnvar + 1e-5)^−0.5 + bnbias with the calibrated statistics
    const hpreact = p.bngain.mul(hprebn.sub(stats.mean).mul(stats.variance.add(1e-5).pow(-0.5))).add(p.bnbias);
    const expected = crossEntropy(tf.tanh(hpreact).matMul(p.W2).add(p.b2), Y).dataSync()[0] as number;
    const model = toSequential(p, stats);
    const got = model.loss(X, Y).dataSync()[0] as number;
    assert.ok(Math.abs(got - expected) < 1e-5, `${got} vs ${expected}`);
    assert.ok(Math.abs(expected - Math.log(27)) < 1.5, 'a sensible loss');
    model.dispose();
  });
  tf.dispose([X, Y, stats.mean, stats.variance]);
  disposeParams(p);
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
});
