/**
 * makemore's bag of words.
 */
import { tf } from '../../runtime/tf';
import { randnVariable } from '../../nn/init';
import type { Rng } from '../../random/rng';
import { Base } from '../language-model';
import { ModelConfig } from './config';
import { Dense } from '../../nn/dense';

/** A lower-triangular averaging matrix [T, T] (row t averages positions ≤ t). */
function causalAverage(T: number): tf.Tensor2D {
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) m[i * T + j] = 1 / (i + 1);
  return tf.tensor2d(m, [T, T]);
}

/** makemore's bag of words: token + position embeddings, a causal running average, an MLP, a head. */
export class BagOfWords extends Base {
  readonly wte: tf.Variable;
  readonly wpe: tf.Variable;
  readonly fc: Dense;
  readonly proj: Dense;
  readonly head: Dense;
  constructor(
    readonly config: ModelConfig,
    rng: Rng,
  ) {
    super();
    const { vocabSize: V, blockSize: T, nEmbd: E, nEmbd2: H } = config;
    this.wte = randnVariable(rng, [V, E], 1, 'wte');
    this.wpe = randnVariable(rng, [T, E], 1, 'wpe');
    this.fc = new Dense(rng, E, H, 'fc');
    this.proj = new Dense(rng, H, E, 'proj');
    this.head = new Dense(rng, E, V, 'head');
  }
  logits(idx: tf.Tensor2D): tf.Tensor3D {
    const T = idx.shape[1];
    let x = tf.gather(this.wte, idx).add(this.wpe.slice([0, 0], [T, -1]));
    x = x.add(tf.matMul(causalAverage(T), x as tf.Tensor3D)); // broadcast [T,T] @ [B,T,E]
    x = x.add(this.proj.apply(tf.tanh(this.fc.apply(x))));
    return this.head.apply(x) as tf.Tensor3D;
  }
  namedWeights(): Record<string, tf.Variable> {
    return {
      wte: this.wte,
      wpe: this.wpe,
      ...this.fc.named('fc'),
      ...this.proj.named('proj'),
      ...this.head.named('head'),
    };
  }
}
