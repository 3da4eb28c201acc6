/**
 * Exercises of notebook 06 on BatchNorm at inference: fold a BatchNorm into the Linear layer before it
 * (checked by comparing eval-mode outputs), and calibrate its statistics over the whole training set.
 */
import { tf } from '../runtime/tf';
import { grade, expect, formatShape, firstMismatch, type Verdict } from './check';
import { BatchNorm1d, Linear } from '../nn/layers';
import type { Sequential } from '../models/lecture/sequential';
import type { Windows } from '../data/windows';
import { evaluateWindows } from '../train/evaluate';
import { TorchGenerator } from '../random/torch-generator';

/** A Linear layer and the BatchNorm after it, replaced by one Linear layer: y = x·W + b. */
export type Fold = (linear: Linear, bn: BatchNorm1d) => { W: tf.Tensor; b: tf.Tensor };

/** A Linear → BatchNorm1d pair with every parameter and running statistic random (and a large eps). */
function randomPair(seed: number, fanIn: number, fanOut: number, bias: boolean, eps: number) {
  const g = new TorchGenerator(seed);
  const linear = new Linear(g, fanIn, fanOut, { bias, init: { kind: 'kaiming', gain: 1 } });
  const bn = new BatchNorm1d(fanOut, eps);
  const rand = (scale: number, offset = 0) => tf.tidy(() => tf.tensor1d(g.randn(fanOut)).mul(scale).add(offset));
  const set = (v: tf.Variable, t: tf.Tensor) => {
    v.assign(t);
    t.dispose();
  };
  if (linear.b) set(linear.b, rand(1));
  set(bn.gamma, rand(0.5, 1));
  set(bn.beta, rand(1));
  set(bn.runningMean, rand(1));
  set(
    bn.runningVar,
    tf.tidy(() => tf.tensor1d(g.rand(fanOut)).mul(2).add(0.05)),
  );
  const x = tf.tensor2d(g.randn(8 * fanIn), [8, fanIn]);
  return { linear, bn, x };
}

/** Folds by the usual slips, to name the one the learner's outputs match. */
function slips(linear: Linear, bn: BatchNorm1d, x: tf.Tensor2D): [string, Float32Array | Int32Array | Uint8Array][] {
  return tf.tidy(() => {
    const pre = linear.forward(x);
    const out = (mean: tf.Tensor, std: tf.Tensor, beta: tf.Tensor) =>
      pre.sub(mean).div(std).mul(bn.gamma).add(beta).dataSync();
    const zero = tf.zerosLike(bn.beta);
    return [
      [
        'the folded layer leaves out eps: divide by sqrt(runningVar + eps)',
        out(bn.runningMean, bn.runningVar.sqrt(), bn.beta),
      ],
      [
        'it divides by the variance: divide by the standard deviation sqrt(runningVar + eps)',
        out(bn.runningMean, bn.runningVar.add(bn.eps), bn.beta),
      ],
      [
        "the running mean is missing from the bias: b' = (b − runningMean)·scale + β",
        out(zero, bn.runningVar.add(bn.eps).sqrt(), bn.beta),
      ],
      [
        "β is missing from the bias: b' = (b − runningMean)·scale + β",
        out(bn.runningMean, bn.runningVar.add(bn.eps).sqrt(), zero),
      ],
    ];
  });
}

function compareFold(f: Fold, linear: Linear, bn: BatchNorm1d, x: tf.Tensor2D, label: string): void {
  const { W, b } = f(linear, bn);
  const [fanIn, fanOut] = [linear.fanIn, linear.fanOut];
  expect(W instanceof tf.Tensor && b instanceof tf.Tensor, `${label}: fold should return { W, b }, two tf.Tensors`);
  expect(
    W.rank === 2 && W.shape[0] === fanIn && W.shape[1] === fanOut,
    `${label}: W has shape ${formatShape(W.shape)}, expected [${fanIn}, ${fanOut}] (the Linear layer's shape)`,
  );
  expect(
    b.size === fanOut && (b.rank === 1 || (b.rank === 2 && b.shape[0] === 1)),
    `${label}: b has shape ${formatShape(b.shape)}, expected [${fanOut}] (one bias per output)`,
  );
  const got = tf.tidy(() =>
    tf
      .matMul(x, W)
      .add(b.reshape([fanOut]))
      .dataSync(),
  );
  const want = tf.tidy(() => bn.forward(linear.forward(x), false).dataSync());
  tf.dispose([W, b]);
  const bad = firstMismatch(got, want, { abs: 1e-4, rel: 1e-4 });
  if (!bad) return;
  const slip = slips(linear, bn, x).find(([, out]) => !firstMismatch(got, out, { abs: 1e-4, rel: 1e-4 }));
  expect(
    false,
    `${label}: output[${Math.floor(bad.index / fanOut)}][${bad.index % fanOut}] of x·W + b is ${bad.got.toFixed(4)}, ` +
      `but BatchNorm(Linear(x)) in eval mode gives ${bad.want.toFixed(4)}` +
      (slip
        ? ` — ${slip[0]}`
        : ": W' = W·γ/√(runningVar + eps) per column, b' = (b − runningMean)·γ/√(runningVar + eps) + β"),
  );
}

