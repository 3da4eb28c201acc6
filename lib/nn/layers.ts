/**
 * torch.nn-style layers.
 */
import { tf } from '../runtime/tf';
import { randnVariable, constantVariable, ownedVariable } from './init';
import type { Rng } from '../random/rng';

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
