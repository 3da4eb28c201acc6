/**
 * Batch normalisation over the batch dimension, its tfjs forward and its fused half (kernels.c's
 * batchnorm_forward / batchnorm_backward, running statistics moved in float32 as the ops move them).
 */
import { tf } from '../runtime/tf';
import { constantVariable, ownedVariable } from './init';
import { Module } from './module';
import { setVariable, valuesOf, type Frame } from '../backend/native/loader';
import type { Act, FusedLayer, StepFrame } from '../fused/frame';
import type { LayerSpec, SpecLayer } from './layer';

/**
 * Normalise with the batch's mean and variance while training (updating running estimates with
 * momentum), with the running estimates at evaluation. On [B, T, C] inputs the statistics are per
 * channel over both B and T (torch's dims (0, 1)).
 */
export class BatchNorm1d extends Module implements SpecLayer {
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
  forward(x: tf.Tensor, training = false): tf.Tensor {
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
  fused(): FusedLayer {
    return new FusedBatchNorm({ gamma: this.gamma, beta: this.beta, eps: this.eps, bessel: false }, this);
  }
  /** The running statistics too: they are state to save, load and dispose, though not trained. */
  namedWeights(): Record<string, tf.Variable> {
    return { gamma: this.gamma, beta: this.beta, runningMean: this.runningMean, runningVar: this.runningVar };
  }
}

/** What a fused BatchNorm normalises with: γ and β, ε, and Bessel's n − 1 in the batch variance or not. */
export interface BatchNormParams {
  gamma: tf.Variable;
  beta: tf.Variable;
  eps: number;
  bessel: boolean;
}

/**
 * Notebook 10's hand-written BatchNorm (Bessel's n − 1 in the batch variance, no running statistics)
 * as a fused layer over its own γ and β: what its fast training step runs.
 */
export function besselBatchNorm(gamma: tf.Variable, beta: tf.Variable, eps = 1e-5): { fused(): FusedLayer } {
  return { fused: () => new FusedBatchNorm({ gamma, beta, eps, bessel: true }, null) };
}

/** BatchNorm in training mode over the rows (B, or B·T for [B, T, C]). */
class FusedBatchNorm implements FusedLayer {
  private saved: { xhat: Act; rstd: number } | null = null;
  private stats: { mean: Float32Array; variance: Float32Array; rows: number } | null = null;
  /** The running statistics moved by the steps not yet written back. */
  private held: { rm: Float32Array; rv: Float32Array } | null = null;
  constructor(
    private readonly p: BatchNormParams,
    /** The layer whose running statistics move, if any. */
    private readonly running: BatchNorm1d | null,
  ) {}
  forward(f: StepFrame, x: Act): Act {
    const { gamma, beta, eps, bessel } = this.p;
    const D = gamma.size;
    const y = f.act(x.rows, D);
    const xhat = f.act(x.rows, D);
    const [mean, variance, rstd] = [f.put(D), f.put(D), f.put(D)];
    const at = (v: tf.Variable) => f.value.get(v)!;
    f.k.batchnorm_forward(x.at, at(gamma), at(beta), y.at, xhat.at, mean, variance, rstd, x.rows, D, eps, +bessel);
    this.saved = { xhat, rstd };
    if (this.running) this.stats = { mean: f.take(mean, D), variance: f.take(variance, D), rows: x.rows };
    return y;
  }
  backward(f: StepFrame, dy: Act): Act {
    const s = this.saved!;
    const dx = f.act(dy.rows, dy.width);
    const { gamma, beta, bessel } = this.p;
    const [dg, db] = [f.grad.get(gamma)!, f.grad.get(beta)!];
    const g = f.value.get(gamma)!;
    f.k.batchnorm_backward(s.xhat.at, g, s.rstd, dy.at, dx.at, dg, db, dy.rows, dy.width, +bessel);
    return dx;
  }
  commit(): void {
    const bn = this.running;
    if (!bn) return;
    const { mean, variance, rows } = this.stats!;
    const mo = Math.fround(bn.momentum);
    const keep = Math.fround(1 - bn.momentum);
    const unbiased = Math.fround((bn.momentum * rows) / Math.max(1, rows - 1));
    this.held ??= { rm: Float32Array.from(valuesOf(bn.runningMean)), rv: Float32Array.from(valuesOf(bn.runningVar)) };
    const { rm, rv } = this.held;
    for (let d = 0; d < rm.length; d++) {
      rm[d] = Math.fround(rm[d]! * keep) + Math.fround(mean[d]! * mo);
      rv[d] = Math.fround(rv[d]! * keep) + Math.fround(variance[d]! * unbiased);
    }
  }
  writeBack(f: Frame): void {
    if (!this.running || !this.held) return;
    const { rm, rv } = this.held;
    setVariable(this.running.runningMean, f, f.put(rm.length, rm));
    setVariable(this.running.runningVar, f, f.put(rv.length, rv));
    this.held = null;
  }
}
