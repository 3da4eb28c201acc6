/**
 * tmp
 */
import { tf } from '../runtime/tf';
import { constantVariable, uniformVariable } from './init';
import type { Rng } from '../random/rng';
import { layerNorm } from '../ops/layer-norm';

/** A linear layer x W + b over the last axis of any rank. */
export class Dense {
  readonly W: tf.Variable;
  readonly b: tf.Variable | null;
  constructor(
    rng: Rng,
    readonly fanIn: number,
    readonly fanOut: number,
    name: string,
    bias = true,
  ) {
    this.W = uniformVariable(rng, fanIn, [fanIn, fanOut], `${name}W`);
    this.b = bias ? uniformVariable(rng, fanIn, [fanOut], `${name}b`) : null;
  }
  apply(x: tf.Tensor, activation?: 'relu'): tf.Tensor {
    const shape = x.shape;
    const flat = x.reshape([-1, this.fanIn]) as tf.Tensor2D;
    const y = tf.fused.matMul({ a: flat, b: this.W as tf.Tensor2D, bias: this.b ?? undefined, activation });
    return y.reshape([...shape.slice(0, -1), this.fanOut]);
  }
  named(prefix: string): Record<string, tf.Variable> {
    return this.b ? { [`${prefix}.W`]: this.W, [`${prefix}.b`]: this.b } : { [`${prefix}.W`]: this.W };
  }
}

export class LayerNorm {
  readonly g: tf.Variable;
  readonly b: tf.Variable;
  constructor(dim: number, name: string) {
    this.g = constantVariable(1, [dim], `${name}g`);
    this.b = constantVariable(0, [dim], `${name}b`);
  }
  apply(x: tf.Tensor): tf.Tensor {
    return layerNorm(x, this.g as tf.Tensor1D, this.b as tf.Tensor1D);
  }
  named(prefix: string): Record<string, tf.Variable> {
    return { [`${prefix}.g`]: this.g, [`${prefix}.b`]: this.b };
  }
}
