/**
 * The layers of a fused training step (lib/fused/step.ts), each forward with its backward beside it,
 * on [rows, width] buffers of the kernels' memory (lib/backend/native: gemm.c, steps.c).
 */
import { tf } from '../runtime/tf';
import { Frame, setVariable, valuesOf } from '../backend/native/loader';
import { sgemm, sgemmNt, sgemmTn } from '../backend/native/threads';
import type { BatchNorm1d, LayerNorm } from '../nn/layers';
import type { BatchNormDim0 } from '../nn/batchnorm-dim0';

/** An activation in the frame: `rows` rows of `width` floats at byte offset `at`. */
export interface Act {
  at: number;
  rows: number;
  width: number;
}

/** One step's frame; every parameter's values and gradient are at `value` and `grad` (lib/fused/step.ts keeps them). */
export class StepFrame extends Frame {
  /** The step's scored rows (a window model's examples): set by the step before the layers run. */
  examples = 0;
  /** Rows of one sequence (T) for layers that work along time; 1 for windows. */
  constructor(
    readonly value: Map<tf.Variable, number>,
    readonly grad: Map<tf.Variable, number>,
    readonly T: number,
  ) {
    super();
  }
  act(rows: number, width: number): Act {
    return { at: this.put(rows * width), rows, width };
  }
}

/** A layer of the fused step: forward, and the backward (dy → dx, parameter gradients into the frame). */
export interface FusedLayer {
  forward(f: StepFrame, x: Act): Act;
  backward(f: StepFrame, dy: Act): Act;
  /** After the update: state the step changed besides the parameters (BatchNorm's running statistics), kept here. */
  commit?(f: StepFrame): void;
  /** That state written to the model's variables (after one step, or after several deferred ones). */
  writeBack?(f: Frame): void;
}

/** y = x W + b; dW = xᵀ dy, db = Σ dy, dx = dy Wᵀ (gemm.c: sgemm, sgemm_tn, sgemm_nt). */
export class FusedLinear implements FusedLayer {
  private x: Act | null = null;
  constructor(
    private readonly W: tf.Variable,
    private readonly b: tf.Variable | null,
  ) {}
  forward(f: StepFrame, x: Act): Act {
    const [fanIn, fanOut] = this.W.shape as [number, number];
    if (x.width !== fanIn) throw new Error(`fused Linear: input width ${x.width}, weights [${this.W.shape}]`);
    const y = f.act(x.rows, fanOut);
    sgemm(x.at, f.value.get(this.W)!, y.at, this.b ? f.value.get(this.b)! : 0, x.rows, fanOut, fanIn, 0);
    this.x = x;
    return y;
  }
  backward(f: StepFrame, dy: Act): Act {
    const x = this.x!;
    const [fanIn, fanOut] = this.W.shape as [number, number];
    sgemmTn(x.at, dy.at, f.grad.get(this.W)!, fanIn, fanOut, x.rows, 0);
    if (this.b) f.k.colsum(dy.at, f.grad.get(this.b)!, dy.rows, fanOut);
    const dx = f.act(x.rows, fanIn);
    sgemmNt(dy.at, f.value.get(this.W)!, dx.at, x.rows, fanIn, fanOut, 0);
    return dx;
  }
}

/**
 * An entrywise activation: tanh (dx = dy (1 − y²), from the output) or GELU's tanh form (its derivative
 * from the input).
 */
