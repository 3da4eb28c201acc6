/**
 * Layer norm over the last axis (ε 1e-5): its tfjs forward is one op with its own gradient
 * (ops/layer-norm.ts), its fused half the same kernels on the step's rows. Without a bias (nanoGPT's
 * `bias=False`) β is a constant 0 that is not a parameter: the kernels get zeros, and its gradient goes
 * to scratch.
 */
import { tf } from '../runtime/tf';
import { constantVariable } from './init';
import { Module } from './module';
import { layerNorm } from '../ops/layer-norm';
import type { Act, FusedLayer, StepFrame } from '../fused/frame';

/** γ = 1 and β = 0 at the start (β: none with `bias: false`). */
export class LayerNorm extends Module {
  readonly g: tf.Variable;
  readonly b: tf.Variable | null;
  constructor(dim: number, opts: { bias?: boolean } = {}) {
    super();
    this.g = constantVariable(1, [dim], 'lng');
    this.b = opts.bias === false ? null : constantVariable(0, [dim], 'lnb');
  }
  forward(x: tf.Tensor): tf.Tensor {
    if (this.b) return layerNorm(x, this.g as tf.Tensor1D, this.b as tf.Tensor1D);
    return tf.tidy(() => layerNorm(x, this.g as tf.Tensor1D, tf.zeros([this.g.size]) as tf.Tensor1D));
  }
  fused(): FusedLayer {
    return new FusedLayerNorm(this.g, this.b);
  }
  namedWeights(): Record<string, tf.Variable> {
    return this.b ? { g: this.g, b: this.b } : { g: this.g };
  }
}

/** Each row normalised; its backward gives dx, dγ and dβ. */
class FusedLayerNorm implements FusedLayer {
  private saved: { x: Act; mean: number; rstd: number } | null = null;
  constructor(
    private readonly g: tf.Variable,
    private readonly b: tf.Variable | null,
  ) {}
  forward(f: StepFrame, x: Act): Act {
    const y = f.act(x.rows, x.width);
    const [mean, rstd] = [f.put(x.rows), f.put(x.rows)];
    const { g, b } = this;
    const beta = b ? f.value.get(b)! : f.put(x.width, new Float32Array(x.width));
    f.k.layernorm_forward(x.at, f.value.get(g)!, beta, y.at, mean, rstd, x.rows, x.width, 1e-5);
    this.saved = { x, mean, rstd };
    return y;
  }
  backward(f: StepFrame, dy: Act): Act {
    const { x, mean, rstd } = this.saved!;
    const dx = f.act(dy.rows, dy.width);
    const { g, b } = this;
    const [dg, db] = [f.grad.get(g)!, b ? f.grad.get(b)! : f.put(dy.width)];
    f.k.layernorm_backward(x.at, f.value.get(g)!, mean, rstd, dy.at, dx.at, dg, db, x.rows, x.width);
    return dx;
  }
}
