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
import type { HostTensor, StateDictLayout, TorchTensor } from './torch-names';

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

/** The cells' nn.Linear(E + H → ·) of makemore.py (and zoo.py's LSTM), and which of our gate blocks each holds. */
const CELL_LINEARS: Record<CellType, [name: string, blocks: number[]][]> = {
  rnn: [['xh_to_h', [0]]],
  // our columns are r, z, n; makemore declares z, r, hbar
  gru: [
    ['xh_to_z', [1]],
    ['xh_to_r', [0]],
    ['xh_to_hbar', [2]],
  ],
  lstm: [['xh_to_gates', [0, 1, 2, 3]]], // i, f, o, g in both
};

/**
 * makemore.py's RNN state_dict (`start`, `wte.weight`, the cell's `cell.xh_to_…` Linear(E + H → ·)
 * weight [out, E + H] and bias, `lm_head`): each cell Linear is our input half Wx and recurrent half Wh
 * stacked ([x, h] is its input), transposed, for its gate blocks' columns.
 */
export function recurrentStateDict(c: RecurrentConfig): StateDictLayout {
  const { vocabSize: V, nEmbd: E, nHidden: H, cell } = c;
  const G = GATES[cell];
  const linears = CELL_LINEARS[cell];
  const tensors: TorchTensor[] = [
    { name: 'start', shape: [1, H] },
    { name: 'wte.weight', shape: [V, E] },
    ...linears.flatMap(([n, blocks]) => [
      { name: `cell.${n}.weight`, shape: [blocks.length * H, E + H] },
      { name: `cell.${n}.bias`, shape: [blocks.length * H] },
    ]),
    { name: 'lm_head.weight', shape: [V, H] },
    { name: 'lm_head.bias', shape: [V] },
  ];
  /** Our column of gate block `g`, unit j, for PyTorch row r of a Linear holding `blocks`. */
  const column = (blocks: number[], r: number) => (blocks[Math.floor(r / H)] as number) * H + (r % H);
  const lmT = (t: HostTensor, rows: number, cols: number): HostTensor => {
    const out = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = t.data[i * cols + j] as number;
    return { shape: [cols, rows], data: out };
  };
  return {
    tensors,
    ours: [
      { name: 'wte', shape: [V, E] },
      { name: 'start', shape: [1, H] },
      { name: 'Wx', shape: [E, G * H] },
      { name: 'Wh', shape: [H, G * H] },
      { name: 'b', shape: [G * H] },
      { name: 'lmW', shape: [H, V] },
      { name: 'lmB', shape: [V] },
    ],
    toTorch(ours) {
      const [Wx, Wh, b] = [ours.Wx!, ours.Wh!, ours.b!];
      const out: Record<string, HostTensor> = { start: ours.start!, 'wte.weight': ours.wte! };
      for (const [n, blocks] of linears) {
        const rows = blocks.length * H;
        const w = new Float32Array(rows * (E + H));
        const bias = new Float32Array(rows);
        for (let r = 0; r < rows; r++) {
          const col = column(blocks, r);
          for (let i = 0; i < E; i++) w[r * (E + H) + i] = Wx.data[i * G * H + col] as number;
          for (let i = 0; i < H; i++) w[r * (E + H) + E + i] = Wh.data[i * G * H + col] as number;
          bias[r] = b.data[col] as number;
        }
        out[`cell.${n}.weight`] = { shape: [rows, E + H], data: w };
        out[`cell.${n}.bias`] = { shape: [rows], data: bias };
      }
      out['lm_head.weight'] = lmT(ours.lmW!, H, V);
      out['lm_head.bias'] = ours.lmB!;
      return out;
    },
    fromTorch(torch) {
      const Wx = new Float32Array(E * G * H);
      const Wh = new Float32Array(H * G * H);
      const b = new Float32Array(G * H);
      for (const [n, blocks] of linears) {
        const w = torch[`cell.${n}.weight`]!.data;
        const bias = torch[`cell.${n}.bias`]!.data;
        for (let r = 0; r < blocks.length * H; r++) {
          const col = column(blocks, r);
          for (let i = 0; i < E; i++) Wx[i * G * H + col] = w[r * (E + H) + i] as number;
          for (let i = 0; i < H; i++) Wh[i * G * H + col] = w[r * (E + H) + E + i] as number;
          b[col] = bias[r] as number;
        }
      }
      return {
        wte: torch['wte.weight']!,
        start: torch.start!,
        Wx: { shape: [E, G * H], data: Wx },
        Wh: { shape: [H, G * H], data: Wh },
        b: { shape: [G * H], data: b },
        lmW: lmT(torch['lm_head.weight']!, V, H),
        lmB: torch['lm_head.bias']!,
      };
    },
  };
}
