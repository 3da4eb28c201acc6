/**
 * The vanilla RNN recurrence over a whole sequence as one tfjs op, with hand-written BPTT: lib/nn/recurrent.ts's
 * tfjs forward for the vanilla RNN. Its formula in tf ops, the reference this op is tested against, is that
 * file's `cell`.
 */
import { tf } from '../runtime/tf';
import { Frame, tensorFrom, valuesOf } from '../backend/native/loader';
import type { Grad } from './shared';
import { at, previousStates } from './shared';

/**
 * The vanilla RNN recurrence h_t = tanh(xg_t + h_{t−1}·Wh) over a sequence. xg: [T, B, H] (input half,
 * bias included), h0: [B, H], Wh: [H, H] → h for every step [T, B, H]. H must be a multiple of 4.
 */
export function rnnSequence(xg: tf.Tensor3D, h0: tf.Tensor2D, Wh: tf.Tensor2D): tf.Tensor3D {
  const [T, B, H] = xg.shape;
  if (H % 4 !== 0) throw new Error(`rnnSequence: hidden size ${H} must be a multiple of 4`);
  const BH = B * H;
  const op = tf.customGrad(((xgT: tf.Tensor, h0T: tf.Tensor, WhT: tf.Tensor, save: tf.GradSaveFunc) => {
    save([h0T, WhT]);
    const x = valuesOf(xgT).slice();
    const hs = new Float32Array(T * BH);
    let h = h0T;
    for (let t = 0; t < T; t++) {
      const hw = tf.matMul(h as tf.Tensor2D, WhT as tf.Tensor2D);
      const f = new Frame();
      const px = f.put(BH, at(x, t, BH));
      const pw = f.put(BH, valuesOf(hw));
      const ph = f.put(BH);
      f.k.rnn_forward_step(px, pw, ph, BH);
      hs.set(f.view(ph, BH), t * BH);
      if (h !== h0T) h.dispose();
      hw.dispose();
      h = tensorFrom(f, ph, [B, H]);
    }
    if (h !== h0T) h.dispose();
    return {
      value: tf.tensor3d(hs, [T, B, H]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sh0, sWh] = saved as [tf.Tensor2D, tf.Tensor2D];
        const dys = valuesOf(dy).slice();
        const dPre = new Float32Array(T * BH);
        let drec: Float32Array = new Float32Array(BH);
        const WhTr = sWh.transpose();
        for (let t = T - 1; t >= 0; t--) {
          const f = new Frame();
          const ph = f.put(BH, at(hs, t, BH));
          const pdy = f.put(BH, at(dys, t, BH));
          const pdr = f.put(BH, drec);
          const pd = f.put(BH);
          f.k.rnn_backward_step(ph, pdy, pdr, pd, BH);
          dPre.set(f.view(pd, BH), t * BH);
          const d = tensorFrom(f, pd, [B, H]);
          const back = tf.matMul(d as tf.Tensor2D, WhTr);
          drec = valuesOf(back).slice();
          tf.dispose([d, back]);
        }
        WhTr.dispose();
        const dWh = tf.tidy(() =>
          tf.matMul(
            tf.tensor2d(previousStates(sh0, hs, T, BH), [T * B, H]),
            tf.tensor2d(dPre, [T * B, H]),
            true,
            false,
          ),
        );
        return [tf.tensor3d(dPre, [T, B, H]), tf.tensor2d(drec, [B, H]), dWh];
      },
    };
  }) as unknown as Grad);
  return op(xg, h0, Wh) as tf.Tensor3D;
}
