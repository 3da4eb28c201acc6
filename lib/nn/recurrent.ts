/**
 * The recurrent layer of makemore's RNN, GRU and LSTM language models: h_t = cell(x_t, h_{t−1}) over a
 * time-major sequence, from a learned start state. The input half of every gate (x·Wx + b) is a Linear
 * before this layer, for all positions at once; this layer adds the recurrent half h·Wh step by step.
 *  - `cell` below is each cell written once from tf ops: the reference the fast forms are tested
 *    against, what generation runs one token at a time, and the training path for hidden sizes that
 *    are not a multiple of 4;
 *  - the fused half (below) runs the sequence with the cells' kernels (steps.c) and back-propagation
 *    through time written out: the fused step runs it, and the tfjs forward runs it too, as one op
 *    with that backward as its gradient (`sequenceOp`).
 */
import { tf } from '../runtime/tf';
import { Module } from './module';
import { sgemm, sgemmTn } from '../backend/native/threads';
import { tensorFrom, valuesOf } from '../backend/native/loader';
import { redefinedBelow, StepFrame, type Act, type FusedLayer } from '../fused/frame';
import type { Grad } from '../ops/shared';

export type CellType = 'rnn' | 'gru' | 'lstm';

/** Gates per cell: the input and recurrent halves are [·, G·H]. */
export const GATES: Record<CellType, number> = { rnn: 1, gru: 3, lstm: 4 };

/** Hidden state carried between steps: h, plus the cell state c for an LSTM. */
export interface RecurrentState {
  h: tf.Tensor2D;
  c?: tf.Tensor2D;
}

/**
 * One step of a cell: the input half of the gates `xg` [B, G·H] (bias included) and the state → the new
 * state. Each cell's formula, written once from tf ops.
 */
