/**
 * Layer norm over the last axis (ε 1e-5): its tfjs forward is one op with its own gradient
 * (ops/layer-norm.ts), its fused half the same kernels on the step's rows.
 */
import type { tf } from '../runtime/tf';
import { constantVariable } from './init';
import { Module } from './module';
import { layerNorm } from '../ops/layer-norm';
import type { Act, FusedLayer, StepFrame } from '../fused/frame';

/** γ = 1 and β = 0 at the start. */
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
  fused(): FusedLayer {
    return new FusedLayerNorm(this.g, this.b);
  }
  namedWeights(): Record<string, tf.Variable> {
    return { g: this.g, b: this.b };
  }
}

/** Each row normalised; its backward gives dx, dγ and dβ. */
class FusedLayerNorm implements FusedLayer {
  private saved: { x: Act; mean: number; rstd: number } | null = null;
  constructor(
    private readonly g: tf.Variable,
    private readonly b: tf.Variable,
  ) {}
  forward(f: StepFrame, x: Act): Act {
    const y = f.act(x.rows, x.width);
    const [mean, rstd] = [f.put(x.rows), f.put(x.rows)];
    const { g, b } = this;
    f.k.layernorm_forward(x.at, f.value.get(g)!, f.value.get(b)!, y.at, mean, rstd, x.rows, x.width, 1e-5);
    this.saved = { x, mean, rstd };
    return y;
  }
  backward(f: StepFrame, dy: Act): Act {
    const { x, mean, rstd } = this.saved!;
    const dx = f.act(dy.rows, dy.width);
    const { g, b } = this;
    const [dg, db] = [f.grad.get(g)!, f.grad.get(b)!];
    f.k.layernorm_backward(x.at, f.value.get(g)!, mean, rstd, dy.at, dx.at, dg, db, x.rows, x.width);
    return dx;
  }
}