export class FusedActivation implements FusedLayer {
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

/** What FusedBatchNorm normalises with: γ and β, ε, and Bessel's n − 1 in the batch variance or not. */
export interface BatchNormParams {
  gamma: tf.Variable;
  beta: tf.Variable;
  eps: number;
  bessel: boolean;
}

/**
 * BatchNorm in training mode over the rows (B, or B·T for [B, T, C]). With a BatchNorm1d, its running
 * statistics move as lib/nn/layers.ts moves them (unbiased variance), in float32; notebook 10's
 * hand-written net has none (and Bessel's correction in the batch variance).
 */
export class FusedBatchNorm implements FusedLayer {
  private saved: { xhat: Act; rstd: number } | null = null;
  private stats: { mean: Float32Array; variance: Float32Array; rows: number } | null = null;
  private readonly p: BatchNormParams;
  /** The layer whose running statistics move, if any. */
  private readonly running: BatchNorm1d | null;
  constructor(bn: BatchNorm1d | BatchNormParams) {
    this.p = 'bessel' in bn ? bn : { gamma: bn.gamma, beta: bn.beta, eps: bn.eps, bessel: false };
    this.running = 'bessel' in bn ? null : bn;
  }
  forward(f: StepFrame, x: Act): Act {
    const { gamma, beta, eps, bessel } = this.p;
    const D = gamma.size;
    const y = f.act(x.rows, D);
    const xhat = f.act(x.rows, D);
    const [mean, variance, rstd] = [f.put(D), f.put(D), f.put(D)];
    const at = (v: tf.Variable) => f.value.get(v)!;
    f.k.batchnorm_forward(x.at, at(gamma), at(beta), y.at, xhat.at, mean, variance, rstd, x.rows, D, eps, +bessel);
    this.saved = { xhat, rstd };
    if (this.running) this.stats = { mean: f.take(mean, D), variance: f.take(variance, D), rows: x.rows };
    return y;
  }
  backward(f: StepFrame, dy: Act): Act {
    const s = this.saved!;
    const dx = f.act(dy.rows, dy.width);
    const { gamma, beta, bessel } = this.p;
    const [dg, db] = [f.grad.get(gamma)!, f.grad.get(beta)!];
    const g = f.value.get(gamma)!;
    f.k.batchnorm_backward(s.xhat.at, g, s.rstd, dy.at, dx.at, dg, db, dy.rows, dy.width, +bessel);
    return dx;
  }
  /** The running statistics moved by the steps not yet written back. */
  private held: { rm: Float32Array; rv: Float32Array } | null = null;
  commit(): void {
    const bn = this.running;
    if (!bn) return;
    const { mean, variance, rows } = this.stats!;
    const mo = Math.fround(bn.momentum);
    const keep = Math.fround(1 - bn.momentum);
    const unbiased = Math.fround((bn.momentum * rows) / Math.max(1, rows - 1));
    this.held ??= { rm: Float32Array.from(valuesOf(bn.runningMean)), rv: Float32Array.from(valuesOf(bn.runningVar)) };
    const { rm, rv } = this.held;
    for (let d = 0; d < rm.length; d++) {
      rm[d] = Math.fround(rm[d]! * keep) + Math.fround(mean[d]! * mo);
      rv[d] = Math.fround(rv[d]! * keep) + Math.fround(variance[d]! * unbiased);
    }
  }
  writeBack(f: Frame): void {
    if (!this.running || !this.held) return;
    const { rm, rv } = this.held;
    setVariable(this.running.runningMean, f, f.put(rm.length, rm));
    setVariable(this.running.runningVar, f, f.put(rv.length, rv));
    this.held = null;
  }
}

/**
 * The WaveNet lecture's buggy BatchNorm (lib/nn/batchnorm-dim0.ts) in training mode. Its input [B·T, C]
 * is [B, T·C] in memory, and its statistics per (position, channel) over the B examples are
 * FusedBatchNorm's kernels on T·C channels, with γ and β repeated T times and their gradients summed
 * back over T. The running statistics become [1, T, C] as the ops make them ([1, C] when T is 1).
 */
export class FusedBatchNormDim0 implements FusedLayer {
  private saved: { xhat: number; rstd: number; gamma: number; T: number } | null = null;
  private stats: { mean: Float32Array; variance: Float32Array; T: number } | null = null;
  constructor(private readonly bn: BatchNormDim0) {}
  forward(f: StepFrame, x: Act): Act {
    const C = this.bn.dim;
    const B = f.examples;
    const T = x.rows / B;
    const D = T * C;
    if (x.width !== C || !Number.isInteger(T)) throw new Error(`fused BatchNorm (dim 0): ${x.rows} rows of ${x.width}`);
    const [gamma, beta] = [f.put(D), f.put(D)];
    const [g, b] = [f.view(gamma, D), f.view(beta, D)];
    const [g1, b1] = [f.view(f.value.get(this.bn.gamma)!, C), f.view(f.value.get(this.bn.beta)!, C)];
    for (let t = 0; t < T; t++) {
      g.set(g1, t * C);
      b.set(b1, t * C);
    }
    const y = f.act(x.rows, C);
    const [xhat, mean, variance, rstd] = [f.put(B * D), f.put(D), f.put(D), f.put(D)];
    f.k.batchnorm_forward(x.at, gamma, beta, y.at, xhat, mean, variance, rstd, B, D, this.bn.eps, 0);
    this.saved = { xhat, rstd, gamma, T };
    this.stats = { mean: f.take(mean, D), variance: f.take(variance, D), T };
    return y;
  }
  backward(f: StepFrame, dy: Act): Act {
    const { xhat, rstd, gamma, T } = this.saved!;
    const C = this.bn.dim;
    const [B, D] = [f.examples, T * C];
    const dx = f.act(dy.rows, dy.width);
    const [dg, db] = [f.put(D), f.put(D)];
    f.k.batchnorm_backward(xhat, gamma, rstd, dy.at, dx.at, dg, db, B, D, 0);
    const [dgT, dbT] = [f.view(dg, D), f.view(db, D)];
    const [dg1, db1] = [f.view(f.grad.get(this.bn.gamma)!, C), f.view(f.grad.get(this.bn.beta)!, C)];
    for (let c = 0; c < C; c++) {
      let [sg, sb] = [0, 0];
      for (let t = 0; t < T; t++) [sg, sb] = [Math.fround(sg + dgT[t * C + c]!), Math.fround(sb + dbT[t * C + c]!)];
      [dg1[c], db1[c]] = [sg, sb];
    }
    return dx;
  }
  /** The running statistics moved by the steps not yet written back, and their shape. */
  private held: { rm: Float32Array; rv: Float32Array; shape: number[] } | null = null;
  commit(f: StepFrame): void {
    const { mean, variance, T } = this.stats!;
    const bn = this.bn;
    const n = f.examples;
    const mo = Math.fround(bn.momentum);
    const keep = Math.fround(1 - bn.momentum);
    const unbiased = Math.fround((bn.momentum * n) / (n - 1));
    // [C] at first, broadcast over the positions; [1, T, C] (or [1, C]) after
    const [rm, rv] = this.held ? [this.held.rm, this.held.rv] : [valuesOf(bn.runningMean), valuesOf(bn.runningVar)];
    const m = mean.map((x, i) => Math.fround(rm[i % rm.length]! * keep) + Math.fround(x * mo));
    const v = variance.map((x, i) => Math.fround(rv[i % rv.length]! * keep) + Math.fround(x * unbiased));
    this.held = { rm: m, rv: v, shape: T > 1 ? [1, T, bn.dim] : [1, bn.dim] };
  }
  writeBack(): void {
    if (!this.held) return;
    const { rm, rv, shape } = this.held;
    this.bn.setRunning(tf.tensor(rm, shape), tf.tensor(rv, shape));
    this.held = null;
  }
}

/** [rows, width] → [rows / n, width · n]: the same memory, read differently. */
export class FusedFlatten implements FusedLayer {
  constructor(private readonly n: number) {}
  forward(_f: StepFrame, x: Act): Act {
    if (x.rows % this.n !== 0) throw new Error(`fused FlattenConsecutive(${this.n}): ${x.rows} rows`);
    return { at: x.at, rows: x.rows / this.n, width: x.width * this.n };
  }
  backward(_f: StepFrame, dy: Act): Act {
    return { at: dy.at, rows: dy.rows * this.n, width: dy.width / this.n };
  }
}

/** y[b, t] = x[b, t] + wpe[t] (sequences of f.T rows); dwpe[t] = Σ_b dy[b, t], dx = dy. */
export class FusedAddPositions implements FusedLayer {
  constructor(private readonly wpe: tf.Variable) {}
  forward(f: StepFrame, x: Act): Act {
    const y = f.act(x.rows, x.width);
    f.k.add_positions(x.at, f.value.get(this.wpe)!, y.at, x.rows / f.T, f.T, x.width);
    return y;
  }
  backward(f: StepFrame, dy: Act): Act {
    // wpe has blockSize rows: with T < blockSize the rest keep the frame's zero gradient
    f.k.add_positions_backward(dy.at, f.grad.get(this.wpe)!, dy.rows / f.T, f.T, dy.width);
    return dy;
  }
}

/** makemore's bag of words: y[t] = x[t] + mean(x[0..t]); dx[s] = dy[s] + Σ_{t≥s} dy[t] / (t + 1). */
export class FusedCausalMean implements FusedLayer {
  forward(f: StepFrame, x: Act): Act {
    const y = f.act(x.rows, x.width);
    f.k.causal_mean(x.at, y.at, x.rows / f.T, f.T, x.width);
    return y;
  }
  backward(f: StepFrame, dy: Act): Act {
    const dx = f.act(dy.rows, dy.width);
    f.k.causal_mean_backward(dy.at, dx.at, dy.rows / f.T, f.T, dy.width);
    return dx;
  }
}

/** y = x + branch(x); dx = dy + branch's dx. */
export class FusedResidual implements FusedLayer {
  constructor(private readonly branch: FusedLayer[]) {}
  forward(f: StepFrame, x: Act): Act {
    let h = x;
    for (const l of this.branch) h = l.forward(f, h);
    const y = f.act(x.rows, x.width);
    f.k.axpby(x.at, h.at, y.at, x.rows * x.width, 1, 1);
    return y;
  }
  backward(f: StepFrame, dy: Act): Act {
    let d = dy;
    for (let i = this.branch.length - 1; i >= 0; i--) d = this.branch[i]!.backward(f, d);
    const dx = f.act(dy.rows, dy.width);
    f.k.axpby(dy.at, d.at, dx.at, dy.rows * dy.width, 1, 1);
    return dx;
  }
}

/** The bottom of a fused step: from the ids in the frame to the first activation, and back to the table. */
export interface FusedInput {
  readonly table: tf.Variable;
  forward(f: StepFrame, ids: number, n: number): Act;
  backward(f: StepFrame, dy: Act): void;
}

/** An embedding lookup: n ids → [n, D] rows of the table; the table's gradient sums dy by id. */
export class FusedGather implements FusedInput {
  private ids = { at: 0, n: 0 };
  constructor(readonly table: tf.Variable) {}
  forward(f: StepFrame, ids: number, n: number): Act {
    const D = this.table.shape[1] as number;
    const x = f.act(n, D);
    f.k.gather_rows(f.value.get(this.table)!, ids, x.at, n, D);
    this.ids = { at: ids, n };
    return x;
  }
  backward(f: StepFrame, dy: Act): void {
    const [V, D] = this.table.shape as [number, number];
    f.k.segment_sum(dy.at, this.ids.at, f.grad.get(this.table)!, this.ids.n, D, V);
  }
}

/**
 * An embedding lookup of `bs` ids per row, concatenated, then a Linear layer (makemore's MLP, and the
 * Embedding → FlattenConsecutive → Linear at the bottom of a Sequential such as the WaveNet): the same
 * function as FusedGather → FusedFlatten(bs) → FusedLinear, with the products reordered. Each window
 * position k multiplies the table once, P[k] = table · W[kE .. (k+1)E) ([V, H]), and a row sums bs rows
 * of P; the backward sums dy by (position, id) into G[k] ([V, H]), then dW[k] = tableᵀ G[k] and
 * dtable = Σ_k G[k] W[k]ᵀ. With 28 table rows and 8,192 ids a batch, about a sixteenth of the work (the
 * lecture WaveNet's first layer: about a fifth).
 */
export class FusedContextLinear implements FusedInput {
  private saved = { ids: 0, rows: 0 };
  constructor(
    readonly table: tf.Variable,
    private readonly W: tf.Variable,
    private readonly b: tf.Variable | null,
    private readonly bs: number,
  ) {}
  private dims() {
    const [V, E] = this.table.shape as [number, number];
    return { V, E, H: this.W.shape[1] as number, bs: this.bs };
  }
  forward(f: StepFrame, ids: number, n: number): Act {
    const { V, E, H, bs } = this.dims();
    const P = f.put(bs * V * H);
    const [table, W] = [f.value.get(this.table)!, f.value.get(this.W)!];
    for (let k = 0; k < bs; k++) f.k.sgemm(table, W + k * E * H * 4, P + k * V * H * 4, 0, V, H, E, 0);
    const y = f.act(n / bs, H);
    f.k.context_sum(P, ids, this.b ? f.value.get(this.b)! : 0, y.at, y.rows, bs, V, H);
    this.saved = { ids, rows: y.rows };
    return y;
  }
  backward(f: StepFrame, dy: Act): void {
    const { V, E, H, bs } = this.dims();
    const G = f.put(bs * V * H);
    f.k.context_scatter(dy.at, this.saved.ids, G, this.saved.rows, bs, V, H);
    if (this.b) f.k.colsum(dy.at, f.grad.get(this.b)!, dy.rows, H);
    const [table, W, dW, dtable] = [
      f.value.get(this.table)!,
      f.value.get(this.W)!,
      f.grad.get(this.W)!,
      f.grad.get(this.table)!,
    ];
    for (let k = 0; k < bs; k++) {
      const Gk = G + k * V * H * 4;
      f.k.sgemm_tn(table, Gk, dW + k * E * H * 4, E, H, V, 0, E);
      f.k.sgemm_nt(Gk, W + k * E * H * 4, dtable, V, E, H, k > 0 ? 1 : 0, H, E);
    }
  }
}

/**
 * The recurrence of an LSTM or a vanilla RNN over time-major input gates xg [T·B, G·H] (bias included),
 * from h0 = the learned `start` on every row (and c0 = 0): h for every step [T·B, H]. Forward: per step
 * one product h·Wh and one pass of the cell's kernel. Backward, in reverse: the cell's backward, then
 * the recurrent gradient dG_t·Whᵀ; ∂Wh as one product Hprevᵀ·dG over all steps; ∂start = Σ_b ∂h0.
 * As lib/ops/lstm.ts and rnn.ts compute it, without tfjs between the steps.
 */
export class FusedRecurrence implements FusedLayer {
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

/** Columns [from, from + count) of a [rows, width] buffer into a contiguous [rows, count] one, or back. */
function copyColumns(
  f: StepFrame,
  src: number,
  rows: number,
  width: number,
  from: number,
  count: number,
  dst: number,
): void {
  const s = f.view(src, rows * width);
  const d = f.view(dst, rows * count);
  for (let r = 0; r < rows; r++) d.set(s.subarray(r * width + from, r * width + from + count), r * count);
}

function placeColumns(
  f: StepFrame,
  src: number,
  rows: number,
  count: number,
  dst: number,
  width: number,
  from: number,
): void {
  const s = f.view(src, rows * count);
  const d = f.view(dst, rows * width);
  for (let r = 0; r < rows; r++) d.set(s.subarray(r * count, (r + 1) * count), r * width + from);
}

/**
 * makemore's GRU over time-major input gates xg [T·B, 3H] (columns r | z | n, bias included), from h0 =
 * `start` on every row: r, z = σ(x_rz + h·W_rz); h̄ = tanh(x_n + (r⊙h)·W_n); h ← h + z⊙(h̄ − h). As
 * lib/ops/gru.ts computes it, with W_rz and W_n copied out of Wh [H, 3H] once a step so that every
 * product reads contiguous rows.
 */
export class FusedGRU implements FusedLayer {
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
    copyColumns(f, f.value.get(this.Wh)!, H, 3 * H, 0, 2 * H, Wrz);
    copyColumns(f, f.value.get(this.Wh)!, H, 3 * H, 2 * H, H, Wn);
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
      copyColumns(f, dg, B, 3 * H, 2 * H, H, dn);
      sgemm(dn, WnT, drh, 0, B, H, H, 0);
      f.k.gru_back_gates(drh, rzt, h, dg, dhp, B, H);
      const drz = dGrz + t * 2 * BH * 4;
      copyColumns(f, dg, B, 3 * H, 0, 2 * H, drz);
      f.view(dRec, BH).set(f.view(dhp, BH));
      sgemm(drz, WrzT, dRec, 0, B, H, 2 * H, 1);
    }
    // ∂Wh = [hPrevᵀ·dG_rz | rhᵀ·dG_n]
    const [dWrz, dWn] = [f.put(2 * H * H), f.put(H * H)];
    sgemmTn(hPrev, dGrz, dWrz, H, 2 * H, T * B, 0);
    sgemmTn(rh, dGn, dWn, H, H, T * B, 0);
    const dWh = f.grad.get(this.Wh)!;
    placeColumns(f, dWrz, H, 2 * H, dWh, 3 * H, 0);
    placeColumns(f, dWn, H, H, dWh, 3 * H, 2 * H);
    f.k.colsum(dRec, f.grad.get(this.start)!, B, H);
    return dG;
  }
}

