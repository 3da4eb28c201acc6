/**
 * Recurrent language models in makemore's shape: token embedding → a cell applied left to right →
 * a linear head giving next-token logits at every position. Three cells, gates written from tf ops:
 * vanilla RNN, GRU and LSTM. The input half of every gate is computed for all time steps in one
 * matmul; only the recurrent half runs step by step — in training, as one fused op per sequence with
 * hand-written back-propagation through time (ops/lstm.ts, rnn.ts, gru.ts; the tf-ops cell below is used for generation
 * and for hidden sizes that are not a multiple of 4).
 */
import { tf } from '../runtime/tf';
import { assignValue, constantVariable, randnVariable, uniformVariable } from '../nn/init';
import { crossEntropy } from '../nn/losses';
import type { Rng } from '../random/rng';
import { LanguageModelBase, type RecurrentState, type Stateful } from './language-model';
import { gruSequence } from '../ops/gru';
import { lstmSequence } from '../ops/lstm';
import { rnnSequence } from '../ops/rnn';

export type CellType = 'rnn' | 'gru' | 'lstm';

export interface RecurrentConfig {
  cell: CellType;
  vocabSize: number;
  /** Longest sequence the model is trained on (makemore: longest name + 1). */
  blockSize: number;
  nEmbd: number;
  /** Hidden state size (makemore's n_embd2). */
  nHidden: number;
}

const GATES: Record<CellType, number> = { rnn: 1, gru: 3, lstm: 4 };

export class RecurrentLM extends LanguageModelBase<CellType> implements Stateful {
  readonly reads = 'sequence';
  readonly type: CellType;
  readonly wte: tf.Variable;
  /** Learned initial hidden state (makemore's `start`). */
  readonly start: tf.Variable;
  /** Input-to-gates [E, G·H], recurrent-to-gates [H, G·H], gate bias [G·H]. */
  readonly Wx: tf.Variable;
  readonly Wh: tf.Variable;
  readonly b: tf.Variable;
  readonly lmW: tf.Variable;
  readonly lmB: tf.Variable;

  constructor(
    readonly config: RecurrentConfig,
    rng: Rng,
  ) {
    super();
    this.type = config.cell;
    const { vocabSize: V, nEmbd: E, nHidden: H, cell } = config;
    if (!(cell in GATES)) throw new Error(`unknown cell type '${String(cell)}' (rnn, gru, lstm)`);
    const G = GATES[cell];
    this.wte = randnVariable(rng, [V, E], 1, 'wte');
    this.start = constantVariable(0, [1, H], 'start');
    // One Linear(E + H → G·H) split into its input and recurrent halves: same parameters as makemore's cells.
    this.Wx = uniformVariable(rng, E + H, [E, G * H], 'Wx');
    this.Wh = uniformVariable(rng, E + H, [H, G * H], 'Wh');
    this.b = uniformVariable(rng, E + H, [G * H], 'b');
    if (cell === 'lstm') {
      // Forget-gate bias starts at 1 so the cell remembers by default (Jozefowicz et al. 2015).
      const bias = this.b.arraySync() as number[];
      for (let k = H; k < 2 * H; k++) bias[k] = (bias[k] as number) + 1;
      const next = tf.tensor1d(bias);
      assignValue(this.b, next);
      next.dispose(); // the variable holds its own reference
    }
    this.lmW = uniformVariable(rng, H, [H, V], 'lmW');
    this.lmB = uniformVariable(rng, H, [V], 'lmB');
  }

  initialState(batch: number): RecurrentState {
    return tf.tidy(() => {
      const h = tf.tile(this.start, [batch, 1]) as tf.Tensor2D;
      return this.config.cell === 'lstm' ? { h, c: tf.zeros([batch, this.config.nHidden]) as tf.Tensor2D } : { h };
    });
  }

