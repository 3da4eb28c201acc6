/**
 * The LSTM recurrence over a whole sequence as one tfjs op, back-propagation through time written out:
 * lib/nn/recurrent.ts's tfjs forward for the LSTM. The cell itself is steps.c's kernel; its formula
 * in tf ops (the reference this op is tested against) is lib/nn/recurrent.ts's `cell`.
 */
import { tf } from '../runtime/tf';
import { Frame, tensorFrom, valuesOf } from '../backend/native/loader';
import { at, type Grad } from './shared';

/**
 * The LSTM recurrence over a whole sequence. xg: the input half of the gates for every step, time-major
 * [T, B, 4H] (order i, f, o, g; bias included); h0, c0: [B, H]; Wh: [H, 4H]. Returns h for every step
 * [T, B, H]. Per step: one matmul h·Wh (tfjs/XNNPACK) and one native pass for the gates and the cell
 * (instead of ~12 kernels). Backward runs the steps in reverse and gets ∂Wh as ONE matmul over all
 * steps, Hprevᵀ·dGates, instead of T small ones. H must be a multiple of 4.
 */
export function lstmSequence(xg: tf.Tensor3D, h0: tf.Tensor2D, c0: tf.Tensor2D, Wh: tf.Tensor2D): tf.Tensor3D {
  const [T, B, G] = xg.shape;
  const H = G / 4;
  if (!Number.isInteger(H) || H % 4 !== 0) throw new Error(`lstmSequence: hidden size ${H} must be a multiple of 4`);
  const BH = B * H;
  const BG = B * G;
  const op = tf.customGrad(((xgT: tf.Tensor, h0T: tf.Tensor, c0T: tf.Tensor, WhT: tf.Tensor, save: tf.GradSaveFunc) => {
    save([h0T, WhT]);
    const x = valuesOf(xgT).slice();
    const act = new Float32Array(T * BG);
    const cs = new Float32Array(T * BH);
    const hs = new Float32Array(T * BH);
    const c0v = valuesOf(c0T).slice();
    let h = h0T;
    for (let t = 0; t < T; t++) {
      const hw = tf.matMul(h as tf.Tensor2D, WhT as tf.Tensor2D);
      const f = new Frame();
      const px = f.put(BG, at(x, t, BG));
      const pw = f.put(BG, valuesOf(hw));
      const pc = f.put(BH, t === 0 ? c0v : at(cs, t - 1, BH));
      const pa = f.put(BG);
      const pcn = f.put(BH);
      const ph = f.put(BH);
      f.k.lstm_forward_step(px, pw, pc, pa, pcn, ph, B, H);
      act.set(f.view(pa, BG), t * BG);
      cs.set(f.view(pcn, BH), t * BH);
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
        const dG = new Float32Array(T * BG);
        const dc = new Float32Array(BH);
        let dhRec: Float32Array = new Float32Array(BH);
        // Whᵀ made once: the backend then packs it for its matmul kernel once, not once per step
        const WhTr = sWh.transpose();
        for (let t = T - 1; t >= 0; t--) {
          const f = new Frame();
          const pa = f.put(BG, at(act, t, BG));
          const pcp = f.put(BH, t === 0 ? c0v : at(cs, t - 1, BH));
          const pc = f.put(BH, at(cs, t, BH));
          const pdy = f.put(BH, at(dys, t, BH));
          const pdr = f.put(BH, dhRec);
          const pdh = f.put(BH);
          f.k.axpby(pdy, pdr, pdh, BH, 1, 1); // dh = output gradient + recurrent gradient
          const pdc = f.put(BH, dc);
          const pdg = f.put(BG);
          f.k.lstm_backward_step(pa, pcp, pc, pdh, pdc, pdg, B, H);
          dc.set(f.view(pdc, BH));
          dG.set(f.view(pdg, BG), t * BG);
          const dgT = tensorFrom(f, pdg, [B, G]);
          const dhPrev = tf.matMul(dgT as tf.Tensor2D, WhTr);
          dhRec = valuesOf(dhPrev).slice();
          tf.dispose([dgT, dhPrev]);
        }
        // ∂Wh = Σ_t h_{t−1}ᵀ dG_t as one [H, T·B] × [T·B, 4H] product
        const hPrev = new Float32Array(T * BH);
        hPrev.set(valuesOf(sh0), 0);
        hPrev.set(hs.subarray(0, (T - 1) * BH), BH);
        WhTr.dispose();
        const dWh = tf.tidy(() => tf.matMul(tf.tensor2d(hPrev, [T * B, H]), tf.tensor2d(dG, [T * B, G]), true, false));
        return [tf.tensor3d(dG, [T, B, G]), tf.tensor2d(dhRec, [B, H]), tf.tensor2d(dc, [B, H]), dWh];
      },
    };
  }) as unknown as Grad);
  return op(xg, h0, c0, Wh) as tf.Tensor3D;
}
