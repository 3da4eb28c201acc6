/**
 * Backpropagation by hand (the lecture "Becoming a backprop ninja", notebook 10): the BatchNorm MLP's
 * forward pass cut into every intermediate the lecture names, each piece's backward written next to its
 * forward, the fused cross-entropy and BatchNorm backward passes, and the reference gradients from
 * tfjs's autograd that every hand-written one is checked against.
 *
 * Names follow the lecture one to one (snake_case included: `bnvar_inv` here is `bnvar_inv` there, and
 * `dbnvar_inv` is its gradient), so each line can be read against the lecture's. The functions build
 * tensors and free none: call them inside tf.tidy.
 */
import { tf } from '../../runtime/tf';
import { ownedVariable } from '../../nn/init';
import { crossEntropy } from '../../nn/losses';
import { BatchNorm1d, Embedding, FlattenConsecutive, Linear, Tanh } from '../../nn/layers';
import { besselBatchNorm } from '../../nn/batchnorm';
import { Sequential } from './sequential';
import type { Windows } from '../../data/windows';
import type { Rng } from '../../random/rng';
import { TorchGenerator } from '../../random/torch-generator';
import { throwIfInterrupted } from '../../runtime/interrupt';
import { minibatch, sampleWindows } from '../../data/batches';
import { train, type Schedule, type TrainResult } from '../../train/loop';
import { FusedStep } from '../../fused/step';

export interface BackpropConfig {
  vocabSize: number;
  blockSize: number;
  nEmbd: number;
  nHidden: number;
}

/** The lecture's exercise net: 27 characters, 3 of context, 10-d embeddings, 64 hidden units (4,137 parameters). */
export const BACKPROP_MLP: BackpropConfig = { vocabSize: 27, blockSize: 3, nEmbd: 10, nHidden: 64 };

/** The parameters in the order the lecture draws them. */
export const PARAM_NAMES = ['C', 'W1', 'b1', 'W2', 'b2', 'bngain', 'bnbias'] as const;
export type ParamName = (typeof PARAM_NAMES)[number];
export type Params<T extends tf.Tensor = tf.Tensor> = Record<ParamName, T>;

/** Every intermediate of the chunked forward pass, in forward order. */
export const INTERMEDIATES = [
  'emb',
  'embcat',
  'hprebn',
  'bnmeani',
  'bndiff',
  'bndiff2',
  'bnvar',
  'bnvar_inv',
  'bnraw',
  'hpreact',
  'h',
  'logits',
  'logit_maxes',
  'norm_logits',
  'counts',
  'counts_sum',
  'counts_sum_inv',
  'probs',
  'logprobs',
] as const;
export type Intermediate = (typeof INTERMEDIATES)[number];
export type Forward = Record<Intermediate, tf.Tensor> & { loss: tf.Scalar };
/** ∂loss/∂x for every intermediate and parameter x, named as the lecture names them: `dlogprobs`, `dC`. */
export type Grads = Record<`d${Intermediate | ParamName}`, tf.Tensor>;

/**
 * Marks an intermediate whose gradient we want, like PyTorch's `t.retain_grad()`: returns the tensor
 * the rest of the forward pass must use. The plain forward pass keeps nothing (`noKeep`).
 */
export type Keep = (name: Intermediate, t: tf.Tensor) => tf.Tensor;
const noKeep: Keep = (_name, t) => t;

let uniq = 0;
function randnScaled(rng: Rng, shape: number[], f: (v: number) => number, name: string): tf.Variable {
  const v = rng.randn(shape).map(f);
  // variables need names unique in the process: optimizers find their gradients by name
  return ownedVariable(tf.tensor(v, shape, 'float32'), true, `backprop_${name}_${uniq++}`);
}

