/**
 * The MLP of Bengio et al. (2003) as built in the lecture: embed each of the `blockSize` previous
 * characters in `nEmbd` dimensions (table C), concatenate, one tanh hidden layer, softmax output.
 */
import { tf } from '../../runtime/tf';
import { crossEntropy } from '../../nn/losses';
import { randnVariable } from '../../nn/init';
import type { Rng } from '../../random/rng';
import { LanguageModelBase } from '../language-model';

export interface MLPConfig {
  vocabSize: number;
  blockSize: number;
  nEmbd: number;
  nHidden: number;
  /** Multipliers of randn for W1, b1, W2, b2 (the lecture's fixes of the initialisation). */
  init?: MLPInit;
}

export interface MLPInit {
  /** Multipliers of randn for each parameter; the lecture's first version uses 1 everywhere. */
  W1?: number;
  b1?: number;
  W2?: number;
  b2?: number;
}

export class MLP extends LanguageModelBase<'lecture-mlp'> {
  readonly type = 'lecture-mlp';
  readonly reads = 'window';
  readonly config: MLPConfig;
  readonly C: tf.Variable;
  readonly W1: tf.Variable;
  readonly b1: tf.Variable;
  readonly W2: tf.Variable;
  readonly b2: tf.Variable;

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
  }

  /** Hidden pre-activations [B, H] for contexts X [B, blockSize]. */
  preactivations(X: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const { blockSize: T, nEmbd: E } = this.config;
      const emb = tf.gather(this.C, X).reshape([-1, T * E]) as tf.Tensor2D;
      return tf.fused.matMul({ a: emb, b: this.W1 as tf.Tensor2D, bias: this.b1 }) as tf.Tensor2D;
    });
  }

  forward(X: tf.Tensor2D, Y?: tf.Tensor1D): { logits: tf.Tensor2D; loss?: tf.Scalar } {
    const h = this.preactivations(X).tanh();
    const logits = tf.fused.matMul({ a: h, b: this.W2 as tf.Tensor2D, bias: this.b2 }) as tf.Tensor2D;
    return { logits, loss: Y ? crossEntropy(logits, Y) : undefined };
  }

  namedWeights(): Record<string, tf.Variable> {
    return { C: this.C, W1: this.W1, b1: this.b1, W2: this.W2, b2: this.b2 };
  }
}