/** Logits of a notebook-06-style Sequential in eval mode, each Linear → BatchNorm1d pair replaced by its fold. */
function foldedLogits(f: Fold, model: Sequential, X: tf.Tensor2D): tf.Tensor {
  const { blockSize, nEmbd } = model.config;
  expect(model.C !== null && nEmbd !== undefined, "the model should own its embedding table C (notebook 06's form)");
  let x: tf.Tensor = tf.gather(model.C, X).reshape([-1, blockSize * nEmbd]);
  for (let i = 0; i < model.layers.length; i++) {
    const layer = model.layers[i]!;
    const next = model.layers[i + 1];
    if (layer instanceof Linear && next instanceof BatchNorm1d) {
      const { W, b } = f(layer, next);
      x = tf.matMul(x as tf.Tensor2D, W).add(b.reshape([-1]));
      i++;
    } else x = layer.forward(x, false);
  }
  return x;
}

/**
 * 06 · Exercise 2: `fold(linear, bn)` → { W, b } replacing Linear → BatchNorm1d at inference; compared in eval
 * mode with the pair on random layers (with and without bias), then on the trained model's logits.
 */
export function checkBatchNormFold(fold: Fold | undefined, model?: Sequential, X?: tf.Tensor2D): Verdict {
  return grade('06·2 fold BatchNorm into the Linear layer', fold, (f) => {
    for (const [seed, bias, eps, label] of [
      [1, true, 0.5, 'Linear(6 → 4) with bias, BatchNorm eps 0.5'],
      [2, false, 1e-5, 'Linear(5 → 3) without bias'],
    ] as const) {
      const { linear, bn, x } = randomPair(seed, bias ? 6 : 5, bias ? 4 : 3, bias, eps);
      try {
        compareFold(f, linear, bn, x, label);
      } finally {
        linear.dispose();
        bn.dispose();
        x.dispose();
      }
    }
    if (!model || !X) return 'x·W + b equals BatchNorm(Linear(x)) in eval mode on random layers';
    const pairs = model.layers.filter(
      (l, i) => l instanceof Linear && model.layers[i + 1] instanceof BatchNorm1d,
    ).length;
    const [got, want] = tf.tidy(() => [foldedLogits(f, model, X).dataSync(), model.forward(X).logits.dataSync()]);
    const bad = firstMismatch(got!, want!, { abs: 1e-3, rel: 1e-3 });
    const V = model.vocabSize;
    expect(
      !bad,
      bad
        ? `on your model: logits[${Math.floor(bad.index / V)}][${bad.index % V}] with the BatchNorm folded = ${bad.got.toFixed(4)}, ` +
            `the model in eval mode gives ${bad.want.toFixed(4)}`
        : '',
    );
    return `x·W + b equals BatchNorm(Linear(x)) on random layers, and on your model with ${pairs} BatchNorm${pairs === 1 ? '' : 's'} folded away the logits agree (to 1e-3)`;
  });
}

/**
 * 06 · Exercise 3: `{ mean, variance }` of the first BatchNorm's input over the whole training set (the
 * lecture's calibration after training); recomputed here (plain JS, example by example), then the dev loss with them reported.
 */
