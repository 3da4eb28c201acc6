/**
 * The bigram model as a neural net: one linear layer of 27 neurons on one-hot inputs, softmax on top.
 * `W` plays the role of the log-counts; exp(W) row-normalised approaches notebook 03's P.
 */
import { tf } from '../../runtime/tf';
import { loadNamedWeights } from '../../nn/weights';
import { randnVariable } from '../../nn/init';
import type { Rng } from '../../random/rng';

export class BigramNet {
  readonly W: tf.Variable;

  /** W ~ randn(V, V) from `rng`: with TorchGenerator(2147483647) the lecture's exact weights. */
  constructor(
    rng: Rng,
    readonly vocabSize = 27,
  ) {
    this.W = randnVariable(rng, [vocabSize, vocabSize], 1, 'W');
  }

  /** Logits for integer inputs x [N]: one-hot(x) @ W, or the same rows picked with a gather. */
  logits(x: tf.Tensor1D, via: 'onehot' | 'gather' = 'gather'): tf.Tensor2D {
    return tf.tidy(
      () =>
        (via === 'onehot'
          ? tf.matMul(tf.oneHot(x, this.vocabSize).toFloat(), this.W)
          : tf.gather(this.W, x)) as tf.Tensor2D,
    );
  }

  /**
   * The lecture's loss: softmax written out (exp, row sums, divide), the mean negative log probability
   * of the targets, plus `reg`·mean(W²) pulling W toward 0 (i.e. toward uniform probabilities).
   */
  loss(x: tf.Tensor1D, y: tf.Tensor1D, opts: { reg?: number; via?: 'onehot' | 'gather' } = {}): tf.Scalar {
    return tf.tidy(() => {
      const counts = this.logits(x, opts.via).exp();
      const probs = counts.div(counts.sum(1, true));
      const n = x.shape[0];
      const picked = tf.gather(
        probs.reshape([-1]),
        tf.range(0, n, 1, 'int32').mul(tf.scalar(this.vocabSize, 'int32')).add(y),
      );
      const nll = picked.log().mean().neg();
      const reg = opts.reg ?? 0;
      return (reg > 0 ? nll.add(this.W.square().mean().mul(reg)) : nll) as tf.Scalar;
    });
  }

  /** exp(W) normalised by rows: the net's bigram probability table. */
  probabilities(): number[][] {
    return tf.tidy(() => {
      const c = this.W.exp();
      return c.div(c.sum(1, true)).arraySync() as number[][];
    });
  }

  params(): tf.Variable[] {
    return [this.W];
  }

  namedWeights(): Record<string, tf.Variable> {
    return { W: this.W };
  }

  /** Copies weights in by name (shapes must match); `w` stays the caller's to dispose. */
  loadWeights(w: Record<string, tf.Tensor>): void {
    loadNamedWeights(this.namedWeights(), w);
  }

  dispose(): void {
    this.W.dispose();
  }
}