/** Layer norm over each row (eps 1e-5, as lib/nn's LayerNorm); its backward gives dx, dγ and dβ. */
export class FusedLayerNorm implements FusedLayer {
  private saved: { x: Act; mean: number; rstd: number } | null = null;
  constructor(private readonly ln: LayerNorm) {}
  forward(f: StepFrame, x: Act): Act {
    const y = f.act(x.rows, x.width);
    const [mean, rstd] = [f.put(x.rows), f.put(x.rows)];
    const { g, b } = this.ln;
    f.k.layernorm_forward(x.at, f.value.get(g)!, f.value.get(b)!, y.at, mean, rstd, x.rows, x.width, 1e-5);
    this.saved = { x, mean, rstd };
    return y;
  }
  backward(f: StepFrame, dy: Act): Act {
    const { x, mean, rstd } = this.saved!;
    const dx = f.act(dy.rows, dy.width);
    const { g, b } = this.ln;
    const [dg, db] = [f.grad.get(g)!, f.grad.get(b)!];
    f.k.layernorm_backward(x.at, f.value.get(g)!, mean, rstd, dy.at, dx.at, dg, db, x.rows, x.width);
    return dx;
  }
}

/**
 * Causal self-attention on qkv [B·T, 3E] (q | k | v, head h at columns h·hs) → y [B·T, E], over
 * sequences of f.T rows: kernels.c's attn_forward keeps the probabilities for attn_backward, as
 * lib/ops/attention.ts does.
 */
export class FusedAttention implements FusedLayer {
  private saved: { qkv: Act; probs: number } | null = null;
  constructor(private readonly nHead: number) {}
  forward(f: StepFrame, qkv: Act): Act {
    const T = f.T;
    const B = qkv.rows / T;
    const E = qkv.width / 3;
    const hs = E / this.nHead;
    const probs = f.put(B * this.nHead * T * T);
    const y = f.act(qkv.rows, E);
    f.k.attn_forward(qkv.at, probs, y.at, B, T, this.nHead, hs, 1 / Math.sqrt(hs));
    this.saved = { qkv, probs };
    return y;
  }
  backward(f: StepFrame, dy: Act): Act {
    const { qkv, probs } = this.saved!;
    const T = f.T;
    const B = qkv.rows / T;
    const hs = dy.width / this.nHead;
    const dqkv = f.act(qkv.rows, qkv.width);
    f.k.attn_backward(qkv.at, probs, dy.at, dqkv.at, B, T, this.nHead, hs, 1 / Math.sqrt(hs));
    return dqkv;
  }
}
