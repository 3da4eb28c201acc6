/**
 * Recurrent language models in makemore's shape: token embedding → the input half of the gates for every
 * position at once (a Linear) → the recurrence (lib/nn/recurrent.ts: the RNN, GRU or LSTM cell applied
 * left to right) → a linear head giving next-token logits at every position. The layers run
 * time-major, [T, B, ·]: step t's rows are contiguous.
 */
import { tf } from '../runtime/tf';
import { assignValue, constantVariable, randnVariable, uniformVariable } from '../nn/init';
import { crossEntropy } from '../nn/losses';
import { Embedding } from '../nn/embedding';
import { Linear } from '../nn/linear';
import { GATES, Recurrence, type CellType, type RecurrentState } from '../nn/recurrent';
import { runLayers, type Layer } from '../nn/layer';
import type { Rng } from '../random/rng';
import type { Chain } from '../fused/step';
import type { Batch } from '../data/batches';
import type { RecurrentConfig } from './configs';
import { LanguageModelBase, type Stateful } from './language-model';

export type { CellType, RecurrentConfig };

/** Sequences [rows, T] as [T, rows]: ids and targets time-major. */
function timeMajor(b: Batch): { ids: Int32Array; targets: Int32Array } {
  const T = b.X.length / b.rows;
  const ids = new Int32Array(b.X.length);
  const targets = new Int32Array(b.Y.length);
  for (let r = 0; r < b.rows; r++)
    for (let t = 0; t < T; t++) {
      ids[t * b.rows + r] = b.X[r * T + t]!;
      targets[t * b.rows + r] = b.Y[r * T + t]!;
    }
  return { ids, targets };
}

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
  readonly embed: Embedding;
  readonly inputGates: Linear;
  readonly recurrence: Recurrence;
  readonly head: Linear;
  /** embed → inputGates → recurrence → head, on time-major ids [T, B]. */
  readonly layers: Layer[];

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
    this.embed = new Embedding(this.wte, { reorderProducts: false });
    this.inputGates = Linear.of(this.Wx, this.b);
    this.recurrence = new Recurrence(cell, this.Wh, this.start);
    this.head = Linear.of(this.lmW, this.lmB);
    this.layers = [this.embed, this.inputGates, this.recurrence, this.head];
  }

  initialState(batch: number): RecurrentState {
    return this.recurrence.initialState(batch);
  }

  /** makemore's interface: token ids [B, T] (and targets [B, T], −1 = ignore) → logits [B, T, V] and loss. */
  forward(idx: tf.Tensor2D, targets?: tf.Tensor2D): { logits: tf.Tensor3D; loss?: tf.Scalar } {
    const logitsTB = runLayers(this.layers, idx.transpose()); // [T, B, V]
    // The mean loss does not depend on the order of positions: score time-major against transposed targets.
    const loss = targets ? crossEntropy(logitsTB, targets.transpose(), -1, { timeMajor: true }) : undefined;
    return { logits: logitsTB.transpose([1, 0, 2]) as tf.Tensor3D, loss };
  }

  chain(): Chain {
    return { layers: this.layers, rows: timeMajor };
  }

  /** One token per sequence [B] → next-token logits [B, V] and the new state (for generation): the cell once. */
  step(tokens: tf.Tensor1D, state: RecurrentState): { logits: tf.Tensor2D; state: RecurrentState } {
    const xg = this.inputGates.forward(this.embed.forward(tokens)) as tf.Tensor2D;
    const s = this.recurrence.cell(xg, state);
    return { logits: this.head.forward(s.h) as tf.Tensor2D, state: s };
  }

  /** Weights by stable names, for saving. */
  namedWeights(): Record<string, tf.Variable> {
    return { wte: this.wte, start: this.start, Wx: this.Wx, Wh: this.Wh, b: this.b, lmW: this.lmW, lmB: this.lmB };
  }
}
