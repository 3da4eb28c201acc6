/**
 * The one interface every language model implements, lecture and zoo alike (makemore's):
 * `forward(idx, targets) → { logits, loss }`. Two ways of reading context:
 *  - 'window': idx [B, blockSize] (the last characters, boundary-padded) → logits [B, V] for the next one,
 *    targets [B] (the lecture's bigram net, MLP and BatchNorm MLP);
 *  - 'sequence': idx [B, T ≤ blockSize] → logits [B, T, V] at every position, targets [B, T] with −1
 *    ignored (the makemore zoo and the recurrent models).
 * Recurrent models can also step one token at a time with a carried state (`Stateful`), which is how the
 * sampler runs them.
 */
import { tf } from '../runtime/tf';
import { Module } from '../nn/module';
import type { ModelConfigs, ModelType } from './configs';
import type { Rng } from '../random/rng';
import type { Chain } from '../fused/step';
import type { RecurrentState } from '../nn/recurrent';

export type { RecurrentState };

export interface ForwardOptions {
  /** Training mode: BatchNorm normalises with the batch's statistics (and updates its running ones). */
  training?: boolean;
  /** Training mode: where dropout's masks come from (required by a model with dropout > 0). */
  rng?: Rng;
}

export interface LanguageModel {
  /** The registry name: `createModel(model.type, model.config, rng)` builds another like it. */
  readonly type: ModelType;
  readonly config: ModelConfigs[ModelType];
  readonly vocabSize: number;
  /** The longest context the model reads. */
  readonly blockSize: number;
  readonly reads: 'window' | 'sequence';
  forward(idx: tf.Tensor, targets?: tf.Tensor, opts?: ForwardOptions): { logits: tf.Tensor; loss?: tf.Scalar };
  /**
   * The model's definition: the chain of lib/nn layers its forward walks, and how a batch becomes the
   * ids they read. lib/fused/step.ts trains the same layers through their fused halves.
   */
  chain(lossOptions?: object): Chain;
  /** forward(…).loss, which needs targets. */
  loss(idx: tf.Tensor, targets: tf.Tensor, opts?: ForwardOptions): tf.Scalar;
  params(): tf.Variable[];
  namedWeights(): Record<string, tf.Variable>;
  loadWeights(w: Record<string, tf.Tensor>): void;
  numParams(): number;
  dispose(): void;
}

/** A model that can also run one token at a time, carrying its state. */
export interface Stateful extends LanguageModel {
  initialState(batch: number): RecurrentState;
  /** tokens [B] → next-token logits [B, V] and the new state. */
  step(tokens: tf.Tensor1D, state: RecurrentState): { logits: tf.Tensor2D; state: RecurrentState };
}

export function isStateful(m: LanguageModel): m is Stateful {
  return typeof (m as Partial<Stateful>).step === 'function';
}

/** What every model shares (Module: weights by name, loading, counting, disposal), plus `loss`. */
export abstract class LanguageModelBase<T extends ModelType> extends Module implements LanguageModel {
  abstract readonly type: T;
  abstract readonly config: ModelConfigs[T];
  abstract readonly reads: 'window' | 'sequence';
  abstract forward(idx: tf.Tensor, targets?: tf.Tensor, opts?: ForwardOptions): { logits: tf.Tensor; loss?: tf.Scalar };
  abstract chain(lossOptions?: object): Chain;
  get vocabSize(): number {
    return this.config.vocabSize;
  }
  get blockSize(): number {
    return this.config.blockSize;
  }
  loss(idx: tf.Tensor, targets: tf.Tensor, opts?: ForwardOptions): tf.Scalar {
    return tf.tidy(() => {
      const { loss } = this.forward(idx, targets, opts);
      if (!loss) throw new Error(`${this.type}: forward gave no loss for the targets`);
      return loss;
    });
  }
}