/**
 * The lecture's parameters, drawn from `rng` in its order. Biases and BatchNorm's gain and shift get
 * small random values instead of 0 and 1: a gradient formula that is wrong only where a value is 0 or 1
 * would pass a check at exactly those values. b1 is kept though BatchNorm makes it useless (its
 * gradient must come out ≈ 0). Each product and sum is rounded to float32 as torch computes it.
 */
export function initParams(c: BackpropConfig, rng: Rng): Params<tf.Variable> {
  const fanIn = c.nEmbd * c.blockSize;
  const f = Math.fround;
  const gain = f(5 / 3);
  const root = f(Math.sqrt(fanIn));
  return {
    C: randnScaled(rng, [c.vocabSize, c.nEmbd], (v) => v, 'C'),
    W1: randnScaled(rng, [fanIn, c.nHidden], (v) => f(f(v * gain) / root), 'W1'),
    b1: randnScaled(rng, [c.nHidden], (v) => f(v * f(0.1)), 'b1'),
    W2: randnScaled(rng, [c.nHidden, c.vocabSize], (v) => f(v * f(0.1)), 'W2'),
    b2: randnScaled(rng, [c.vocabSize], (v) => f(v * f(0.1)), 'b2'),
    bngain: randnScaled(rng, [1, c.nHidden], (v) => f(f(v * f(0.1)) + 1), 'bngain'),
    bnbias: randnScaled(rng, [1, c.nHidden], (v) => f(v * f(0.1)), 'bnbias'),
  };
}

// ── Embedding: emb = C[Xb], embcat = the window's vectors side by side ──────────────────────────────────

export function embeddingForward(
  C: tf.Tensor,
  Xb: tf.Tensor,
  keep: Keep = noKeep,
): { emb: tf.Tensor; embcat: tf.Tensor } {
  const emb = keep('emb', tf.gather(C, Xb));
  const embcat = keep('embcat', emb.reshape([Xb.shape[0] as number, -1]));
  return { emb, embcat };
}

export function embeddingBackward(C: tf.Tensor, Xb: tf.Tensor, dembcat: tf.Tensor): { demb: tf.Tensor; dC: tf.Tensor } {
  const [V, E] = C.shape as [number, number];
  // a reshape moves no number: its gradient is the same numbers in the input's shape
  const demb = dembcat.reshape([...Xb.shape, E]);
  // C[Xb] copies row Xb[k, j] of C into emb[k, j]; backwards, each copy's gradient is added into that row,
  // so a character used several times in the batch collects all of them (the lecture's double loop)
  const dC = tf.unsortedSegmentSum(demb.reshape([-1, E]), Xb.reshape([-1]) as tf.Tensor1D, V);
  return { demb, dC };
}

// ── Linear: y = x @ W + b ───────────────────────────────────────────────────────────────────────────────

export function linearForward(x: tf.Tensor, W: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.matMul(x, W).add(b);
}

export function linearBackward(
  x: tf.Tensor,
  W: tf.Tensor,
  dy: tf.Tensor,
): { dx: tf.Tensor; dW: tf.Tensor; db: tf.Tensor } {
  // y[i, j] = Σk x[i, k] W[k, j]: x[i, k] reaches every y[i, ·] through W[k, ·] → dx = dy @ Wᵀ, and
  // W[k, j] every y[·, j] through x[·, k] → dW = xᵀ @ dy (the only products whose shapes fit);
  // b is broadcast down the rows, so its gradient sums over them
  return { dx: tf.matMul(dy, W, false, true), dW: tf.matMul(x, dy, true, false), db: dy.sum(0) };
}

// ── BatchNorm, one elementary operation a line ─────────────────────────────────────────────────────────

export type BatchNormForward = Pick<
  Forward,
  'bnmeani' | 'bndiff' | 'bndiff2' | 'bnvar' | 'bnvar_inv' | 'bnraw' | 'hpreact'
>;

