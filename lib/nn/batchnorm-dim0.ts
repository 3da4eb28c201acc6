/**
 * The WaveNet lecture's first BatchNorm1d, bug included (notebook 11): written for [B, C], it takes its
 * statistics over dim 0 only, so on a [B, T, C] input they are per position and channel, [1, T, C],
 * from B examples each — and the running statistics quietly grow from [C] to [1, T, C]. lib's
 * BatchNorm1d (batchnorm.ts) is the fixed one. Its fused half is below.
 */
import { tf } from '../runtime/tf';
import { constantVariable } from './init';
import { Module } from './module';
import { valuesOf } from '../backend/native/loader';
import type { Act, FusedLayer, StepFrame } from '../fused/frame';
import type { LayerSpec, SpecLayer } from './layer';

export class BatchNormDim0 extends Module implements SpecLayer {
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
  forward(x: tf.Tensor, training = false): tf.Tensor {
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
  fused(): FusedLayer {
    return new FusedBatchNormDim0(this);
  }
  namedWeights(): Record<string, tf.Variable> {
    return { gamma: this.gamma, beta: this.beta, runningMean: this.runningMean, runningVar: this.runningVar };
  }
}

/**
 * The WaveNet lecture's buggy BatchNorm (lib/nn/batchnorm-dim0.ts) in training mode. Its input [B·T, C]
 * is [B, T·C] in memory, and its statistics per (position, channel) over the B examples are
 * FusedBatchNorm's kernels on T·C channels, with γ and β repeated T times and their gradients summed
 * back over T. The running statistics become [1, T, C] as the ops make them ([1, C] when T is 1).
 */
class FusedBatchNormDim0 implements FusedLayer {
  private saved: { xhat: number; rstd: number; gamma: number; T: number } | null = null;
  private stats: { mean: Float32Array; variance: Float32Array; T: number } | null = null;
  constructor(private readonly bn: BatchNormDim0) {}
  forward(f: StepFrame, x: Act): Act {
    const C = this.bn.dim;
    const B = f.examples;
    const T = x.rows / B;
    const D = T * C;
    if (x.width !== C || !Number.isInteger(T)) throw new Error(`fused BatchNorm (dim 0): ${x.rows} rows of ${x.width}`);
    const [gamma, beta] = [f.put(D), f.put(D)];
    const [g, b] = [f.view(gamma, D), f.view(beta, D)];
    const [g1, b1] = [f.view(f.value.get(this.bn.gamma)!, C), f.view(f.value.get(this.bn.beta)!, C)];
    for (let t = 0; t < T; t++) {
      g.set(g1, t * C);
      b.set(b1, t * C);
    }
    const y = f.act(x.rows, C);
    const [xhat, mean, variance, rstd] = [f.put(B * D), f.put(D), f.put(D), f.put(D)];
    f.k.batchnorm_forward(x.at, gamma, beta, y.at, xhat, mean, variance, rstd, B, D, this.bn.eps, 0);
    this.saved = { xhat, rstd, gamma, T };
    this.stats = { mean: f.take(mean, D), variance: f.take(variance, D), T };
    return y;
  }
  backward(f: StepFrame, dy: Act): Act {
    const { xhat, rstd, gamma, T } = this.saved!;
    const C = this.bn.dim;
    const [B, D] = [f.examples, T * C];
    const dx = f.act(dy.rows, dy.width);
    const [dg, db] = [f.put(D), f.put(D)];
    f.k.batchnorm_backward(xhat, gamma, rstd, dy.at, dx.at, dg, db, B, D, 0);
    const [dgT, dbT] = [f.view(dg, D), f.view(db, D)];
    const [dg1, db1] = [f.view(f.grad.get(this.bn.gamma)!, C), f.view(f.grad.get(this.bn.beta)!, C)];
    for (let c = 0; c < C; c++) {
      let [sg, sb] = [0, 0];
      for (let t = 0; t < T; t++) [sg, sb] = [Math.fround(sg + dgT[t * C + c]!), Math.fround(sb + dbT[t * C + c]!)];
      [dg1[c], db1[c]] = [sg, sb];
    }
    return dx;
  }
  /** The running statistics moved by the steps not yet written back, and their shape. */
  private held: { rm: Float32Array; rv: Float32Array; shape: number[] } | null = null;
  commit(f: StepFrame): void {
    const { mean, variance, T } = this.stats!;
    const bn = this.bn;
    const n = f.examples;
    const mo = Math.fround(bn.momentum);
    const keep = Math.fround(1 - bn.momentum);
    const unbiased = Math.fround((bn.momentum * n) / (n - 1));
    // [C] at first, broadcast over the positions; [1, T, C] (or [1, C]) after
    const [rm, rv] = this.held ? [this.held.rm, this.held.rv] : [valuesOf(bn.runningMean), valuesOf(bn.runningVar)];
    const m = mean.map((x, i) => Math.fround(rm[i % rm.length]! * keep) + Math.fround(x * mo));
    const v = variance.map((x, i) => Math.fround(rv[i % rv.length]! * keep) + Math.fround(x * unbiased));
    this.held = { rm: m, rv: v, shape: T > 1 ? [1, T, bn.dim] : [1, bn.dim] };
  }
  writeBack(): void {
    if (!this.held) return;
    const { rm, rv, shape } = this.held;
    this.bn.setRunning(tf.tensor(rm, shape), tf.tensor(rv, shape));
    this.held = null;
  }
}
