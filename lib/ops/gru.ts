/**
 * The GRU recurrence over a whole sequence as one tfjs op, with hand-written BPTT: lib/nn/recurrent.ts's
 * tfjs forward for the GRU. Its formula in tf ops, the reference this op is tested against, is that
 * file's `cell`.
 */
import { tf } from '../runtime/tf';
import { Frame, tensorFrom, valuesOf } from '../backend/native/loader';
import type { Grad } from './shared';
import { at, previousStates } from './shared';

/**
 * The GRU recurrence over a sequence (makemore's cell): r, z = σ(x_rz + h·W_rz); h̄ = tanh(x_n + (r⊙h)·W_n);
 * h ← h + z⊙(h̄ − h). xg: [T, B, 3H] (columns r | z | n, bias included), h0: [B, H], Wh: [H, 3H] (W_rz | W_n).
 * H must be a multiple of 4.
 */
export function gruSequence(xg: tf.Tensor3D, h0: tf.Tensor2D, Wh: tf.Tensor2D): tf.Tensor3D {
  const [T, B, G] = xg.shape;
  const H = G / 3;
  if (!Number.isInteger(H) || H % 4 !== 0) throw new Error(`gruSequence: hidden size ${H} must be a multiple of 4`);
  const BH = B * H;
  const BG = B * G;
  const op = tf.customGrad(((xgT: tf.Tensor, h0T: tf.Tensor, WhT: tf.Tensor, save: tf.GradSaveFunc) => {
    save([h0T, WhT]);
    const x = valuesOf(xgT).slice();
    const rzAll = new Float32Array(2 * T * BH);
    const rhAll = new Float32Array(T * BH);
    const hbarAll = new Float32Array(T * BH);
    const hs = new Float32Array(T * BH);
    const [Wrz, Wn] = tf.split(WhT, [2 * H, H], 1) as [tf.Tensor2D, tf.Tensor2D];
    let h = h0T;
    for (let t = 0; t < T; t++) {
      const hw = tf.matMul(h as tf.Tensor2D, Wrz);
      let f = new Frame();
      const px = f.put(BG, at(x, t, BG));
      const pw = f.put(2 * BH, valuesOf(hw));
      const ph = f.put(BH, valuesOf(h));
      const prz = f.put(2 * BH);
      const prh = f.put(BH);
      f.k.gru_gates_step(px, pw, ph, prz, prh, B, H);
      rzAll.set(f.view(prz, 2 * BH), t * 2 * BH);
      rhAll.set(f.view(prh, BH), t * BH);
      const rh = tensorFrom(f, prh, [B, H]);
      const rhw = tf.matMul(rh as tf.Tensor2D, Wn);
      f = new Frame();
      const qx = f.put(BG, at(x, t, BG));
      const qw = f.put(BH, valuesOf(rhw));
      const qrz = f.put(2 * BH, at(rzAll, t, 2 * BH));
      const qh = f.put(BH, valuesOf(h));
      const qhb = f.put(BH);
      const qhn = f.put(BH);
      f.k.gru_out_step(qx, qw, qrz, qh, qhb, qhn, B, H);
      hbarAll.set(f.view(qhb, BH), t * BH);
      hs.set(f.view(qhn, BH), t * BH);
      if (h !== h0T) h.dispose();
      tf.dispose([hw, rh, rhw]);
      h = tensorFrom(f, qhn, [B, H]);
    }
    if (h !== h0T) h.dispose();
    tf.dispose([Wrz, Wn]);
    return {
      value: tf.tensor3d(hs, [T, B, H]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sh0, sWh] = saved as [tf.Tensor2D, tf.Tensor2D];
        const dys = valuesOf(dy).slice();
        const hPrev = previousStates(sh0, hs, T, BH);
        const dG = new Float32Array(T * BG);
        let drec: Float32Array = new Float32Array(BH);
        const [WrzT, WnT] = tf.tidy(() => tf.split(sWh, [2 * H, H], 1).map((w) => w.transpose())) as [
          tf.Tensor2D,
          tf.Tensor2D,
        ];
        for (let t = T - 1; t >= 0; t--) {
          let f = new Frame();
          const pdy = f.put(BH, at(dys, t, BH));
          const pdr = f.put(BH, drec);
          const pdh = f.put(BH);
          f.k.axpby(pdy, pdr, pdh, BH, 1, 1);
          const prz = f.put(2 * BH, at(rzAll, t, 2 * BH));
          const ph = f.put(BH, at(hPrev, t, BH));
          const phb = f.put(BH, at(hbarAll, t, BH));
          const pdg = f.put(BG);
          const pdhp = f.put(BH);
          f.k.gru_back_out(pdh, prz, ph, phb, pdg, pdhp, B, H);
          const dgOut = tensorFrom(f, pdg, [B, G]);
          const dgPart = f.take(pdg, BG);
          const dhpPart = f.take(pdhp, BH);
          const drh = tf.tidy(() => tf.matMul(dgOut.slice([0, 2 * H], [B, H]) as tf.Tensor2D, WnT));
          f = new Frame();
          const qd = f.put(BH, valuesOf(drh));
          const qrz = f.put(2 * BH, at(rzAll, t, 2 * BH));
          const qh = f.put(BH, at(hPrev, t, BH));
          const qdg = f.put(BG, dgPart);
          const qdhp = f.put(BH, dhpPart);
          f.k.gru_back_gates(qd, qrz, qh, qdg, qdhp, B, H);
          dG.set(f.view(qdg, BG), t * BG);
          const dgAll = tensorFrom(f, qdg, [B, G]);
          const dhp = tensorFrom(f, qdhp, [B, H]);
          const rec = tf.tidy(() => tf.matMul(dgAll.slice([0, 0], [B, 2 * H]) as tf.Tensor2D, WrzT).add(dhp));
          drec = valuesOf(rec).slice();
          tf.dispose([dgOut, drh, dgAll, dhp, rec]);
        }
        tf.dispose([WrzT, WnT]);
        const dWh = tf.tidy(() => {
          const dGt = tf.tensor2d(dG, [T * B, G]);
          const dWrz = tf.matMul(tf.tensor2d(hPrev, [T * B, H]), dGt.slice([0, 0], [T * B, 2 * H]), true, false);
          const dWn = tf.matMul(tf.tensor2d(rhAll, [T * B, H]), dGt.slice([0, 2 * H], [T * B, H]), true, false);
          return tf.concat([dWrz, dWn], 1);
        });
        return [tf.tensor3d(dG, [T, B, G]), tf.tensor2d(drec, [B, H]), dWh];
      },
    };
  }) as unknown as Grad);
  return op(xg, h0, Wh) as tf.Tensor3D;
}