export function batchNormForward(
  hprebn: tf.Tensor,
  bngain: tf.Tensor,
  bnbias: tf.Tensor,
  keep: Keep = noKeep,
): BatchNormForward {
  const n = hprebn.shape[0] as number;
  const bnmeani = keep('bnmeani', hprebn.sum(0, true).mul(1 / n));
  const bndiff = keep('bndiff', hprebn.sub(bnmeani));
  const bndiff2 = keep('bndiff2', bndiff.square());
  // Bessel's correction, n − 1, as the lecture uses (torch.nn.BatchNorm1d normalises with 1/n)
  const bnvar = keep('bnvar', bndiff2.sum(0, true).mul(1 / (n - 1)));
  const bnvar_inv = keep('bnvar_inv', bnvar.add(1e-5).pow(-0.5));
  const bnraw = keep('bnraw', bndiff.mul(bnvar_inv));
  const hpreact = keep('hpreact', bngain.mul(bnraw).add(bnbias));
  return { bnmeani, bndiff, bndiff2, bnvar, bnvar_inv, bnraw, hpreact };
}

export function batchNormBackward(
  hprebn: tf.Tensor,
  bngain: tf.Tensor,
  f: BatchNormForward,
  dhpreact: tf.Tensor,
): Pick<
  Grads,
  'dbngain' | 'dbnbias' | 'dbnraw' | 'dbnvar_inv' | 'dbnvar' | 'dbndiff2' | 'dbndiff' | 'dbnmeani' | 'dhprebn'
> {
  const n = hprebn.shape[0] as number;
  const { bndiff, bnvar, bnvar_inv, bnraw } = f;
  // hpreact = bngain * bnraw + bnbias: bngain and bnbias [1, H] are broadcast down the n rows, so
  // their gradients sum over the rows (a broadcast forward is a sum backward)
  const dbngain = bnraw.mul(dhpreact).sum(0, true);
  const dbnbias = dhpreact.sum(0, true);
  const dbnraw = bngain.mul(dhpreact);
  // bnraw = bndiff * bnvar_inv: bnvar_inv [1, H] is broadcast, so it sums; this is bndiff's first use
  const dbnvar_inv = bndiff.mul(dbnraw).sum(0, true);
  const dbndiffViaRaw = bnvar_inv.mul(dbnraw);
  // bnvar_inv = (bnvar + ε)^−0.5: d/dx x^−0.5 = −0.5·x^−1.5
  const dbnvar = dbnvar_inv.mul(bnvar.add(1e-5).pow(-1.5).mul(-0.5));
  // bnvar = 1/(n−1) · Σrows bndiff2: a sum forward is a broadcast backward — every row gets the gradient
  const dbndiff2 = tf.onesLike(f.bndiff2).mul(dbnvar.mul(1 / (n - 1)));
  // bndiff2 = bndiff²: bndiff's second use; the gradients of a value used twice add up
  const dbndiff = dbndiffViaRaw.add(dbndiff2.mul(bndiff.mul(2)));
  // bndiff = hprebn − bnmeani: bnmeani [1, H] is broadcast (and subtracted), so minus the row sum
  const dbnmeani = dbndiff.sum(0, true).neg();
  // bnmeani = 1/n · Σrows hprebn: hprebn's second use, broadcast back over the rows
  const dhprebn = dbndiff.add(tf.onesLike(hprebn).mul(dbnmeani.mul(1 / n)));
  return { dbngain, dbnbias, dbnraw, dbnvar_inv, dbnvar, dbndiff2, dbndiff, dbnmeani, dhprebn };
}

// ── tanh ────────────────────────────────────────────────────────────────────────────────────────────────

export function tanhForward(hpreact: tf.Tensor): tf.Tensor {
  return tf.tanh(hpreact);
}

export function tanhBackward(h: tf.Tensor, dh: tf.Tensor): tf.Tensor {
  // d tanh(x)/dx = 1 − tanh(x)²: written with the output h, so the forward's result is all it needs
  return tf.sub(1, h.square()).mul(dh);
}

