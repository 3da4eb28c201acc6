/**
 * GELU (tanh approximation) as one op: autodiff through pow would also differentiate the exponent.
 */
import { tf } from '../runtime/tf';
import { Frame, tensorFrom, valuesOf } from '../backend/native/loader';
import type { Grad } from './shared';

/**
 * GELU, tanh approximation (GPT-2's, makemore's NewGELU): ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
 * The derivative is written out: ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²).
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  const n = x.size;
  const op = tf.customGrad(((xt: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xt]);
    const f = new Frame();
    const px = f.put(n, valuesOf(xt));
    const py = f.put(n);
    f.k.gelu_forward(px, py, n);
    return {
      value: tensorFrom(f, py, xt.shape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const h = new Frame();
        const qx = h.put(n, valuesOf(saved[0] as tf.Tensor));
        const qdy = h.put(n, valuesOf(dy));
        const qdx = h.put(n);
        h.k.gelu_backward(qx, qdy, qdx, n);
        return tensorFrom(h, qdx, xt.shape);
      },
    };
  }) as unknown as Grad);
  return op(x);
}

/** The same GELU from tensor ops (makemore's formula, with pow). */
export function geluReference(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => x.mul(0.5).mul(tf.tanh(x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI))).add(1)));
}
