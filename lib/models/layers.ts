/**
 * torch.nn-style layers for the "MLP done right" lecture: Linear, BatchNorm1d and Tanh, stacked in a
 * Sequential whose layers keep their last output so activations and gradients can be inspected.
 */
import { tf } from '../tf';
import { randnVariable, constantVariable, loadNamedWeights, ownedVariable } from '../nn';
import type { Rng } from '../random';

export interface Layer {
  readonly kind: string;
  forward(x: tf.Tensor, training: boolean): tf.Tensor;
  params(): tf.Variable[];
  /** Everything the layer owns by name — parameters and buffers such as running statistics; params() if absent. */
  namedWeights?(): Record<string, tf.Variable>;
}

/**
 * y = x W (+ b), W ~ randn(fanIn, fanOut)·gain/√fanIn (Kaiming-style; gain 5/3 suits tanh), or
 * randn·scale when `scale` is given (e.g. 0.01 for a last layer that should start near uniform).
 */
export class Linear implements Layer {
  readonly kind = 'Linear';
  readonly W: tf.Variable;
  readonly b: tf.Variable | null;
  constructor(
    rng: Rng,
    readonly fanIn: number,
    readonly fanOut: number,
    opts: { bias?: boolean; gain?: number; scale?: number } = {},
  ) {
    this.W = randnVariable(rng, [fanIn, fanOut], opts.scale ?? (opts.gain ?? 1) / Math.sqrt(fanIn), 'linW');
    this.b = opts.bias === false ? null : constantVariable(0, [fanOut], 'linb');
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.fused.matMul({ a: x as tf.Tensor2D, b: this.W as tf.Tensor2D, bias: this.b ?? undefined });
  }
  params(): tf.Variable[] {
    return this.b ? [this.W, this.b] : [this.W];
  }
  namedWeights(): Record<string, tf.Variable> {
    return this.b ? { W: this.W, b: this.b } : { W: this.W };
  }
}

/**
 * Batch normalisation over the batch dimension: normalise with the batch's mean and variance while
 * training (updating running estimates with momentum), with the running estimates at evaluation.
 */
export class BatchNorm1d implements Layer {
  readonly kind = 'BatchNorm1d';
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
    this.gamma = constantVariable(gamma, [dim], 'bngamma');
    this.beta = constantVariable(0, [dim], 'bnbeta');
    this.runningMean = ownedVariable(tf.zeros([dim]), false);
    this.runningVar = ownedVariable(tf.ones([dim]), false);
  }
  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    let mean: tf.Tensor;
    let variance: tf.Tensor;
    if (training) {
      const m = tf.moments(x, 0);
      mean = m.mean;
      variance = m.variance;
      // Running statistics use the unbiased variance, as torch.nn.BatchNorm1d does. (They do not feed
      // the loss in training mode, so no gradient flows through these updates.)
      const n = x.shape[0] as number;
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
  params(): tf.Variable[] {
    return [this.gamma, this.beta];
  }
  /** The running statistics too: they are state to save, load and dispose, though not trained. */
  namedWeights(): Record<string, tf.Variable> {
    return { gamma: this.gamma, beta: this.beta, runningMean: this.runningMean, runningVar: this.runningVar };
  }
}

export class Tanh implements Layer {
  readonly kind = 'Tanh';
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tanh(x);
  }
  params(): tf.Variable[] {
    return [];
  }
}

/** Embedding table + flatten + a stack of layers, for (context → next character) windows. */
export class Sequential {
  readonly C: tf.Variable;
  constructor(
    rng: Rng,
    readonly vocabSize: number,
    readonly blockSize: number,
    readonly nEmbd: number,
    readonly layers: Layer[],
  ) {
    this.C = randnVariable(rng, [vocabSize, nEmbd], 1, 'C');
  }

  /** Logits; with `keep`, each layer's output is pushed to it (kept alive: dispose them after use). */
  logits(X: tf.Tensor2D, training: boolean, keep?: tf.Tensor[]): tf.Tensor2D {
    let x: tf.Tensor = tf.gather(this.C, X).reshape([-1, this.blockSize * this.nEmbd]);
    for (const layer of this.layers) {
      x = layer.forward(x, training);
      if (keep) keep.push(tf.keep(x));
    }
    return x as tf.Tensor2D;
  }

  params(): tf.Variable[] {
    return [this.C, ...this.layers.flatMap((l) => l.params())];
  }

  /** Parameters and buffers by name: C, then `${layer index}.${name}` (e.g. 1.runningMean). */
  namedWeights(): Record<string, tf.Variable> {
    const out: Record<string, tf.Variable> = { C: this.C };
    this.layers.forEach((l, i) => {
      const named = l.namedWeights ? l.namedWeights() : Object.fromEntries(l.params().map((p, k) => [`p${k}`, p]));
      for (const [k, v] of Object.entries(named)) out[`${i}.${k}`] = v;
    });
    return out;
  }

  /** Copies weights (running statistics included) in by name; `w` stays the caller's to dispose. */
  loadWeights(w: Record<string, tf.Tensor>): void {
    loadNamedWeights(this.namedWeights(), w);
  }

  /** Everything in namedWeights(), so BatchNorm's running statistics go too. */
  dispose(): void {
    for (const v of Object.values(this.namedWeights())) v.dispose();
  }
}