  /** One step of the cell given the input half of the gates `xg` [B, G·H]. */
  private cellStep(xg: tf.Tensor2D, s: RecurrentState): RecurrentState {
    const H = this.config.nHidden;
    const h = s.h;
    switch (this.config.cell) {
      case 'rnn':
        return { h: tf.tanh(xg.add(tf.matMul(h, this.Wh as tf.Tensor2D))) as tf.Tensor2D };
      case 'gru': {
        // r and z from [x, h]; the candidate from [x, r ⊙ h]; h ← (1 − z) ⊙ h + z ⊙ h̄.
        const [xr, xz, xn] = tf.split(xg, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const [Whr, Whz, Whn] = tf.split(this.Wh, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const rz = tf.sigmoid(tf.concat([xr, xz], 1).add(tf.matMul(h, tf.concat([Whr, Whz], 1))));
        const [r, z] = tf.split(rz, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
        const hbar = tf.tanh(xn.add(tf.matMul(r.mul(h), Whn)));
        return { h: h.add(z.mul(hbar.sub(h))) as tf.Tensor2D };
      }
      case 'lstm': {
        // Gates in the order input, forget, output (sigmoid), then the candidate g (tanh).
        const gates = xg.add(tf.matMul(h, this.Wh as tf.Tensor2D));
        const ifo = tf.sigmoid(gates.slice([0, 0], [-1, 3 * H]));
        const g = tf.tanh(gates.slice([0, 3 * H], [-1, H]));
        const [i, f, o] = tf.split(ifo, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const c = f.mul(s.c as tf.Tensor2D).add(i.mul(g)) as tf.Tensor2D;
        return { h: o.mul(tf.tanh(c)) as tf.Tensor2D, c };
      }
    }
  }

  /**
   * The input half of every gate for all positions at once, time-major: [T, B, G·H]. Time-major so
   * that taking step t is a contiguous slice (wasm's Unpack along a middle axis is very slow).
   */
  private inputGates(idxTimeMajor: tf.Tensor2D): tf.Tensor3D {
    const [T, B] = idxTimeMajor.shape;
    const E = this.config.nEmbd;
    const emb = tf.gather(this.wte, idxTimeMajor).reshape([T * B, E]) as tf.Tensor2D;
    return tf.fused.matMul({ a: emb, b: this.Wx as tf.Tensor2D, bias: this.b }).reshape([T, B, -1]) as tf.Tensor3D;
  }

  /** makemore's interface: token ids [B, T] (and targets [B, T], −1 = ignore) → logits [B, T, V] and loss. */
  forward(idx: tf.Tensor2D, targets?: tf.Tensor2D): { logits: tf.Tensor3D; loss?: tf.Scalar } {
    const [B, T] = idx.shape;
    const xgAll = this.inputGates(idx.transpose() as tf.Tensor2D);
    let s = this.initialState(B);
    let hidden: tf.Tensor2D; // [T·B, H], time-major
    const H = this.config.nHidden;
    if (H % 4 === 0) {
      // the whole recurrence as one op with hand-written BPTT (lib/ops)
      const Wh = this.Wh as tf.Tensor2D;
      const seq =
        this.config.cell === 'lstm'
          ? lstmSequence(xgAll, s.h, s.c as tf.Tensor2D, Wh)
          : this.config.cell === 'gru'
            ? gruSequence(xgAll, s.h, Wh)
            : rnnSequence(xgAll, s.h, Wh);
      hidden = seq.reshape([T * B, H]);
    } else {
      const xg = tf.unstack(xgAll, 0) as tf.Tensor2D[];
      const hs: tf.Tensor2D[] = [];
      for (let t = 0; t < T; t++) {
        s = this.cellStep(xg[t] as tf.Tensor2D, s);
        hs.push(s.h);
      }
      hidden = tf.concat(hs, 0) as tf.Tensor2D;
    }
    const logitsTB = tf.fused.matMul({ a: hidden, b: this.lmW as tf.Tensor2D, bias: this.lmB }).reshape([T, B, -1]);
    // The mean loss does not depend on the order of positions: score time-major against transposed targets.
    const loss = targets ? crossEntropy(logitsTB, targets.transpose(), -1, { timeMajor: true }) : undefined;
    return { logits: logitsTB.transpose([1, 0, 2]) as tf.Tensor3D, loss };
  }

  /** One token per sequence [B] → next-token logits [B, V] and the new state (for generation). */
  step(tokens: tf.Tensor1D, state: RecurrentState): { logits: tf.Tensor2D; state: RecurrentState } {
    const xg = tf.fused.matMul({
      a: tf.gather(this.wte, tokens) as tf.Tensor2D,
      b: this.Wx as tf.Tensor2D,
      bias: this.b,
    }) as tf.Tensor2D;
    const s = this.cellStep(xg, state);
    return { logits: tf.fused.matMul({ a: s.h, b: this.lmW as tf.Tensor2D, bias: this.lmB }) as tf.Tensor2D, state: s };
  }

  /** Weights by stable names, for saving. */
  namedWeights(): Record<string, tf.Variable> {
    return { wte: this.wte, start: this.start, Wx: this.Wx, Wh: this.Wh, b: this.b, lmW: this.lmW, lmB: this.lmB };
  }
}