// ── Cross-entropy, one elementary operation a line ─────────────────────────────────────────────────────

export type CrossEntropyForward = Pick<
  Forward,
  'logit_maxes' | 'norm_logits' | 'counts' | 'counts_sum' | 'counts_sum_inv' | 'probs' | 'logprobs' | 'loss'
>;

/** Row i, column Yb[i] of an [n, V] tensor is element i·V + Yb[i] of its flattened form. */
function pickedIndex(Yb: tf.Tensor, V: number): tf.Tensor {
  return tf
    .range(0, Yb.shape[0] as number, 1, 'int32')
    .mul(tf.scalar(V, 'int32'))
    .add(Yb);
}

/** One-hot rows as float32. */
function oneHot(indices: tf.Tensor, V: number): tf.Tensor {
  return tf.oneHot(indices, V, 1, 0, 'float32');
}

export function crossEntropyForward(logits: tf.Tensor, Yb: tf.Tensor, keep: Keep = noKeep): CrossEntropyForward {
  const V = logits.shape[1] as number;
  // subtracting each row's maximum keeps exp from overflowing; it changes no probability
  const logit_maxes = keep('logit_maxes', logits.max(1, true));
  const norm_logits = keep('norm_logits', logits.sub(logit_maxes));
  const counts = keep('counts', norm_logits.exp());
  const counts_sum = keep('counts_sum', counts.sum(1, true));
  const counts_sum_inv = keep('counts_sum_inv', counts_sum.pow(-1));
  const probs = keep('probs', counts.mul(counts_sum_inv));
  const logprobs = keep('logprobs', probs.log());
  // −logprobs[range(n), Yb].mean()
  const loss = tf
    .gather(logprobs.reshape([-1]), pickedIndex(Yb, V))
    .mean()
    .neg() as tf.Scalar;
  return { logit_maxes, norm_logits, counts, counts_sum, counts_sum_inv, probs, logprobs, loss };
}

export function crossEntropyBackward(
  logits: tf.Tensor,
  Yb: tf.Tensor,
  f: CrossEntropyForward,
): Pick<
  Grads,
  'dlogprobs' | 'dprobs' | 'dcounts_sum_inv' | 'dcounts_sum' | 'dcounts' | 'dnorm_logits' | 'dlogit_maxes' | 'dlogits'
> {
  const [n, V] = logits.shape as [number, number];
  const { counts, counts_sum, counts_sum_inv, probs } = f;
  // loss = −(1/n) Σi logprobs[i, Yb[i]]: the n picked entries get −1/n each, all the others 0
  const dlogprobs = oneHot(Yb, V).mul(-1 / n);
  // logprobs = log(probs): d log p = dp / p (a picked probability near 0 gets a large push)
  const dprobs = dlogprobs.div(probs);
  // probs = counts * counts_sum_inv: counts_sum_inv [n, 1] is broadcast along each row, so it sums;
  // this is counts' first use
  const dcounts_sum_inv = counts.mul(dprobs).sum(1, true);
  const dcountsViaProbs = counts_sum_inv.mul(dprobs);
  // counts_sum_inv = counts_sum^−1: d/dx x^−1 = −x^−2
  const dcounts_sum = dcounts_sum_inv.mul(counts_sum.pow(-2).mul(-1));
  // counts_sum = Σcols counts: every count of the row gets the row's gradient; counts' second use adds
  const dcounts = dcountsViaProbs.add(tf.onesLike(counts).mul(dcounts_sum));
  // counts = exp(norm_logits): exp is its own derivative, and its value is counts
  const dnorm_logits = counts.mul(dcounts);
  // norm_logits = logits − logit_maxes: logit_maxes [n, 1] is broadcast (and subtracted)
  const dlogit_maxes = dnorm_logits.sum(1, true).neg();
  // logit_maxes = each row's maximum: only the entry that is the maximum moves it; logits' second use
  const argmaxOneHot = oneHot(logits.argMax(1), V);
  const dlogits = dnorm_logits.add(argmaxOneHot.mul(dlogit_maxes));
  return { dlogprobs, dprobs, dcounts_sum_inv, dcounts_sum, dcounts, dnorm_logits, dlogit_maxes, dlogits };
}

