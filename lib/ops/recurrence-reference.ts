/**
 * The recurrences step by step from tf ops: the reference the fused RNN and GRU are tested against.
 */
import { tf } from '../runtime/tf';

/** The RNN and GRU recurrences from tensor ops, step by step (RecurrentLM's cell formulas). */
export function recurrenceReference(
  cell: 'rnn' | 'gru',
  xg: tf.Tensor3D,
  h0: tf.Tensor2D,
  Wh: tf.Tensor2D,
): tf.Tensor3D {
  return tf.tidy(() => {
    let h = h0;
    const hs: tf.Tensor2D[] = [];
    for (const x of tf.unstack(xg, 0) as tf.Tensor2D[]) {
      if (cell === 'rnn') h = tf.tanh(x.add(tf.matMul(h, Wh))) as tf.Tensor2D;
      else {
        const H = h.shape[1];
        const [xr, xz, xn] = tf.split(x, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const [Whr, Whz, Whn] = tf.split(Wh, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const rz = tf.sigmoid(tf.concat([xr, xz], 1).add(tf.matMul(h, tf.concat([Whr, Whz], 1))));
        const r = rz.slice([0, 0], [-1, H]);
        const z = rz.slice([0, H], [-1, H]);
        const hbar = tf.tanh(xn.add(tf.matMul(r.mul(h) as tf.Tensor2D, Whn)));
        h = h.add(z.mul(hbar.sub(h))) as tf.Tensor2D;
      }
      hs.push(h);
    }
    return tf.stack(hs) as tf.Tensor3D;
  });
}
