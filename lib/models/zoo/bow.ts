/**
 * makemore's bag of words.
 */
import { tf } from '../../runtime/tf';
import { randnVariable } from '../../nn/init';
import type { Rng } from '../../random/rng';
import { SequenceModel, TORCH_INIT } from './sequence-model';
import type { ZooConfig } from './config';
import { Linear } from '../../nn/layers';
import { prefixed } from '../../nn/module';

/** A lower-triangular averaging matrix [T, T] (row t averages positions ≤ t). */
function causalAverage(T: number): tf.Tensor2D {
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) m[i * T + j] = 1 / (i + 1);
  return tf.tensor2d(m, [T, T]);
}

/** makemore's bag of words: token + position embeddings, a causal running average, an MLP, a head. */
export class BagOfWords extends SequenceModel<'bow'> {
  readonly type = 'bow';
  readonly wte: tf.Variable;
  readonly wpe: tf.Variable;
  readonly fc: Linear;
  readonly proj: Linear;
  readonly head: Linear;
  constructor(
    readonly config: ZooConfig,
    rng: Rng,
  ) {
    super();
    const { vocabSize: V, blockSize: T, nEmbd: E, nEmbd2: H } = config;
    this.wte = randnVariable(rng, [V, E], 1, 'wte');
    this.wpe = randnVariable(rng, [T, E], 1, 'wpe');
    this.fc = new Linear(rng, E, H, TORCH_INIT);
    this.proj = new Linear(rng, H, E, TORCH_INIT);
    this.head = new Linear(rng, E, V, TORCH_INIT);
  }
  logits(idx: tf.Tensor2D): tf.Tensor3D {
    const T = idx.shape[1];
    let x = tf.gather(this.wte, idx).add(this.wpe.slice([0, 0], [T, -1]));
    x = x.add(tf.matMul(causalAverage(T), x as tf.Tensor3D)); // broadcast [T,T] @ [B,T,E]
    x = x.add(this.proj.forward(tf.tanh(this.fc.forward(x))));
    return this.head.forward(x) as tf.Tensor3D;
  }
  namedWeights(): Record<string, tf.Variable> {
    return {
      wte: this.wte,
      wpe: this.wpe,
      ...prefixed('fc', this.fc),
      ...prefixed('proj', this.proj),
      ...prefixed('head', this.head),
    };
  }
}