// ── The whole net ───────────────────────────────────────────────────────────────────────────────────────

/** The lecture's forward pass, chunked into every intermediate; `keep` marks each one (see Keep). */
export function chunkedForward(p: Params, Xb: tf.Tensor, Yb: tf.Tensor, keep: Keep = noKeep): Forward {
  const { emb, embcat } = embeddingForward(p.C, Xb, keep);
  const hprebn = keep('hprebn', linearForward(embcat, p.W1, p.b1));
  const bn = batchNormForward(hprebn, p.bngain, p.bnbias, keep);
  const h = keep('h', tanhForward(bn.hpreact));
  const logits = keep('logits', linearForward(h, p.W2, p.b2));
  return { emb, embcat, hprebn, ...bn, h, logits, ...crossEntropyForward(logits, Yb, keep) };
}

/** Exercise 1: the backward pass through every intermediate, from the loss down to C. */
export function chunkedBackward(p: Params, f: Forward, Xb: tf.Tensor, Yb: tf.Tensor): Grads {
  const ce = crossEntropyBackward(f.logits, Yb, f);
  const { dx: dh, dW: dW2, db: db2 } = linearBackward(f.h, p.W2, ce.dlogits);
  const dhpreact = tanhBackward(f.h, dh);
  const bn = batchNormBackward(f.hprebn, p.bngain, f, dhpreact);
  const { dx: dembcat, dW: dW1, db: db1 } = linearBackward(f.embcat, p.W1, bn.dhprebn);
  const { demb, dC } = embeddingBackward(p.C, Xb, dembcat);
  return { ...ce, dh, dW2, db2, dhpreact, ...bn, dembcat, dW1, db1, demb, dC };
}

/**
 * The reference: tfjs's autograd over the same chunked forward. tfjs has no `retain_grad`, so a zero
 * tensor is added to every intermediate and tf.grads differentiates the loss with respect to those
 * zeros too: adding zero changes no value, and the gradient of `x + zero` with respect to the zero is
 * exactly the gradient with respect to x.
 */
export function autogradGradients(p: Params, Xb: tf.Tensor, Yb: tf.Tensor): Grads {
  return tf.tidy(() => {
    const shapes = tf.tidy(() => {
      const f = chunkedForward(p, Xb, Yb);
      return INTERMEDIATES.map((k) => f[k].shape);
    });
    const zeros = shapes.map((s) => tf.zeros(s));
    const inputs = [...PARAM_NAMES.map((k) => p[k]), ...zeros];
    const lossOf = (...xs: tf.Tensor[]): tf.Scalar => {
      const q = Object.fromEntries(PARAM_NAMES.map((k, i) => [k, xs[i]])) as Params;
      const keep: Keep = (name, t) => t.add(xs[PARAM_NAMES.length + INTERMEDIATES.indexOf(name)] as tf.Tensor);
      return chunkedForward(q, Xb, Yb, keep).loss;
    };
    const g = tf.grads(lossOf)(inputs);
    const names = [...PARAM_NAMES, ...INTERMEDIATES];
    return Object.fromEntries(names.map((k, i) => [`d${k}`, g[i] as tf.Tensor])) as Grads;
  });
}

/** One row of the lecture's `cmp`: bitwise equal, allclose (torch's rtol 1e-5, atol 1e-8), max |difference|. */
// a type, not an interface, so that a Comparison is a table Row (interfaces have no index signature)
export type Comparison = {
  name: string;
  exact: boolean;
  approximate: boolean;
  maxdiff: number;
};

