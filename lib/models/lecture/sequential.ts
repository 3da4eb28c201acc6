/**
 * The "MLP done right" lecture's model: an embedding table C, flatten, then a stack of torch.nn-style
 * layers (Linear, BatchNorm1d, Tanh) — each layer's output can be kept to inspect activations and
 * gradients.
 */
import { tf } from '../../runtime/tf';
import { randnVariable } from '../../nn/init';
import { crossEntropy } from '../../nn/losses';
import { layerFromSpec, type Layer, type LayerSpec } from '../../nn/layers';
import { LanguageModelBase, type ForwardOptions } from '../language-model';
import type { Rng } from '../../random/rng';

export interface SequentialConfig {
  vocabSize: number;
  blockSize: number;
  nEmbd: number;
  layers: LayerSpec[];
}

export class Sequential extends LanguageModelBase<'sequential'> {
  readonly type = 'sequential';
  readonly reads = 'window';
  readonly C: tf.Variable;
  readonly config: SequentialConfig;
  /** C ~ randn(vocabSize, nEmbd) from `rng`, drawn after the layers (which the caller built first). */
  constructor(
    rng: Rng,
    vocabSize: number,
    blockSize: number,
    nEmbd: number,
    readonly layers: Layer[],
  ) {
    super();
    this.config = { vocabSize, blockSize, nEmbd, layers: layers.map((l) => l.spec) };
    this.C = randnVariable(rng, [vocabSize, nEmbd], 1, 'C');
  }

  /** The same model from its config, drawing from `rng` in the same order as the constructor call. */
  static fromConfig(c: SequentialConfig, rng: Rng): Sequential {
    const layers = c.layers.map((s) => layerFromSpec(s, rng));
    return new Sequential(rng, c.vocabSize, c.blockSize, c.nEmbd, layers);
  }

  /** With `keep`, each layer's output is pushed to it (kept alive: dispose them after use). */
  forward(
    X: tf.Tensor2D,
    Y?: tf.Tensor1D,
    opts: ForwardOptions & { keep?: tf.Tensor[] } = {},
  ): { logits: tf.Tensor2D; loss?: tf.Scalar } {
    let x: tf.Tensor = tf.gather(this.C, X).reshape([-1, this.config.blockSize * this.config.nEmbd]);
    for (const layer of this.layers) {
      x = layer.forward(x, opts.training ?? false);
      if (opts.keep) opts.keep.push(tf.keep(x));
    }
    return { logits: x as tf.Tensor2D, loss: Y ? crossEntropy(x, Y) : undefined };
  }

  /** C, then `${layer index}.${name}` (e.g. 1.runningMean): parameters and BatchNorm's buffers. */
  namedWeights(): Record<string, tf.Variable> {
    const out: Record<string, tf.Variable> = { C: this.C };
    this.layers.forEach((l, i) => {
      for (const [k, v] of Object.entries(l.namedWeights())) out[`${i}.${k}`] = v;
    });
    return out;
  }
}