export function checkBatchNormCalibration(
  stats: { mean: tf.Tensor; variance: tf.Tensor } | undefined,
  model: Sequential,
  train: Windows,
  dev: Windows,
): Verdict {
  return grade('06·3 calibrate BatchNorm on the training set', stats, ({ mean, variance }) => {
    const k = model.layers.findIndex((l) => l instanceof BatchNorm1d);
    const linear = model.layers[k - 1];
    const { blockSize, nEmbd } = model.config;
    expect(
      k === 1 && linear instanceof Linear && model.C !== null && nEmbd !== undefined,
      "expected notebook 06's BatchNorm MLP: embedding C, then Linear → BatchNorm1d → …",
    );
    const bn = model.layers[k] as BatchNorm1d;
    // the pre-activations of every training example, in plain JS (row by row: no large tensor)
    const H = bn.dim;
    const D = blockSize * nEmbd;
    const Cv = model.C.dataSync();
    const Wv = linear.W.dataSync();
    const bv = linear.b ? linear.b.dataSync() : new Float32Array(H);
    const sum = new Float64Array(H);
    const sq = new Float64Array(H);
    const emb = new Float64Array(D);
    const pre = new Float64Array(H);
    for (let r = 0; r < train.n; r++) {
      for (let t = 0; t < blockSize; t++) {
        const ix = train.X[r * blockSize + t] as number;
        for (let e = 0; e < nEmbd; e++) emb[t * nEmbd + e] = Cv[ix * nEmbd + e] as number;
      }
      pre.set(bv);
      for (let d = 0; d < D; d++) {
        const x = emb[d] as number;
        const off = d * H;
        for (let h = 0; h < H; h++) pre[h]! += x * (Wv[off + h] as number);
      }
      for (let h = 0; h < H; h++) {
        sum[h]! += pre[h] as number;
        sq[h]! += (pre[h] as number) ** 2;
      }
    }
    const n = train.n;
    const wantMean = Float64Array.from(sum, (x) => x / n);
    const wantVar = Float64Array.from(sq, (x, i) => x / n - (wantMean[i] as number) ** 2);
    for (const [label, t] of [
      ['mean', mean],
      ['variance', variance],
    ] as const) {
      expect(t instanceof tf.Tensor, `${label} is ${typeof t}, not a tf.Tensor`);
      expect(
        t.size === H && (t.rank === 1 || (t.rank === 2 && t.shape[0] === 1)),
        `${label} has shape ${formatShape(t.shape)}, expected [${H}] (or [1, ${H}]): one per hidden unit, over the examples (axis 0)` +
          (t.size === n ? ` — yours has one per training example: take it over axis 0, not 1` : ''),
      );
    }
    const m = mean.dataSync();
    const v = variance.dataSync();
    const badMean = firstMismatch(m, wantMean, { abs: 1e-3, rel: 1e-3 });
    expect(
      !badMean,
      badMean
        ? `mean[${badMean.index}] = ${badMean.got.toFixed(4)}, but the pre-activation of unit ${badMean.index} averages ` +
            `${badMean.want.toFixed(4)} over all ${n} training examples (did you use a minibatch or the dev set?)`
        : '',
    );
    const badVar = firstMismatch(v, wantVar, { abs: 1e-3, rel: 2e-3 });
    if (badVar) {
      const isStd = !firstMismatch(v, Float64Array.from(wantVar, Math.sqrt), { abs: 1e-3, rel: 2e-3 });
      expect(
        false,
        `variance[${badVar.index}] = ${badVar.got.toFixed(4)}, expected ${badVar.want.toFixed(4)} over all ${n} training examples` +
          (isStd ? ': that is the standard deviation; square it' : ''),
      );
    }
    const drift = Math.max(...Array.from(bn.runningMean.dataSync(), (r, i) => Math.abs(r - (wantMean[i] as number))));
    const lossOf = (X: tf.Tensor2D, Y: tf.Tensor1D) => model.loss(X, Y);
    const devRunning = evaluateWindows(dev, lossOf);
    const saved = [tf.clone(bn.runningMean), tf.clone(bn.runningVar)] as const;
    let devCalibrated: number;
    try {
      tf.tidy(() => {
        bn.runningMean.assign(tf.tensor1d(Float32Array.from(wantMean)));
        bn.runningVar.assign(tf.tensor1d(Float32Array.from(wantVar)));
      });
      devCalibrated = evaluateWindows(dev, lossOf);
    } finally {
      bn.runningMean.assign(saved[0]);
      bn.runningVar.assign(saved[1]);
      tf.dispose([...saved]);
    }
    return (
      `right over all ${n} examples; the running mean is within ${drift.toFixed(3)} of it. Dev loss with the running ` +
      `statistics ${devRunning.toFixed(4)}, with yours ${devCalibrated.toFixed(4)}`
    );
  });
}
