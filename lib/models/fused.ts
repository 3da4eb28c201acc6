/**
 * Fused ops with hand-written gradients: causal self-attention, layer norm and GELU for the
 * transformer, and the LSTM's recurrence (back-propagation through time written out).
 *
 * Written from tensor ops, one attention layer is ~15 kernels forward and ~30 backward (split,
 * reshapes, transposes, two batched matmuls, scale, mask, softmax) and tfjs's wasm backend multiplies
 * batched small matrices ([B·heads, T, T]) in a scalar loop; a layer norm is ~30 kernel launches.
 * and GELU's autodiff goes through pow (whose gradient also differentiates the exponent, via log).
 * Here each is one pass of our own SIMD WebAssembly (lib/native), forward and backward. The
 * `…Reference` functions keep the op-by-op formulas; tests check both agree, values and gradients.
 */
import { tf } from '../tf';
import { Frame, tensorFrom, valuesOf } from '../native';

/** The kernels keep one row of scores on the stack. */
const MAX_T = 64;

type Grad = Parameters<typeof tf.customGrad>[0];

/**
 * qkv: [B, T, 3E] (queries, keys, values side by side, as makemore's c_attn produces them; head h uses
 * columns h·hs … (h+1)·hs of each third). Returns the heads' outputs side by side: [B, T, E].
 */
export function causalSelfAttention(qkv: tf.Tensor3D, nHead: number): tf.Tensor3D {
  const [B, T, C3] = qkv.shape;
  const E = C3 / 3;
  if (!Number.isInteger(E) || E % nHead !== 0)
    throw new Error(`attention: last axis ${C3} is not 3 × a multiple of ${nHead} heads`);
  if (T > MAX_T) return attentionReference(qkv, nHead);
  const hs = E / nHead;
  const scale = 1 / Math.sqrt(hs);
  const op = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    const f = new Frame();
    const inp = f.put(x.size, valuesOf(x));
    const probs = f.put(B * nHead * T * T);
    const y = f.put(B * T * E);
    f.k.attn_forward(inp, probs, y, B, T, nHead, hs, scale);
    const p = f.take(probs, B * nHead * T * T);
    return {
      value: tensorFrom(f, y, [B, T, E]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const g = new Frame();
        const a = g.put(B * T * C3, valuesOf(saved[0] as tf.Tensor));
        const pp = g.put(p.length, p);
        const d = g.put(B * T * E, valuesOf(dy));
        const dx = g.put(B * T * C3);
        g.k.attn_backward(a, pp, d, dx, B, T, nHead, hs, scale);
        return tensorFrom(g, dx, [B, T, C3]);
      },
    };
  }) as unknown as Grad);
  return op(qkv) as tf.Tensor3D;
}

/** The same attention from tensor ops (makemore's CausalSelfAttention.forward after c_attn). */
export function attentionReference(qkv: tf.Tensor3D, nHead: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, T, C3] = qkv.shape;
    const E = C3 / 3;
    const hs = E / nHead;
    const mask = tf.linalg
      .bandPart(tf.ones([T, T]), -1, 0)
      .sub(1)
      .mul(1e9);
    const [q, k, v] = tf.split(qkv, 3, -1).map((t) => t.reshape([B, T, nHead, hs]).transpose([0, 2, 1, 3])) as [
      tf.Tensor4D,
      tf.Tensor4D,
      tf.Tensor4D,
    ];
    const att = tf.softmax(
      tf
        .matMul(q, k, false, true)
        .mul(1 / Math.sqrt(hs))
        .add(mask),
    );
    return tf
      .matMul(att as tf.Tensor4D, v)
      .transpose([0, 2, 1, 3])
      .reshape([B, T, E]) as tf.Tensor3D;
  });
}

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

/** Step t of a time-major Float32Array of T steps of `size` values (a view). */
function at(a: Float32Array, t: number, size: number): Float32Array {
  return a.subarray(t * size, (t + 1) * size);
}

/** [h0; h_0 … h_{T−2}]: the state each step started from, [T·B, H]. */
function previousStates(h0: tf.Tensor, hs: Float32Array, T: number, BH: number): Float32Array {
  const prev = new Float32Array(T * BH);
  prev.set(valuesOf(h0), 0);
  prev.set(hs.subarray(0, (T - 1) * BH), BH);
  return prev;
}

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

/** The same recurrence from tensor ops, step by step (the formula RecurrentLM's LSTM cell uses). */
export function lstmSequenceReference(xg: tf.Tensor3D, h0: tf.Tensor2D, c0: tf.Tensor2D, Wh: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const H = xg.shape[2] / 4;
    let h = h0;
    let c = c0;
    const hs: tf.Tensor2D[] = [];
    for (const x of tf.unstack(xg, 0) as tf.Tensor2D[]) {
      const gates = x.add(tf.matMul(h, Wh));
      const [i, f, o] = tf.split(tf.sigmoid(gates.slice([0, 0], [-1, 3 * H])), 3, 1) as [
        tf.Tensor2D,
        tf.Tensor2D,
        tf.Tensor2D,
      ];
      const g = tf.tanh(gates.slice([0, 3 * H], [-1, H]));
      c = f.mul(c).add(i.mul(g));
      h = o.mul(tf.tanh(c));
      hs.push(h);
    }
    return tf.stack(hs) as tf.Tensor3D;
  });
}

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
