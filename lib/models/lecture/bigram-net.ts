/**
 * The bigram model as a neural net: one linear layer of 27 neurons on one-hot inputs, softmax on top.
 * `W` plays the role of the log-counts; exp(W) row-normalised approaches notebook 03's P.
 */
import { tf } from '../../runtime/tf';
import { randnVariable } from '../../nn/init';
import type { Rng } from '../../random/rng';
import { Embedding } from '../../nn/embedding';
import type { Chain } from '../../fused/step';
import type { BigramNetConfig } from '../configs';
import { LanguageModelBase, type ForwardOptions } from '../language-model';
import { oneToOne, type StateDictLayout } from '../torch-names';

export type { BigramNetConfig };

export interface BigramNetOptions extends ForwardOptions {
  /** `reg`·mean(W²) added to the loss, pulling W toward 0 (i.e. toward uniform probabilities). */
  reg?: number;
  /** The lecture's one-hot(x) @ W, or the same rows picked with a gather. */
  via?: 'onehot' | 'gather';
}

export class BigramNet extends LanguageModelBase<'bigram-net'> {
  readonly type = 'bigram-net';
  readonly reads = 'window';
  readonly config: BigramNetConfig;
  readonly W: tf.Variable;
  /** W's rows looked up by character: the gather form of one-hot(x) @ W. */
  readonly table: Embedding;

  /** W ~ randn(V, V) from `rng`: with TorchGenerator(2147483647) the lecture's exact weights. */
  constructor(rng: Rng, vocabSize = 27) {
    super();
    this.config = { vocabSize, blockSize: 1 };
    this.W = randnVariable(rng, [vocabSize, vocabSize], 1, 'W');
    this.table = new Embedding(this.W, { reorderProducts: false });
  }

  /**
   * Logits for inputs x ([N] or [N, 1] character indices) and, given targets y [N], the lecture's loss:
   * softmax written out (exp, row sums, divide), the mean negative log probability of the targets,
   * plus `reg`·mean(W²).
   */
  forward(x: tf.Tensor, y?: tf.Tensor1D, opts: BigramNetOptions = {}): { logits: tf.Tensor2D; loss?: tf.Scalar } {
    const V = this.vocabSize;
    const ids = x.reshape([-1]) as tf.Tensor1D;
    const logits = (
      opts.via === 'onehot' ? tf.matMul(tf.oneHot(ids, V).toFloat(), this.W) : this.table.forward(ids)
    ) as tf.Tensor2D;
    if (!y) return { logits };
    const counts = logits.exp();
    const probs = counts.div(counts.sum(1, true));
    const n = ids.shape[0];
    const picked = tf.gather(probs.reshape([-1]), tf.range(0, n, 1, 'int32').mul(tf.scalar(V, 'int32')).add(y));
    const nll = picked.log().mean().neg() as tf.Scalar;
    const reg = opts.reg ?? 0;
    return { logits, loss: reg > 0 ? (nll.add(this.W.square().mean().mul(reg)) as tf.Scalar) : nll };
  }

  /** The fused step: W's rows as logits (its cross-entropy is the loss written out above), plus reg·mean(W²). */
  chain(opts: BigramNetOptions = {}): Chain {
    const reg = opts.reg ?? 0;
    return { layers: [this.table], rows: (b) => ({ ids: b.X, targets: b.Y }), reg: { table: this.W, weight: reg } };
  }

  override loss(x: tf.Tensor, y: tf.Tensor1D, opts: BigramNetOptions = {}): tf.Scalar {
    return super.loss(x, y, opts);
  }

  /** exp(W) normalised by rows: the net's bigram probability table. */
  probabilities(): number[][] {
    return tf.tidy(() => {
      const c = this.W.exp();
      return c.div(c.sum(1, true)).arraySync() as number[][];
    });
  }

  namedWeights(): Record<string, tf.Variable> {
    return { W: this.W };
  }
}

/** The lecture's tensor: `W` [V, V] (x_onehot @ W). */
export function bigramNetStateDict(c: { vocabSize: number }): StateDictLayout {
  return oneToOne([{ torch: 'W', ours: 'W', shape: [c.vocabSize, c.vocabSize] }]);
}
