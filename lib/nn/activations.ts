/**
 * Entrywise activations: Tanh and GELU (tanh form), each with its fused half — tanh's derivative
 * from its output (dx = dy (1 − y²)), GELU's from its input (kernels.c).
 */
import { tf } from '../runtime/tf';
import { Module } from './module';
import { gelu } from '../ops/gelu';
import type { Act, FusedLayer, StepFrame } from '../fused/frame';
import type { SpecLayer } from './layer';

export class Tanh extends Module implements SpecLayer {
  readonly spec = { kind: 'Tanh' } as const;
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tanh(x);
  }
  fused(): FusedLayer {
    return new FusedActivation('tanh');
  }
  namedWeights(): Record<string, tf.Variable> {
    return {};
  }
}

/** GELU, tanh approximation (GPT-2's, makemore's NewGELU): one op with its own gradient (ops/gelu.ts). */
export class GELU extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    return gelu(x);
  }
  fused(): FusedLayer {
    return new FusedActivation('gelu');
  }
  namedWeights(): Record<string, tf.Variable> {
    return {};
  }
}

class FusedActivation implements FusedLayer {
  private saved = 0;
  constructor(private readonly fn: 'tanh' | 'gelu') {}
  forward(f: StepFrame, x: Act): Act {
    const y = f.act(x.rows, x.width);
    const n = x.rows * x.width;
    if (this.fn === 'tanh') f.k.tanh_forward(x.at, y.at, n);
    else f.k.gelu_forward(x.at, y.at, n);
    this.saved = this.fn === 'tanh' ? y.at : x.at;
    return y;
  }
  backward(f: StepFrame, dy: Act): Act {
    const dx = f.act(dy.rows, dy.width);
    const n = dy.rows * dy.width;
    if (this.fn === 'tanh') f.k.tanh_backward(this.saved, dy.at, dx.at, n);
    else f.k.gelu_backward(this.saved, dy.at, dx.at, n);
    return dx;
  }
}