export function cell(type: CellType, Wh: tf.Tensor2D, xg: tf.Tensor2D, s: RecurrentState): RecurrentState {
  const H = Wh.shape[0];
  const h = s.h;
  switch (type) {
    case 'rnn':
      return { h: tf.tanh(xg.add(tf.matMul(h, Wh))) as tf.Tensor2D };
    case 'gru': {
      // r and z from [x, h]; the candidate from [x, r ⊙ h]; h ← (1 − z) ⊙ h + z ⊙ h̄.
      const [xr, xz, xn] = tf.split(xg, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      const [Whr, Whz, Whn] = tf.split(Wh, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      const rz = tf.sigmoid(tf.concat([xr, xz], 1).add(tf.matMul(h, tf.concat([Whr, Whz], 1))));
      const [r, z] = tf.split(rz, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
      const hbar = tf.tanh(xn.add(tf.matMul(r.mul(h), Whn)));
      return { h: h.add(z.mul(hbar.sub(h))) as tf.Tensor2D };
    }
    case 'lstm': {
      // Gates in the order input, forget, output (sigmoid), then the candidate g (tanh).
      const gates = xg.add(tf.matMul(h, Wh));
      const ifo = tf.sigmoid(gates.slice([0, 0], [-1, 3 * H]));
      const g = tf.tanh(gates.slice([0, 3 * H], [-1, H]));
      const [i, f, o] = tf.split(ifo, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      const c = f.mul(s.c as tf.Tensor2D).add(i.mul(g)) as tf.Tensor2D;
      return { h: o.mul(tf.tanh(c)) as tf.Tensor2D, c };
    }
  }
}

/**
 * A cell step by step over xg [T, B, G·H] from state `s`: h for every step [T, B, H]. With `cell` above,
 * the reference the fused halves (and with them the tfjs forward) are tested against.
 */
export function cellSequence(
  step: (xg: tf.Tensor2D, s: RecurrentState) => RecurrentState,
  xg: tf.Tensor3D,
  s: RecurrentState,
): tf.Tensor3D {
  return tf.tidy(() => {
    const hs: tf.Tensor2D[] = [];
    for (const x of tf.unstack(xg, 0) as tf.Tensor2D[]) {
      s = step(x, s);
      hs.push(s.h);
    }
    return tf.stack(hs) as tf.Tensor3D;
  });
}

export class Recurrence extends Module {
  /** Recurrent-to-gates [H, G·H]. */
  readonly Wh: tf.Variable;
  /** Learned initial hidden state (makemore's `start`). */
  readonly start: tf.Variable;
  readonly H: number;
  /** Over weights the model made (in makemore's order of drawing them): Wh [H, G·H], start [1, H]. */
  constructor(
    readonly cellType: CellType,
    Wh: tf.Variable,
    start: tf.Variable,
  ) {
    super();
    if (!(cellType in GATES)) throw new Error(`unknown cell type '${String(cellType)}' (rnn, gru, lstm)`);
    this.H = Wh.shape[0] as number;
    if (Wh.shape[1] !== GATES[cellType] * this.H || start.shape.join() !== `1,${this.H}`)
      throw new Error(`${cellType}: Wh [${Wh.shape}] and start [${start.shape}] do not fit a hidden size of ${this.H}`);
    [this.Wh, this.start] = [Wh, start];
  }

  initialState(batch: number): RecurrentState {
    return tf.tidy(() => {
      const h = tf.tile(this.start, [batch, 1]) as tf.Tensor2D;
      return this.cellType === 'lstm' ? { h, c: tf.zeros([batch, this.H]) as tf.Tensor2D } : { h };
    });
  }

  /** One step of the cell given the input half of the gates `xg` [B, G·H]. */
  cell(xg: tf.Tensor2D, s: RecurrentState): RecurrentState {
    return cell(this.cellType, this.Wh as tf.Tensor2D, xg, s);
  }

  /** The fused half is the cell too: a learner's own `cell` must not train as the kernels' one. */
  readonly mirrors = ['forward', 'cell'];

  /**
   * xg [T, B, G·H] (time-major, bias included) → h for every step [T, B, H], from the start state: the
   * fused half as one op, or `cell` step by step where the kernels do not apply (H not a multiple of 4)
   * or `cell` was redefined.
   */
  forward(x: tf.Tensor): tf.Tensor {
    const xg = x as tf.Tensor3D;
    if (this.H % 4 !== 0 || redefinedBelow(this, ['cell'], 'fused'))
      return cellSequence((xt, s) => this.cell(xt, s), xg, this.initialState(xg.shape[1]));
    return this.sequenceOp(xg);
  }

  /**
   * The fused half as a tfjs op: xg, Wh and start in, h for every step out; its gradient reruns the
   * forward on a frame of its own (a frame lasts until the next op) and then the fused backward.
   */
  private sequenceOp(xg: tf.Tensor3D): tf.Tensor3D {
    const [T, B, GH] = xg.shape;
    const H = this.H;
    const run = (xgT: tf.Tensor, WhT: tf.Tensor, startT: tf.Tensor) => {
      const half = this.fused() as FusedLayer;
      const [Wh, start] = [this.Wh, this.start];
      const value = new Map<tf.Variable, number>();
      const grad = new Map<tf.Variable, number>();
      const f = new StepFrame(value, grad, T);
      value.set(Wh, f.put(Wh.size, valuesOf(WhT)));
      value.set(start, f.put(H, valuesOf(startT)));
      grad.set(Wh, f.put(Wh.size));
      grad.set(start, f.put(H));
      const x: Act = { at: f.put(T * B * GH, valuesOf(xgT)), rows: T * B, width: GH };
      return { f, half, hs: half.forward(f, x), grads: [grad.get(Wh)!, grad.get(start)!] as const };
    };
    const op = tf.customGrad(((xgT: tf.Tensor, WhT: tf.Tensor, startT: tf.Tensor, save: tf.GradSaveFunc) => {
      save([xgT, WhT, startT]);
      const { f, hs } = run(xgT, WhT, startT);
      return {
        value: tensorFrom(f, hs.at, [T, B, H]),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [a, b, c] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
          const r = run(a, b, c);
          const dx = r.half.backward(r.f, { at: r.f.put(T * B * H, valuesOf(dy)), rows: T * B, width: H });
          const [dWh, dStart] = r.grads;
          return [
            tensorFrom(r.f, dx.at, [T, B, GH]),
            tensorFrom(r.f, dWh, this.Wh.shape),
            tensorFrom(r.f, dStart, [1, H]),
          ];
        },
      };
    }) as unknown as Grad);
    return op(xg, this.Wh, this.start) as tf.Tensor3D;
  }

  /** The kernels take hidden sizes that are a multiple of 4; others train through the ops. */
  fused(): FusedLayer | null {
    if (this.H % 4 !== 0 || redefinedBelow(this, ['cell'], 'fused')) return null;
    return this.cellType === 'gru'
      ? new FusedGRU(this.Wh, this.start)
      : new FusedRecurrence(this.cellType, this.Wh, this.start);
  }

  namedWeights(): Record<string, tf.Variable> {
    return { start: this.start, Wh: this.Wh };
  }
}

/**
 * The recurrence of an LSTM or a vanilla RNN over time-major input gates xg [T·B, G·H] (bias included),
 * from h0 = the learned `start` on every row (and c0 = 0): h for every step [T·B, H]. Forward: per step
 * one product h·Wh and one pass of the cell's kernel. Backward, in reverse: the cell's backward, then
 * the recurrent gradient dG_t·Whᵀ; ∂Wh as one product Hprevᵀ·dG over all steps; ∂start = Σ_b ∂h0.
 */
class FusedRecurrence implements FusedLayer {
  private saved: { hs: number; cs: number; act: number; h0: number; c0: number; B: number } | null = null;
  constructor(
    private readonly cell: 'lstm' | 'rnn',
    private readonly Wh: tf.Variable,
    private readonly start: tf.Variable,
  ) {}
  private get G(): number {
    return this.cell === 'lstm' ? 4 : 1;
  }
  forward(f: StepFrame, x: Act): Act {
    const H = this.Wh.shape[0] as number;
    const G = this.G * H;
    const T = f.T;
    const B = x.rows / T;
    const [BH, BG] = [B * H, B * G];
    const h0 = f.put(BH);
    const start = f.view(f.value.get(this.start)!, H);
    const h0v = f.view(h0, BH);
    for (let b = 0; b < B; b++) h0v.set(start, b * H);
    const c0 = f.put(BH);
    f.view(c0, BH).fill(0);
    const hs = f.act(T * B, H);
    const cs = f.put(T * BH);
    const act = f.put(T * BG);
    const hw = f.put(BG);
    const Wh = f.value.get(this.Wh)!;
    for (let t = 0; t < T; t++) {
      const hPrev = t === 0 ? h0 : hs.at + (t - 1) * BH * 4;
      sgemm(hPrev, Wh, hw, 0, B, G, H, 0);
      if (this.cell === 'lstm') {
        const cPrev = t === 0 ? c0 : cs + (t - 1) * BH * 4;
        f.k.lstm_forward_step(
          x.at + t * BG * 4,
          hw,
          cPrev,
          act + t * BG * 4,
          cs + t * BH * 4,
          hs.at + t * BH * 4,
          B,
          H,
        );
      } else {
        f.k.rnn_forward_step(x.at + t * BG * 4, hw, hs.at + t * BH * 4, BH);
      }
    }
    this.saved = { hs: hs.at, cs, act, h0, c0, B };
    return hs;
  }
  backward(f: StepFrame, dy: Act): Act {
    const { hs, cs, act, h0, c0, B } = this.saved!;
    const H = this.Wh.shape[0] as number;
    const G = this.G * H;
    const T = f.T;
    const [BH, BG] = [B * H, B * G];
    const dG = f.act(T * B, G);
    const dc = f.put(BH);
    const dRec = f.put(BH);
    const dh = f.put(BH);
    f.view(dc, BH).fill(0);
    f.view(dRec, BH).fill(0);
    const WhT = f.put(G * H);
    f.k.transpose(f.value.get(this.Wh)!, WhT, H, G);
    for (let t = T - 1; t >= 0; t--) {
      const dGt = dG.at + t * BG * 4;
      if (this.cell === 'lstm') {
        f.k.axpby(dy.at + t * BH * 4, dRec, dh, BH, 1, 1);
        const cPrev = t === 0 ? c0 : cs + (t - 1) * BH * 4;
        f.k.lstm_backward_step(act + t * BG * 4, cPrev, cs + t * BH * 4, dh, dc, dGt, B, H);
      } else {
        f.k.rnn_backward_step(hs + t * BH * 4, dy.at + t * BH * 4, dRec, dGt, BH);
      }
      sgemm(dGt, WhT, dRec, 0, B, H, G, 0);
    }
    // h_{t−1} for every step, contiguous: h0, then h_0 … h_{T−2}
    const hPrev = f.put(T * BH);
    f.view(hPrev, BH).set(f.view(h0, BH));
    f.view(hPrev + BH * 4, (T - 1) * BH).set(f.view(hs, (T - 1) * BH));
    sgemmTn(hPrev, dG.at, f.grad.get(this.Wh)!, H, G, T * B, 0);
    f.k.colsum(dRec, f.grad.get(this.start)!, B, H);
    return dG;
  }
}

/**
 * `count` columns of each of `rows` rows from one buffer to another: from column `from.col` of a buffer
 * `from.width` wide into column `to.col` of one `to.width` wide (Wh's gate blocks out and back).
 */
function moveColumns(
  f: StepFrame,
  rows: number,
  count: number,
  from: { at: number; width: number; col: number },
  to: { at: number; width: number; col: number },
): void {
  const s = f.view(from.at, rows * from.width);
  const d = f.view(to.at, rows * to.width);
  for (let r = 0; r < rows; r++)
    d.set(s.subarray(r * from.width + from.col, r * from.width + from.col + count), r * to.width + to.col);
}

/**
 * makemore's GRU over time-major input gates xg [T·B, 3H] (columns r | z | n, bias included), from h0 =
 * `start` on every row: r, z = σ(x_rz + h·W_rz); h̄ = tanh(x_n + (r⊙h)·W_n); h ← h + z⊙(h̄ − h). As
 * the cell above computes it, with W_rz and W_n copied out of Wh [H, 3H] once a step so that every
 * product reads contiguous rows.
 */
class FusedGRU implements FusedLayer {
  private saved: {
    hs: number;
    hPrev: number;
    rz: number;
    rh: number;
    hbar: number;
    Wrz: number;
    Wn: number;
    B: number;
  } | null = null;
  constructor(
    private readonly Wh: tf.Variable,
    private readonly start: tf.Variable,
  ) {}
  forward(f: StepFrame, x: Act): Act {
    const H = this.Wh.shape[0] as number;
    const T = f.T;
    const B = x.rows / T;
    const [BH, BG] = [B * H, 3 * B * H];
    const Wrz = f.put(2 * H * H);
    const Wn = f.put(H * H);
    moveColumns(f, H, 2 * H, { at: f.value.get(this.Wh)!, width: 3 * H, col: 0 }, { at: Wrz, width: 2 * H, col: 0 });
    moveColumns(f, H, H, { at: f.value.get(this.Wh)!, width: 3 * H, col: 2 * H }, { at: Wn, width: H, col: 0 });
    // h_{t−1} for every step, contiguous (h0 first): the states the step reads, and ∂Wrz's left factor
    const hPrev = f.put(T * BH);
    const start = f.view(f.value.get(this.start)!, H);
    const h0 = f.view(hPrev, BH);
    for (let b = 0; b < B; b++) h0.set(start, b * H);
    const hs = f.act(T * B, H);
    const rz = f.put(2 * T * BH);
    const rh = f.put(T * BH);
    const hbar = f.put(T * BH);
    const hw = f.put(2 * BH);
    const rhw = f.put(BH);
    for (let t = 0; t < T; t++) {
      const h = hPrev + t * BH * 4;
      const xt = x.at + t * BG * 4;
      sgemm(h, Wrz, hw, 0, B, 2 * H, H, 0);
      f.k.gru_gates_step(xt, hw, h, rz + t * 2 * BH * 4, rh + t * BH * 4, B, H);
      sgemm(rh + t * BH * 4, Wn, rhw, 0, B, H, H, 0);
      f.k.gru_out_step(xt, rhw, rz + t * 2 * BH * 4, h, hbar + t * BH * 4, hs.at + t * BH * 4, B, H);
      if (t + 1 < T) f.view(hPrev + (t + 1) * BH * 4, BH).set(f.view(hs.at + t * BH * 4, BH));
    }
    this.saved = { hs: hs.at, hPrev, rz, rh, hbar, Wrz, Wn, B };
    return hs;
  }
  backward(f: StepFrame, dy: Act): Act {
    const { hPrev, rz, rh, hbar, Wrz, Wn, B } = this.saved!;
    const H = this.Wh.shape[0] as number;
    const T = f.T;
    const [BH, BG] = [B * H, 3 * B * H];
    const dG = f.act(T * B, 3 * H);
    const dGrz = f.put(2 * T * BH);
    const dGn = f.put(T * BH);
    const WrzT = f.put(2 * H * H);
    const WnT = f.put(H * H);
    f.k.transpose(Wrz, WrzT, H, 2 * H);
    f.k.transpose(Wn, WnT, H, H);
    const [dRec, dh, dhp, drh] = [f.put(BH), f.put(BH), f.put(BH), f.put(BH)];
    f.view(dRec, BH).fill(0);
    for (let t = T - 1; t >= 0; t--) {
      const dg = dG.at + t * BG * 4;
      const [rzt, h] = [rz + t * 2 * BH * 4, hPrev + t * BH * 4];
      f.k.axpby(dy.at + t * BH * 4, dRec, dh, BH, 1, 1);
      f.k.gru_back_out(dh, rzt, h, hbar + t * BH * 4, dg, dhp, B, H);
      const dn = dGn + t * BH * 4;
      moveColumns(f, B, H, { at: dg, width: 3 * H, col: 2 * H }, { at: dn, width: H, col: 0 });
      sgemm(dn, WnT, drh, 0, B, H, H, 0);
      f.k.gru_back_gates(drh, rzt, h, dg, dhp, B, H);
      const drz = dGrz + t * 2 * BH * 4;
      moveColumns(f, B, 2 * H, { at: dg, width: 3 * H, col: 0 }, { at: drz, width: 2 * H, col: 0 });
      f.view(dRec, BH).set(f.view(dhp, BH));
      sgemm(drz, WrzT, dRec, 0, B, H, 2 * H, 1);
    }
    // ∂Wh = [hPrevᵀ·dG_rz | rhᵀ·dG_n]
    const [dWrz, dWn] = [f.put(2 * H * H), f.put(H * H)];
    sgemmTn(hPrev, dGrz, dWrz, H, 2 * H, T * B, 0);
    sgemmTn(rh, dGn, dWn, H, H, T * B, 0);
    const dWh = f.grad.get(this.Wh)!;
    moveColumns(f, H, 2 * H, { at: dWrz, width: 2 * H, col: 0 }, { at: dWh, width: 3 * H, col: 0 });
    moveColumns(f, H, H, { at: dWn, width: H, col: 0 }, { at: dWh, width: 3 * H, col: 2 * H });
    f.k.colsum(dRec, f.grad.get(this.start)!, B, H);
    return dG;
  }
}
