/**
 * makemore's MLP.
 */
import { tf } from '../../runtime/tf';
import { randnVariable } from '../../nn/init';
import { Embedding } from '../../nn/embedding';
import { FlattenConsecutive } from '../../nn/flatten';
import { Linear } from '../../nn/linear';
import { Tanh } from '../../nn/activations';
import { runLayers, type Layer } from '../../nn/layer';
import { prefixed } from '../../nn/module';
import type { Rng } from '../../random/rng';
import type { Chain } from '../../fused/step';
import { SequenceModel, TORCH_INIT } from './sequence-model';
import type { ZooConfig } from './config';
import { linearRows, oneToOne, type StateDictLayout } from '../torch-names';

/**
 * Position t of each of B sequences of T ids sees ids t, t−1, …, t−bs+1 (the blank token V before the
 * start): the windows [B·T, bs], one row per position.
 */
export function contexts(ids: ArrayLike<number>, B: number, T: number, bs: number, V: number): Int32Array {
  const ctx = new Int32Array(B * T * bs);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let k = 0; k < bs; k++) ctx[(b * T + t) * bs + k] = t - k >= 0 ? (ids[b * T + t - k] as number) : V;
  return ctx;
}

/**
 * makemore's MLP: at every position, the embeddings of the previous `blockSize` tokens (a blank token,
 * index V, before the start) concatenated → tanh hidden layer → logits.
 */
export class MakemoreMLP extends SequenceModel<'mlp'> {
  readonly type = 'mlp';
  readonly wte: tf.Variable;
  readonly hidden: Linear;
  readonly head: Linear;
  /** On each position's window: its embeddings concatenated, the hidden layer, tanh, the head. */
  readonly layers: Layer[];
  constructor(
    readonly config: ZooConfig,
    rng: Rng,
  ) {
    super();
    const { vocabSize: V, blockSize: T, nEmbd: E, nEmbd2: H } = config;
    this.wte = randnVariable(rng, [V + 1, E], 1, 'wte');
    this.hidden = new Linear(rng, T * E, H, TORCH_INIT);
    this.head = new Linear(rng, H, V, TORCH_INIT);
    this.layers = [
      new Embedding(this.wte, { reorderProducts: true }),
      new FlattenConsecutive(T),
      this.hidden,
      new Tanh(),
      this.head,
    ];
  }
  /** Each position's window, as one index tensor and a single lookup (not blockSize shifted copies). */
  private windows(ids: ArrayLike<number>, B: number, T: number): Int32Array {
    return contexts(ids, B, T, this.config.blockSize, this.config.vocabSize);
  }
  logits(idx: tf.Tensor2D): tf.Tensor3D {
    const [B, T] = idx.shape;
    const ctx = tf.tensor2d(this.windows(idx.dataSync(), B, T), [B * T, this.config.blockSize], 'int32');
    return runLayers(this.layers, ctx).reshape([B, T, this.config.vocabSize]);
  }
  chain(): Chain {
    const rows: Chain['rows'] = (b) => ({ ids: this.windows(b.X, b.rows, b.X.length / b.rows), targets: b.Y });
    return { layers: this.layers, rows };
  }
  namedWeights(): Record<string, tf.Variable> {
    return { wte: this.wte, ...prefixed('hidden', this.hidden), ...prefixed('head', this.head) };
  }
}

/** makemore.py's MLP state_dict: `wte.weight` [V + 1, E], `mlp.0` (hidden) and `mlp.2` (head). */
export function mlpStateDict(c: ZooConfig): StateDictLayout {
  const { vocabSize: V, blockSize: T, nEmbd: E, nEmbd2: H } = c;
  return oneToOne([
    { torch: 'wte.weight', ours: 'wte', shape: [V + 1, E] },
    ...linearRows('mlp.0', 'hidden', T * E, H),
    ...linearRows('mlp.2', 'head', H, V),
  ]);
}
