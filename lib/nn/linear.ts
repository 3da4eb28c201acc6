/**
 * y = x W + b: the Linear layer, its tfjs forward and its fused half (dW = xᵀ dy, db = Σ dy, dx = dy Wᵀ).
 */
import { tf } from '../runtime/tf';
import { randnVariable, constantVariable, uniformVariable } from './init';
import { Module } from './module';
import { sgemm, sgemmNt, sgemmTn } from '../backend/native/threads';
import type { Act, FusedLayer, StepFrame } from '../fused/frame';
import type { LayerSpec, LinearInit, SpecLayer } from './layer';
import type { Rng } from '../random/rng';

/** y = x W (+ b) over the last axis of any rank. */
export class Linear extends Module implements SpecLayer {
  readonly spec: LayerSpec & { kind: 'Linear' };
  readonly W: tf.Variable;
  readonly b: tf.Variable | null;
  constructor(
    rng: Rng | null,
    readonly fanIn: number,
    readonly fanOut: number,
    opts: { bias?: boolean; init?: LinearInit; weights?: { W: tf.Variable; b: tf.Variable | null } } = {},
  ) {
    super();
    const init = opts.init ?? { kind: 'kaiming', gain: 1 };
    const bias = opts.weights ? opts.weights.b !== null : opts.bias !== false;
    this.spec = { kind: 'Linear', fanIn, fanOut, bias, init };
    if (opts.weights) {
      this.W = opts.weights.W;
      this.b = opts.weights.b;
    } else if (!rng) {
      throw new Error('Linear: new weights need an rng');
    } else if (init.kind === 'uniform') {
      this.W = uniformVariable(rng, fanIn, [fanIn, fanOut], 'W');
      this.b = bias ? uniformVariable(rng, fanIn, [fanOut], 'b') : null;
    } else {
      const scale = init.kind === 'kaiming' ? init.gain / Math.sqrt(fanIn) : init.scale;
      this.W = randnVariable(rng, [fanIn, fanOut], scale, 'W');
      this.b = bias ? constantVariable(0, [fanOut], 'b') : null;
    }
  }

  /** A Linear over weights made elsewhere (a lecture model's own W1 and b1): W [fanIn, fanOut], b [fanOut]. */
  static of(W: tf.Variable, b: tf.Variable | null): Linear {
    const [fanIn, fanOut] = W.shape as [number, number];
    return new Linear(null, fanIn, fanOut, { weights: { W, b } });
  }

  forward(x: tf.Tensor): tf.Tensor {
    const bias = this.b ?? undefined;
    if (x.rank === 2) return tf.fused.matMul({ a: x as tf.Tensor2D, b: this.W as tf.Tensor2D, bias });
    const y = tf.fused.matMul({ a: x.reshape([-1, this.fanIn]) as tf.Tensor2D, b: this.W as tf.Tensor2D, bias });
    return y.reshape([...x.shape.slice(0, -1), this.fanOut]);
  }

  fused(): FusedLayer {
    return new FusedLinear(this.W, this.b);
  }

  namedWeights(): Record<string, tf.Variable> {
    return this.b ? { W: this.W, b: this.b } : { W: this.W };
  }
}

/** Linear's fused half on [rows, fanIn] → [rows, fanOut] (gemm.c: sgemm, sgemm_tn, sgemm_nt). */
class FusedLinear implements FusedLayer {
  private x: Act | null = null;
  constructor(
    private readonly W: tf.Variable,
    private readonly b: tf.Variable | null,
  ) {}
  forward(f: StepFrame, x: Act): Act {
    const [fanIn, fanOut] = this.W.shape as [number, number];
    if (x.width !== fanIn) throw new Error(`fused Linear: input width ${x.width}, weights [${this.W.shape}]`);
    const y = f.act(x.rows, fanOut);
    sgemm(x.at, f.value.get(this.W)!, y.at, this.b ? f.value.get(this.b)! : 0, x.rows, fanOut, fanIn, 0);
    this.x = x;
    return y;
  }
  backward(f: StepFrame, dy: Act): Act {
    const x = this.x!;
    const [fanIn, fanOut] = this.W.shape as [number, number];
    sgemmTn(x.at, dy.at, f.grad.get(this.W)!, fanIn, fanOut, x.rows, 0);
    if (this.b) f.k.colsum(dy.at, f.grad.get(this.b)!, dy.rows, fanOut);
    const dx = f.act(x.rows, fanIn);
    sgemmNt(dy.at, f.value.get(this.W)!, dx.at, x.rows, fanIn, fanOut, 0);
    return dx;
  }
}