export function cmp(name: string, dt: tf.Tensor, reference: tf.Tensor): Comparison {
  if (dt.shape.join() !== reference.shape.join())
    throw new Error(`${name}: gradient of shape [${dt.shape}], the reference has [${reference.shape}]`);
  const a = dt.dataSync();
  const b = reference.dataSync();
  let exact = true;
  let approximate = true;
  let maxdiff = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    const d = Math.abs(x - y);
    if (x !== y) exact = false;
    if (!(d <= 1e-8 + 1e-5 * Math.abs(y))) approximate = false;
    if (!(d <= maxdiff)) maxdiff = d; // NaN wins
  }
  return { name, exact, approximate, maxdiff };
}

/** The lecture's order of checks: backwards from the loss, each parameter where its layer is reached. */
const CHECK_ORDER = [
  'logprobs',
  'probs',
  'counts_sum_inv',
  'counts_sum',
  'counts',
  'norm_logits',
  'logit_maxes',
  'logits',
  'h',
  'W2',
  'b2',
  'hpreact',
  'bngain',
  'bnbias',
  'bnraw',
  'bnvar_inv',
  'bnvar',
  'bndiff2',
  'bndiff',
  'bnmeani',
  'hprebn',
  'embcat',
  'W1',
  'b1',
  'emb',
  'C',
] as const satisfies readonly (Intermediate | ParamName)[];

/** `cmp` for every gradient of exercise 1, in the lecture's order. */
export function compareGradients(manual: Grads, reference: Grads): Comparison[] {
  return CHECK_ORDER.map((k) => cmp(k, manual[`d${k}`], reference[`d${k}`]));
}

// ── Exercise 2: cross-entropy backward in one line ─────────────────────────────────────────────────────

/**
 * ∂loss/∂logits = (softmax(logits) − onehot(Yb)) / n: each row pulls its target's probability up by
 * 1 − p and pushes every other character down by its probability (rows sum to 0), scaled by the mean's 1/n.
 */
export function crossEntropyBackwardFast(logits: tf.Tensor, Yb: tf.Tensor): tf.Tensor {
  const [n, V] = logits.shape as [number, number];
  return tf.softmax(logits).sub(oneHot(Yb, V)).div(n);
}

// ── Exercise 3: BatchNorm backward in one formula ──────────────────────────────────────────────────────

/**
 * BatchNorm's backward on paper: with x̂ = bnraw, γ = bngain and the n/(n−1) of Bessel's correction,
 *   dhprebn = γ·bnvar_inv/n · (n·dhpreact − Σ dhpreact − n/(n−1)·x̂·Σ(dhpreact·x̂)),
 * the sums over the batch. The gradients of γ and β are the chunked ones (they were one line each).
 */
export function batchNormBackwardFast(
  bngain: tf.Tensor,
  bnvar_inv: tf.Tensor,
  bnraw: tf.Tensor,
  dhpreact: tf.Tensor,
): { dhprebn: tf.Tensor; dbngain: tf.Tensor; dbnbias: tf.Tensor } {
  const n = dhpreact.shape[0] as number;
  const sumG = dhpreact.sum(0); // Σ g over the batch: the path through the mean
  const sumGx = dhpreact.mul(bnraw).sum(0); // Σ g·x̂: the path through the variance
  const bessel = n / (n - 1);
  const inner = dhpreact.mul(n).sub(sumG).sub(bnraw.mul(bessel).mul(sumGx));
  const dhprebn = bngain.mul(bnvar_inv).div(n).mul(inner);
  return { dhprebn, dbngain: bnraw.mul(dhpreact).sum(0, true), dbnbias: dhpreact.sum(0, true) };
}

// ── Exercise 4: a training step with hand-written gradients only ───────────────────────────────────────

/**
 * The loss and every parameter's gradient for one batch, without autograd: the same pieces as above,
 * the fused cross-entropy (forward and backward) and BatchNorm backward in place of the chunked ones.
 */
