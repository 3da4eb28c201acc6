/**
 * torch.nn-style layers shared by every model: one Linear (its initialisation a parameter), BatchNorm1d,
 * Tanh, Embedding, FlattenConsecutive and LayerNorm. Each is a Module (weights by name, loading, counting,
 * disposal written once) and describes itself with a plain `spec`, so a stack of layers can be saved and
 * rebuilt.
 */
import { tf } from '../runtime/tf';
import { randnVariable, constantVariable, ownedVariable, uniformVariable } from './init';
import { Module } from './module';
import { layerNorm } from '../ops/layer-norm';
import type { Rng } from '../random/rng';

/** How a Linear's weights start. */
export type LinearInit =
  /** PyTorch's nn.Linear: W and b ~ U(±1/√fanIn) (the makemore zoo). */
  | { kind: 'uniform' }
  /** Kaiming: W ~ randn·gain/√fanIn (gain 5/3 suits tanh), b = 0 (the lecture's "MLP done right"). */
  | { kind: 'kaiming'; gain: number }
  /** W ~ randn·scale, b = 0 (e.g. 0.01 for a last layer that should start near uniform). */
  | { kind: 'randn'; scale: number };

export type LayerSpec =
  | { kind: 'Linear'; fanIn: number; fanOut: number; bias: boolean; init: LinearInit }
  | { kind: 'BatchNorm1d'; dim: number; eps: number; momentum: number; gamma: number }
  | { kind: 'Tanh' }
  | { kind: 'Embedding'; numEmbeddings: number; dim: number }
  | { kind: 'FlattenConsecutive'; n: number };

export interface Layer {
  readonly spec: LayerSpec;
  forward(x: tf.Tensor, training: boolean): tf.Tensor;
  params(): tf.Variable[];
  namedWeights(): Record<string, tf.Variable>;
}

/** y = x W (+ b) over the last axis of any rank. */
export class Linear extends Module implements Layer {
  readonly spec: LayerSpec & { kind: 'Linear' };
  readonly W: tf.Variable;
  readonly b: tf.Variable | null;
  constructor(
    rng: Rng,
    readonly fanIn: number,
    readonly fanOut: number,
    opts: { bias?: boolean; init?: LinearInit } = {},
  ) {
    super();
    const init = opts.init ?? { kind: 'kaiming', gain: 1 };
    const bias = opts.bias !== false;
    this.spec = { kind: 'Linear', fanIn, fanOut, bias, init };
    if (init.kind === 'uniform') {
      this.W = uniformVariable(rng, fanIn, [fanIn, fanOut], 'W');
      this.b = bias ? uniformVariable(rng, fanIn, [fanOut], 'b') : null;
    } else {
      const scale = init.kind === 'kaiming' ? init.gain / Math.sqrt(fanIn) : init.scale;
      this.W = randnVariable(rng, [fanIn, fanOut], scale, 'W');
      this.b = bias ? constantVariable(0, [fanOut], 'b') : null;
    }
  }
  forward(x: tf.Tensor): tf.Tensor {
    const bias = this.b ?? undefined;
    if (x.rank === 2) return tf.fused.matMul({ a: x as tf.Tensor2D, b: this.W as tf.Tensor2D, bias });
    const y = tf.fused.matMul({ a: x.reshape([-1, this.fanIn]) as tf.Tensor2D, b: this.W as tf.Tensor2D, bias });
    return y.reshape([...x.shape.slice(0, -1), this.fanOut]);
  }
  namedWeights(): Record<string, tf.Variable> {
    return this.b ? { W: this.W, b: this.b } : { W: this.W };
  }
}

/**
 * Batch normalisation over the batch dimension: normalise with the batch's mean and variance while
 * training (updating running estimates with momentum), with the running estimates at evaluation. On
 * [B, T, C] inputs the statistics are per channel over both B and T (torch's dims (0, 1)).
 */
