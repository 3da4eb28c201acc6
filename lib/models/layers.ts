/**
 * torch.nn-style layers for the "MLP done right" lecture: Linear, BatchNorm1d and Tanh, stacked in a
 * Sequential whose layers keep their last output so activations and gradients can be inspected.
 */
import { tf } from '../tf';
import { randnVariable, constantVariable } from '../nn';
import type { Rng } from '../random';

export interface Layer {
  readonly kind: string;
  forward(x: tf.Tensor, training: boolean): tf.Tensor;
  params(): tf.Variable[];
}

/**
 * y = x W (+ b), W ~ randn(fanIn, fanOut)·gain/√fanIn (Kaiming-style; gain 5/3 suits tanh), or
 * randn·scale when `scale` is given (e.g. 0.01 for a last layer that should start near uniform).
 */
export class Linear implements Layer {
  readonly kind = 'Linear';
  readonly W: tf.Variable;
  readonly b: tf.Variable | null;
  constructor(rng: Rng, readonly fanIn: number, readonly fanOut: number, opts: { bias?: boolean; gain?: number; scale?: number } = {}) {
    this.W = randnVariable(rng, [fanIn, fanOut], opts.scale ?? (opts.gain ?? 1) / Math.sqrt(fanIn), 'linW');
    this.b = opts.bias === false ? null : constantVariable(0, [fanOut], 'linb');
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.fused.matMul({ a: x as tf.Tensor2D, b: this.W as tf.Tensor2D, bias: this.b ?? undefined });
  }
  params(): tf.Variable[] {
    return this.b ? [this.W, this.b] : [this.W];
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
  constructor(readonly dim: number, readonly eps = 1e-5, readonly momentum = 0.1, gamma = 1) {
    this.gamma = constantVariable(gamma, [dim], 'bngamma');
    this.beta = constantVariable(0, [dim], 'bnbeta');
    this.runningMean = tf.variable(tf.zeros([dim]), false);
    this.runningVar = tf.variable(tf.ones([dim]), false);
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
    return x.sub(mean).mul(tf.rsqrt(variance.add(this.eps))).mul(this.gamma).add(this.beta);
  }
  params(): tf.Variable[] {
    return [this.gamma, this.beta];
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
  constructor(rng: Rng, readonly vocabSize: number, readonly blockSize: number, readonly nEmbd: number, readonly layers: Layer[]) {
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

  dispose(): void {
    this.C.dispose();
    for (const l of this.layers) {
      for (const p of l.params()) p.dispose();
      if (l instanceof BatchNorm1d) { l.runningMean.dispose(); l.runningVar.dispose(); }
    }
  }
}
