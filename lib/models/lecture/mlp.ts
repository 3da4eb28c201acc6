/**
 * The MLP of Bengio et al. (2003) as built in the lecture: embed each of the `blockSize` previous
 * characters in `nEmbd` dimensions (table C), concatenate, one tanh hidden layer, softmax output.
 */
import { tf } from '../../runtime/tf';
import { crossEntropy } from '../../nn/losses';
import { randnVariable } from '../../nn/init';
import { Embedding } from '../../nn/embedding';
import { FlattenConsecutive } from '../../nn/flatten';
import { Linear } from '../../nn/linear';
import { Tanh } from '../../nn/activations';
import { runLayers, type Layer } from '../../nn/layer';
import type { Rng } from '../../random/rng';
import type { Chain } from '../../fused/step';
import type { MLPConfig, MLPInit } from '../configs';
import { LanguageModelBase } from '../language-model';
import { oneToOne, type StateDictLayout } from '../torch-names';

export type { MLPConfig, MLPInit };

export class MLP extends LanguageModelBase<'lecture-mlp'> {
  readonly type = 'lecture-mlp';
  readonly reads = 'window';
  readonly config: MLPConfig;
  readonly C: tf.Variable;
  readonly W1: tf.Variable;
  readonly b1: tf.Variable;
  readonly W2: tf.Variable;
  readonly b2: tf.Variable;
  /** The net, in order: C's rows for the window, flattened, W1 and b1, tanh, W2 and b2. */
  readonly layers: Layer[];

  /** Parameters drawn in the lecture's order (C, W1, b1, W2, b2) from `rng`. */
  constructor(config: MLPConfig, rng: Rng, init: MLPInit = config.init ?? {}) {
    super();
    this.config = Object.keys(init).length > 0 ? { ...config, init } : config;
    const { vocabSize: V, blockSize: T, nEmbd: E, nHidden: H } = config;
    this.C = randnVariable(rng, [V, E], 1, 'C');
    this.W1 = randnVariable(rng, [T * E, H], init.W1 ?? 1, 'W1');
    this.b1 = randnVariable(rng, [H], init.b1 ?? 1, 'b1');
    this.W2 = randnVariable(rng, [H, V], init.W2 ?? 1, 'W2');
    this.b2 = randnVariable(rng, [V], init.b2 ?? 1, 'b2');
    this.layers = [
      new Embedding(this.C, { reorderProducts: false }), // emb = C[X]: [B, T, E]
      new FlattenConsecutive(T), // [B, T·E]
      Linear.of(this.W1, this.b1), // hpreact = emb W1 + b1
      new Tanh(), // h
      Linear.of(this.W2, this.b2), // logits = h W2 + b2
    ];
  }

  /** Hidden pre-activations [B, H] for contexts X [B, blockSize]: the first three layers. */
  preactivations(X: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => runLayers(this.layers.slice(0, 3), X) as tf.Tensor2D);
  }

  forward(X: tf.Tensor2D, Y?: tf.Tensor1D): { logits: tf.Tensor2D; loss?: tf.Scalar } {
    const logits = runLayers(this.layers, X) as tf.Tensor2D;
    return { logits, loss: Y ? crossEntropy(logits, Y) : undefined };
  }

  chain(): Chain {
    return { layers: this.layers, rows: (b) => ({ ids: b.X, targets: b.Y }) };
  }

  namedWeights(): Record<string, tf.Variable> {
    return { C: this.C, W1: this.W1, b1: this.b1, W2: this.W2, b2: this.b2 };
  }
}

/** The lecture's tensors, in its layout (h = tanh(emb @ W1 + b1)): C, W1 [T·E, H], b1, W2 [H, V], b2. */
export function lectureMlpStateDict(c: MLPConfig): StateDictLayout {
  const { vocabSize: V, blockSize: T, nEmbd: E, nHidden: H } = c;
  return oneToOne([
    { torch: 'C', ours: 'C', shape: [V, E] },
    { torch: 'W1', ours: 'W1', shape: [T * E, H] },
    { torch: 'b1', ours: 'b1', shape: [H] },
    { torch: 'W2', ours: 'W2', shape: [H, V] },
    { torch: 'b2', ours: 'b2', shape: [V] },
  ]);
}
