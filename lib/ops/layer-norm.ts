/**
 * Layer norm as one op with a hand-written gradient, and its op-by-op reference.
 */
import { tf } from '../runtime/tf';
import { Frame, tensorFrom, valuesOf } from '../backend/native/loader';
import type { Grad } from './shared';

/** Layer norm over the last axis with gain g and bias b (torch.nn.LayerNorm, eps 1e-5). */
export function layerNorm(x: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D, eps = 1e-5): tf.Tensor {
  const shape = x.shape;
  const D = shape[shape.length - 1] as number;
  const N = x.size / D;
  const op = tf.customGrad(((xt: tf.Tensor, gt: tf.Tensor, bt: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xt, gt]);
    const f = new Frame();
    const px = f.put(N * D, valuesOf(xt));
    const pg = f.put(D, valuesOf(gt));
    const pb = f.put(D, valuesOf(bt));
    const py = f.put(N * D);
    const pm = f.put(N);
    const pr = f.put(N);
    f.k.layernorm_forward(px, pg, pb, py, pm, pr, N, D, eps);
    const mean = f.take(pm, N);
    const rstd = f.take(pr, N);
    return {
      value: tensorFrom(f, py, shape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const h = new Frame();
        const qx = h.put(N * D, valuesOf(saved[0] as tf.Tensor));
        const qg = h.put(D, valuesOf(saved[1] as tf.Tensor));
        const qm = h.put(N, mean);
        const qr = h.put(N, rstd);
        const qdy = h.put(N * D, valuesOf(dy));
        const qdx = h.put(N * D);
        const qdg = h.put(D);
        const qdb = h.put(D);
        h.k.layernorm_backward(qx, qg, qm, qr, qdy, qdx, qdg, qdb, N, D);
        return [tensorFrom(h, qdx, shape), tensorFrom(h, qdg, [D]), tensorFrom(h, qdb, [D])];
      },
    };
  }) as unknown as Grad);
  return op(x, g, b);
}

/** The same layer norm from tensor ops. */
export function layerNormReference(x: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D, eps = 1e-5): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return x
      .sub(mean)
      .mul(tf.rsqrt(variance.add(eps)))
      .mul(g)
      .add(b);
  });
}