export function manualGradients(p: Params, Xb: tf.Tensor, Yb: tf.Tensor): { loss: tf.Scalar; grads: Params } {
  // forward
  const { embcat } = embeddingForward(p.C, Xb);
  const hprebn = linearForward(embcat, p.W1, p.b1);
  const { bnvar_inv, bnraw, hpreact } = batchNormForward(hprebn, p.bngain, p.bnbias);
  const h = tanhForward(hpreact);
  const logits = linearForward(h, p.W2, p.b2);
  const loss = crossEntropy(logits, Yb);
  // backward
  const dlogits = crossEntropyBackwardFast(logits, Yb);
  const { dx: dh, dW: dW2, db: db2 } = linearBackward(h, p.W2, dlogits);
  const dhpreact = tanhBackward(h, dh);
  const { dhprebn, dbngain, dbnbias } = batchNormBackwardFast(p.bngain, bnvar_inv, bnraw, dhpreact);
  const { dx: dembcat, dW: dW1, db: db1 } = linearBackward(embcat, p.W1, dhprebn);
  const { dC } = embeddingBackward(p.C, Xb, dembcat);
  return { loss, grads: { C: dC, W1: dW1, b1: db1, W2: dW2, b2: db2, bngain: dbngain, bnbias: dbnbias } };
}

/** `grads` keyed by the variables' names: what an optimizer's applyGradients takes. */
function byVariableName(p: Params<tf.Variable>, grads: Params): tf.NamedTensorMap {
  return Object.fromEntries(PARAM_NAMES.map((k) => [p[k].name, grads[k]]));
}

export interface TrainByHandOptions {
  config: BackpropConfig;
  /** Seeds one TorchGenerator that draws the parameters, then every batch (as the lecture's g). */
  seed: number;
  steps: number;
  learningRate: Schedule;
  windows: Windows;
  batchSize?: number;
  /** The reference run: tfjs differentiates the chunked forward pass (tf.variableGrads inside train). */
  autograd?: boolean;
  /**
   * Without autograd: true runs the same hand-written step in our wasm kernels (lib/fused: the fused
   * cross-entropy and one-formula BatchNorm backward of sections 5 and 6, in C), false runs
   * `manualGradients` as tfjs ops. Default false.
   */
  fused?: boolean;
  label?: string;
  progressMs?: number;
  onStep?: (step: number, loss: number) => void;
}

/** The fast step: the same net as lib/nn layers over its parameters, their fused halves in our kernels. */
function handWrittenStep(p: Params<tf.Variable>, blockSize: number): FusedStep {
  const params = () => [p.C, p.W1, p.b1, p.W2, p.b2, p.bngain, p.bnbias];
  const net = { params, reads: 'window' as const, blockSize, vocabSize: p.C.shape[0] as number };
  const layers = [
    new Embedding(p.C, { reorderProducts: false }),
    new FlattenConsecutive(blockSize),
    Linear.of(p.W1, p.b1),
    besselBatchNorm(p.bngain, p.bnbias),
    new Tanh(),
    Linear.of(p.W2, p.b2),
  ];
  return FusedStep.over(net, { layers, rows: (b) => ({ ids: b.X, targets: b.Y }) });
}

/**
 * Plain SGD (p ← p − lr·grad) with the gradients of `manualGradients`: the library's loop (progress
 * line, interrupt) applies them, and no autograd runs. With `autograd: true`, the same run with tfjs's
 * gradients, for comparison; with `fused: true`, the same hand-written step in the wasm kernels.
 */