export class BatchNorm1d extends Module implements Layer {
  readonly spec: LayerSpec & { kind: 'BatchNorm1d' };
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  constructor(
    readonly dim: number,
    readonly eps = 1e-5,
    readonly momentum = 0.1,
    gamma = 1,
  ) {
    super();
    this.spec = { kind: 'BatchNorm1d', dim, eps, momentum, gamma };
    this.gamma = constantVariable(gamma, [dim], 'bngamma');
    this.beta = constantVariable(0, [dim], 'bnbeta');
    this.runningMean = ownedVariable(tf.zeros([dim]), false);
    this.runningVar = ownedVariable(tf.ones([dim]), false);
  }
  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    let mean: tf.Tensor;
    let variance: tf.Tensor;
    if (training) {
      // [B, C] as it is; [B, T, C] as the B·T rows of [B·T, C]: one mean and variance per channel
      const rows = x.rank === 2 ? x : x.reshape([-1, this.dim]);
      const m = tf.moments(rows, 0);
      mean = m.mean;
      variance = m.variance;
      // Running statistics use the unbiased variance, as torch.nn.BatchNorm1d does. (They do not feed
      // the loss in training mode, so no gradient flows through these updates.)
      const n = rows.shape[0] as number;
      const mo = this.momentum;
      tf.tidy(() => {
        this.runningMean.assign(this.runningMean.mul(1 - mo).add(mean.mul(mo)));
        this.runningVar.assign(this.runningVar.mul(1 - mo).add(variance.mul((mo * n) / Math.max(1, n - 1))));
      });
    } else {
      mean = this.runningMean;
      variance = this.runningVar;
    }
    return x
      .sub(mean)
      .mul(tf.rsqrt(variance.add(this.eps)))
      .mul(this.gamma)
      .add(this.beta);
  }
  /** The running statistics too: they are state to save, load and dispose, though not trained. */
  namedWeights(): Record<string, tf.Variable> {
    return { gamma: this.gamma, beta: this.beta, runningMean: this.runningMean, runningVar: this.runningVar };
  }
}

export class Tanh extends Module implements Layer {
  readonly spec = { kind: 'Tanh' } as const;
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tanh(x);
  }
  namedWeights(): Record<string, tf.Variable> {
    return {};
  }
}

/** A table of `numEmbeddings` vectors (weight ~ randn): token ids [B, T] → vectors [B, T, dim]. */
export class Embedding extends Module implements Layer {
  readonly spec: LayerSpec & { kind: 'Embedding' };
  readonly weight: tf.Variable;
  constructor(
    rng: Rng,
    readonly numEmbeddings: number,
    readonly dim: number,
  ) {
    super();
    this.spec = { kind: 'Embedding', numEmbeddings, dim };
    this.weight = randnVariable(rng, [numEmbeddings, dim], 1, 'emb');
  }
  forward(idx: tf.Tensor): tf.Tensor {
    return tf.gather(this.weight, idx);
  }
  namedWeights(): Record<string, tf.Variable> {
    return { weight: this.weight };
  }
}

/**
 * Concatenates each `n` consecutive vectors: [B, T, C] → [B, T/n, C·n], and [B, C·n] when T/n is 1 (the
 * time axis squeezed away, as the lecture's FlattenConsecutive does). FlattenConsecutive(T) is a plain
 * flatten.
 */
export class FlattenConsecutive extends Module implements Layer {
  readonly spec: LayerSpec & { kind: 'FlattenConsecutive' };
  constructor(readonly n: number) {
    super();
    if (!Number.isInteger(n) || n < 1) throw new Error(`FlattenConsecutive: n must be a positive integer, got ${n}`);
    this.spec = { kind: 'FlattenConsecutive', n };
  }
  forward(x: tf.Tensor): tf.Tensor {
    if (x.rank !== 3) throw new Error(`FlattenConsecutive(${this.n}) takes [B, T, C], got [${x.shape}]`);
    const [B, T, C] = x.shape as [number, number, number];
    if (T % this.n !== 0) throw new Error(`FlattenConsecutive(${this.n}): T = ${T} is not a multiple of ${this.n}`);
    const groups = T / this.n;
    return groups === 1 ? x.reshape([B, C * this.n]) : x.reshape([B, groups, C * this.n]);
  }
  namedWeights(): Record<string, tf.Variable> {
    return {};
  }
}

/** Builds a layer from its spec (weights drawn from `rng` in the same order as the constructor call). */
export function layerFromSpec(s: LayerSpec, rng: Rng): Layer {
  switch (s.kind) {
    case 'Linear':
      return new Linear(rng, s.fanIn, s.fanOut, { bias: s.bias, init: s.init });
    case 'BatchNorm1d':
      return new BatchNorm1d(s.dim, s.eps, s.momentum, s.gamma);
    case 'Tanh':
      return new Tanh();
    case 'Embedding':
      return new Embedding(rng, s.numEmbeddings, s.dim);
    case 'FlattenConsecutive':
      return new FlattenConsecutive(s.n);
  }
}

/** Layer norm over the last axis (one fused op: see ops/layer-norm.ts), γ = 1 and β = 0 at the start. */
export class LayerNorm extends Module {
  readonly g: tf.Variable;
  readonly b: tf.Variable;
  constructor(dim: number) {
    super();
    this.g = constantVariable(1, [dim], 'lng');
    this.b = constantVariable(0, [dim], 'lnb');
  }
  forward(x: tf.Tensor): tf.Tensor {
    return layerNorm(x, this.g as tf.Tensor1D, this.b as tf.Tensor1D);
  }
  namedWeights(): Record<string, tf.Variable> {
    return { g: this.g, b: this.b };
  }
}
