/**
 * Entrywise activations: Tanh, GELU (tanh form or exact) and ReLU, each with its fused half in kernels.c —
 * tanh's derivative from its output (dx = dy (1 − y²)), GELU's from its input (the exact form's Φ(x) as
 * y / x), ReLU's from its output (dx = dy where y > 0).
 */
import { tf } from '../runtime/tf';
import { Module } from './module';
import { gelu as geluOp } from '../ops/gelu';
import { gelu } from '../backend/native/threads';
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

/**
 * GELU, as torch.nn.GELU's `approximate`: 'tanh' (GPT-2's, makemore's NewGELU), one op with its own
 * gradient (ops/gelu.ts); or 'none', the exact x·Φ(x) = ½x(1 + erf(x/√2)) (nanoGPT's nn.GELU()).
 */
export class GELU extends Module {
  constructor(readonly approximate: 'tanh' | 'none' = 'tanh') {
    super();
  }
  forward(x: tf.Tensor): tf.Tensor {
    if (this.approximate === 'tanh') return geluOp(x);
    return tf.tidy(() => x.mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5));
  }
  fused(): FusedLayer {
    return new FusedActivation(this.approximate === 'tanh' ? 'gelu' : 'gelu-erf');
  }
  namedWeights(): Record<string, tf.Variable> {
    return {};
  }
}

/** max(0, x) (the lecture's gpt.py feed-forward). */
export class ReLU extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    return tf.relu(x);
  }
  fused(): FusedLayer {
    return new FusedActivation('relu');
  }
  namedWeights(): Record<string, tf.Variable> {
    return {};
  }
}

type Fn = 'tanh' | 'gelu' | 'gelu-erf' | 'relu';

class FusedActivation implements FusedLayer {
  private saved = 0;
  /** The exact GELU's output too: its backward takes Φ(x) = y / x instead of computing it again. */
  private output = 0;
  constructor(private readonly fn: Fn) {}
  forward(f: StepFrame, x: Act): Act {
    const y = f.act(x.rows, x.width);
    const n = x.rows * x.width;
    if (this.fn === 'tanh') f.k.tanh_forward(x.at, y.at, n);
    else if (this.fn === 'gelu' || this.fn === 'gelu-erf')
      gelu(this.fn === 'gelu' ? 'tanh' : 'erf', 'forward', [x.at, y.at], n);
    else f.k.relu_forward(x.at, y.at, n);
    // what the backward reads: tanh's and ReLU's output, GELU's input (and the exact form's output)
    this.saved = this.fn === 'tanh' || this.fn === 'relu' ? y.at : x.at;
    this.output = y.at;
    return y;
  }
  backward(f: StepFrame, dy: Act): Act {
    const dx = f.act(dy.rows, dy.width);
    const n = dy.rows * dy.width;
    if (this.fn === 'tanh') f.k.tanh_backward(this.saved, dy.at, dx.at, n);
    else if (this.fn === 'gelu') gelu('tanh', 'backward', [this.saved, dy.at, dx.at], n);
    else if (this.fn === 'gelu-erf') gelu('erf', 'backward', [this.saved, this.output, dy.at, dx.at], n);
    else f.k.relu_backward(this.saved, dy.at, dx.at, n);
    return dx;
  }
}