export async function trainByHand(o: TrainByHandOptions): Promise<{ params: Params<tf.Variable>; run: TrainResult }> {
  if (o.autograd && o.fused) throw new Error('trainByHand: `autograd` and `fused` exclude each other');
  const g = new TorchGenerator(o.seed);
  const p = initParams(o.config, g);
  const size = o.batchSize ?? 32;
  const batch = () => minibatch(o.windows, g, size);
  const common = {
    steps: o.steps,
    learningRate: o.learningRate,
    label: o.label,
    progressMs: o.progressMs,
    onStep: o.onStep,
  };
  if (o.fused) {
    // the same draws from g as `minibatch`, as id arrays
    const fusedStep = handWrittenStep(p, o.config.blockSize);
    return { params: p, run: await train({ ...common, fusedStep, batch: () => sampleWindows(o.windows, g, size) }) };
  }
  const run = await train({
    ...common,
    params: PARAM_NAMES.map((k) => p[k]),
    ...(o.autograd
      ? {
          loss: () => {
            const b = batch();
            return chunkedForward(p, b.X, b.Y).loss;
          },
        }
      : {
          gradients: () => {
            const b = batch();
            const { loss, grads } = manualGradients(p, b.X, b.Y);
            return { loss, grads: byVariableName(p, grads) };
          },
        }),
  });
  return { params: p, run };
}

/**
 * BatchNorm's mean and (unbiased) variance of hprebn over a whole data set, for evaluation: the lecture
 * computes them once after training instead of keeping running estimates. Two passes over `chunk` rows
 * at a time (mean, then squared deviations), accumulated in float64.
 */
export function calibrateBatchNorm(p: Params, d: Windows, chunk = 8192): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const H = p.W1.shape[1] as number;
  const pass = (term: (hprebn: tf.Tensor) => tf.Tensor): Float64Array => {
    const acc = new Float64Array(H);
    for (let s = 0; s < d.n; s += chunk) {
      throwIfInterrupted('calibration');
      const e = Math.min(d.n, s + chunk);
      const part = tf.tidy(() => {
        const X = tf.tensor2d(d.X.subarray(s * d.blockSize, e * d.blockSize), [e - s, d.blockSize], 'int32');
        return term(linearForward(embeddingForward(p.C, X).embcat, p.W1, p.b1)).sum(0);
      });
      part.dataSync().forEach((v, j) => (acc[j] = (acc[j] as number) + v));
      part.dispose();
    }
    return acc;
  };
  const mean = Float32Array.from(
    pass((x) => x),
    (v) => v / d.n,
  );
  const meanT = tf.tensor1d(mean, 'float32');
  const variance = Float32Array.from(
    pass((x) => x.sub(meanT).square()),
    (v) => v / (d.n - 1),
  );
  meanT.dispose();
  return { mean: tf.tensor1d(mean, 'float32'), variance: tf.tensor1d(variance, 'float32') };
}

/**
 * The trained parameters and calibrated statistics as the library's model (notebook 06's Sequential:
 * C, Linear, BatchNorm1d, tanh, Linear), so the usual evaluation and sampler run it. BatchNorm1d at
 * evaluation computes γ·(x − mean)·(var + 1e-5)^−½ + β, the lecture's evaluation formula.
 */
export function toSequential(p: Params, stats: { mean: tf.Tensor1D; variance: tf.Tensor1D }): Sequential {
  const [V, E] = p.C.shape as [number, number];
  const [fanIn, H] = p.W1.shape as [number, number];
  const rng = new TorchGenerator(0); // initial values, all replaced below
  const init = { kind: 'randn', scale: 1 } as const;
  const model = new Sequential(rng, V, fanIn / E, E, [
    new Linear(rng, fanIn, H, { init }),
    new BatchNorm1d(H),
    new Tanh(),
    new Linear(rng, H, V, { init }),
  ]);
  tf.tidy(() =>
    model.loadWeights({
      C: p.C,
      '0.W': p.W1,
      '0.b': p.b1,
      '1.gamma': p.bngain.reshape([H]),
      '1.beta': p.bnbias.reshape([H]),
      '1.runningMean': stats.mean,
      '1.runningVar': stats.variance,
      '3.W': p.W2,
      '3.b': p.b2,
    }),
  );
  return model;
}
