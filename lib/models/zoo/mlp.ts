/**
 * makemore's MLP.
 */
import { tf } from '../../runtime/tf';
import { randnVariable } from '../../nn/init';
import type { Rng } from '../../random/rng';
import { SequenceModel, TORCH_INIT } from './sequence-model';
import type { ZooConfig } from './config';
import { Linear } from '../../nn/layers';
import { prefixed } from '../../nn/module';

/**
 * makemore's MLP: at every position, the embeddings of the previous `blockSize` tokens (a blank token,
 * index V, before the start) concatenated → tanh hidden layer → logits.
 */
export class MakemoreMLP extends SequenceModel<'mlp'> {
  readonly type = 'mlp';
  readonly wte: tf.Variable;
  readonly hidden: Linear;
  readonly head: Linear;
  constructor(
    readonly config: ZooConfig,
    rng: Rng,
  ) {
    super();
    const { vocabSize: V, blockSize: T, nEmbd: E, nEmbd2: H } = config;
    this.wte = randnVariable(rng, [V + 1, E], 1, 'wte');
    this.hidden = new Linear(rng, T * E, H, TORCH_INIT);
    this.head = new Linear(rng, H, V, TORCH_INIT);
  }
  logits(idx: tf.Tensor2D): tf.Tensor3D {
    const [B, T] = idx.shape;
    const V = this.config.vocabSize;
    // position t sees tokens t, t−1, …, t−blockSize+1 (blank V before the start): one index tensor
    // [B, T, blockSize] and a single lookup, instead of blockSize shifted copies and a concat
    const bs = this.config.blockSize;
    const ids = idx.dataSync();
    const ctx = new Int32Array(B * T * bs);
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++)
        for (let k = 0; k < bs; k++) ctx[(b * T + t) * bs + k] = t - k >= 0 ? (ids[b * T + t - k] as number) : V;
    const x = tf.gather(this.wte, tf.tensor3d(ctx, [B, T, bs], 'int32')).reshape([B, T, bs * this.config.nEmbd]);
    return this.head.forward(tf.tanh(this.hidden.forward(x))) as tf.Tensor3D;
  }
  namedWeights(): Record<string, tf.Variable> {
    return { wte: this.wte, ...prefixed('hidden', this.hidden), ...prefixed('head', this.head) };
  }
}
