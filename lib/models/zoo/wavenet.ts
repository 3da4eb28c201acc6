/**
 * The WaveNet lecture's model (notebook 11) as a makemore model: `--type wavenet` and a row of notebook
 * 09's table. The lecture trains it on windows of the last 8 characters; here it reads makemore's
 * sequences and predicts at every position from that position's window ('.'-padded before the start, as
 * the lecture's windows are), so it trains, evaluates and samples through the same loop as the rest of
 * the zoo. In training only the positions that score (target ≠ −1) go through the net: BatchNorm's
 * statistics are over real windows, as in the lecture, not the padding after a word's end.
 */
import { tf } from '../../runtime/tf';
import type { Rng } from '../../random/rng';
import { crossEntropy } from '../../nn/losses';
import { prefixed } from '../../nn/module';
import type { ForwardOptions } from '../language-model';
import { wavenet } from '../presets';
import type { Sequential } from '../lecture/sequential';
import type { Chain } from '../../fused/step';
import { SequenceModel } from './sequence-model';
import type { ZooConfig } from './config';
import { linearRows, oneToOne, type Row, type StateDictLayout } from '../torch-names';

/** `ZooConfig` read as WaveNet: nLayer levels that each fuse pairs (context 2^nLayer), nEmbd, nEmbd2 hidden. */
export class WaveNet extends SequenceModel<'wavenet'> {
  readonly type = 'wavenet';
  readonly net: Sequential;
  /** Characters each prediction reads: 2^nLayer. */
  readonly context: number;
  constructor(
    readonly config: ZooConfig,
    rng: Rng,
  ) {
    super();
    const { vocabSize, nLayer, nEmbd, nEmbd2 } = config;
    this.context = 2 ** nLayer;
    const merge = Array.from({ length: nLayer }, () => 2);
    this.net = wavenet(rng, { vocabSize, blockSize: this.context, nEmbd, nHidden: nEmbd2, merge });
  }
  /** The windows [rows.length, context] ending at each (b, t) of `rows` (flat b·T + t); token 0 before the start. */
  private windows(ids: ArrayLike<number>, T: number, rows: ArrayLike<number>): Int32Array {
    const n = this.context;
    const out = new Int32Array(rows.length * n);
    for (let r = 0; r < rows.length; r++) {
      const flat = rows[r] as number;
      const t = flat % T;
      for (let k = 0; k < n; k++) {
        const s = t - (n - 1) + k;
        out[r * n + k] = s >= 0 ? (ids[flat - t + s] as number) : 0;
      }
    }
    return out;
  }
  /**
   * The scored positions of sequences X and targets Y (both [rows, T]): their windows, their targets, and
   * where they are (flat b·T + t).
   */
  scoredWindows(b: { X: ArrayLike<number>; Y: ArrayLike<number>; rows: number }): {
    ids: Int32Array;
    targets: Int32Array;
    at: Int32Array;
  } {
    const scored: number[] = [];
    for (let i = 0; i < b.Y.length; i++) if (b.Y[i] !== -1) scored.push(i);
    const targets = Int32Array.from(scored, (i) => b.Y[i] as number);
    return { ids: this.windows(b.X, b.X.length / b.rows, scored), targets, at: Int32Array.from(scored) };
  }
  /** The lecture's net on the scored positions' windows. */
  chain(): Chain {
    return { layers: this.net.chain().layers, rows: (b) => this.scoredWindows(b) };
  }
  logits(idx: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
    const [B, T] = idx.shape;
    const all = Array.from({ length: B * T }, (_, i) => i);
    const windows = tf.tensor2d(this.windows(idx.dataSync(), T, all), [B * T, this.context], 'int32');
    const { logits } = this.net.forward(windows, undefined, opts);
    return logits.reshape([B, T, this.vocabSize]);
  }
  /**
   * With targets, only the scored positions run (logits are 0 at the others). BatchNorm uses the
   * batch's statistics with `training`, its running ones otherwise.
   */
  override forward(
    idx: tf.Tensor2D,
    targets?: tf.Tensor2D,
    opts: ForwardOptions = {},
  ): { logits: tf.Tensor3D; loss?: tf.Scalar } {
    if (!targets) return { logits: this.logits(idx, opts) };
    const [B, T] = idx.shape;
    const scored = this.scoredWindows({ X: idx.dataSync(), Y: targets.dataSync(), rows: B });
    const n = scored.targets.length;
    const { logits } = this.net.forward(tf.tensor2d(scored.ids, [n, this.context], 'int32'), undefined, opts);
    const picked = tf.tensor1d(scored.targets, 'int32');
    const where = tf.tensor2d(scored.at, [n, 1], 'int32');
    return {
      logits: tf.scatterND(where, logits, [B * T, this.vocabSize]).reshape([B, T, this.vocabSize]),
      loss: crossEntropy(logits, picked),
    };
  }
  namedWeights(): Record<string, tf.Variable> {
    return prefixed('net', this.net);
  }
}

/**
 * scripts/torch/zoo.py's WaveNet state_dict (makemore.py has none): `wte.weight`, per level
 * `levels.k.0.weight` (Linear, no bias) and `levels.k.1` (nn.BatchNorm1d: weight, bias, running_mean,
 * running_var, and num_batches_tracked: PyTorch's int64 counter, written as an F32 0 that load_state_dict converts, ignored when read), `head`.
 */
export function wavenetStateDict(c: ZooConfig): StateDictLayout {
  const { vocabSize: V, nLayer: L, nEmbd: E, nEmbd2: H } = c;
  const rows: Row[] = [{ torch: 'wte.weight', ours: 'net.0.weight', shape: [V, E] }];
  for (let k = 0, width = E; k < L; k++, width = H) {
    const bn = `net.${3 + 4 * k}`;
    rows.push(
      ...linearRows(`levels.${k}.0`, `net.${2 + 4 * k}`, 2 * width, H, false),
      { torch: `levels.${k}.1.weight`, ours: `${bn}.gamma`, shape: [H] },
      { torch: `levels.${k}.1.bias`, ours: `${bn}.beta`, shape: [H] },
      { torch: `levels.${k}.1.running_mean`, ours: `${bn}.runningMean`, shape: [H] },
      { torch: `levels.${k}.1.running_var`, ours: `${bn}.runningVar`, shape: [H] },
      { torch: `levels.${k}.1.num_batches_tracked`, shape: [], buffer: () => Float32Array.of(0) },
    );
  }
  return oneToOne([...rows, ...linearRows('head', `net.${1 + 4 * L}`, H, V)]);
}
