/**
 * The WaveNet lecture's first BatchNorm1d, bug included (notebook 11): written for [B, C], it takes its
 * statistics over dim 0 only, so on a [B, T, C] input they are per position and channel, [1, T, C],
 * from B examples each — and the running statistics quietly grow from [C] to [1, T, C]. lib's
 * BatchNorm1d (layers.ts) is the fixed one; lib/fused trains this one too (FusedBatchNormDim0).
 */
import { tf } from '../runtime/tf';
import { constantVariable } from './init';
import { Module } from './module';
import type { Layer, LayerSpec } from './layers';

export class BatchNormDim0 extends Module implements Layer {
  readonly spec: LayerSpec; // describes itself as a BatchNorm1d: rebuilt from its spec it would be the fixed one
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  runningMean: tf.Variable;
  runningVar: tf.Variable;
  constructor(
    readonly dim: number,
    readonly momentum = 0.1,
    readonly eps = 1e-5,
  ) {
    super();
    this.spec = { kind: 'BatchNorm1d', dim, eps, momentum, gamma: 1 };
    [this.gamma, this.beta] = [constantVariable(1, [dim], 'gamma'), constantVariable(0, [dim], 'beta')];
    [this.runningMean, this.runningVar] = [
      constantVariable(0, [dim], undefined, false),
      constantVariable(1, [dim], undefined, false),
    ];
  }
  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    let mean: tf.Tensor = this.runningMean;
    let variance: tf.Tensor = this.runningVar;
    if (training) {
      ({ mean, variance } = tf.moments(x, 0, true)); // the bug: dim 0 only, [1, T, C] on a [B, T, C] input
      const n = x.shape[0]!;
      const mo = this.momentum;
      // broadcasting makes the running statistics [1, T, C] too
      const [m, v] = tf.tidy(() => [
        this.runningMean.mul(1 - mo).add(mean.mul(mo)),
        this.runningVar.mul(1 - mo).add(variance.mul((mo * n) / (n - 1))),
      ]);
      this.setRunning(m!, v!);
    }
    return x
      .sub(mean)
      .mul(tf.rsqrt(variance.add(this.eps)))
      .mul(this.gamma)
      .add(this.beta);
  }
  /** New running statistics (a tf.Variable cannot change shape: the old ones are replaced); takes m and v. */
  setRunning(m: tf.Tensor, v: tf.Tensor): void {
    const [oldM, oldV] = [this.runningMean, this.runningVar];
    [this.runningMean, this.runningVar] = [tf.variable(m, false), tf.variable(v, false)];
    tf.dispose([m, v, oldM, oldV]);
  }
  namedWeights(): Record<string, tf.Variable> {
    return { gamma: this.gamma, beta: this.beta, runningMean: this.runningMean, runningVar: this.runningVar };
  }
}
