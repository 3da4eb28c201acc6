/**
 * torch.nn.Sequential for the lecture's window models: a stack of torch.nn-style layers (Embedding,
 * FlattenConsecutive, Linear, BatchNorm1d, Tanh) from a window of token ids to next-character logits —
 * each layer's output can be kept to inspect activations and gradients. Two forms:
 *  - the "MLP done right" lecture's (notebook 06): the model owns an embedding table C and flattens the
 *    window to [B, blockSize·nEmbd] before the layers;
 *  - the WaveNet lecture's (notebook 11): the layers begin with their own Embedding (the embedding moved
 *    into the Sequential), and FlattenConsecutive layers merge the window step by step.
 */
import { tf } from '../../runtime/tf';
import { randnVariable } from '../../nn/init';
import { crossEntropy } from '../../nn/losses';
import { Embedding, layerFromSpec, type Layer, type LayerSpec } from '../../nn/layers';
import { LanguageModelBase, type ForwardOptions } from '../language-model';
import type { Rng } from '../../random/rng';

export interface SequentialConfig {
  vocabSize: number;
  blockSize: number;
  /**
   * The model's own embedding table C [vocabSize, nEmbd], flattened to [B, blockSize·nEmbd] before the
   * layers. Absent when the layers begin with an Embedding.
   */
  nEmbd?: number;
  layers: LayerSpec[];
}

export class Sequential extends LanguageModelBase<'sequential'> {
  readonly type = 'sequential';
  readonly reads = 'window';
  /** The model's own embedding table (notebook 06's form); null when the first layer is an Embedding. */
  readonly C: tf.Variable | null;
  readonly config: SequentialConfig;
  /**
   * Notebook 06's form: C ~ randn(vocabSize, nEmbd) from `rng`, drawn after the layers (which the caller
   * built first). The WaveNet form is Sequential.of.
   */
  constructor(rng: Rng, vocabSize: number, blockSize: number, nEmbd: number, layers: Layer[]);
  constructor(rng: null, vocabSize: number, blockSize: number, nEmbd: null, layers: Layer[]);
  constructor(
    rng: Rng | null,
    vocabSize: number,
    blockSize: number,
    nEmbd: number | null,
    readonly layers: Layer[],
  ) {
    super();
    const specs = layers.map((l) => l.spec);
    if (rng && nEmbd !== null) {
      this.config = { vocabSize, blockSize, nEmbd, layers: specs };
      this.C = randnVariable(rng, [vocabSize, nEmbd], 1, 'C');
    } else {
      const first = layers[0];
      if (!(first instanceof Embedding) || first.numEmbeddings !== vocabSize)
        throw new Error(`Sequential without its own embedding: the first layer must be an Embedding(${vocabSize}, …)`);
      this.config = { vocabSize, blockSize, layers: specs };
      this.C = null;
    }
  }

  /** torch.nn.Sequential: `layers` (the first an Embedding) take the ids [B, blockSize] to logits [B, V]. */
  static of(vocabSize: number, blockSize: number, layers: Layer[]): Sequential {
    return new Sequential(null, vocabSize, blockSize, null, layers);
  }

  /** The same model from its config, drawing from `rng` in the same order as the constructor call. */
  static fromConfig(c: SequentialConfig, rng: Rng): Sequential {
    const layers = c.layers.map((s) => layerFromSpec(s, rng));
    return c.nEmbd === undefined
      ? Sequential.of(c.vocabSize, c.blockSize, layers)
      : new Sequential(rng, c.vocabSize, c.blockSize, c.nEmbd, layers);
  }

  /** With `keep`, each layer's output is pushed to it (kept alive: dispose them after use). */
  forward(
    X: tf.Tensor2D,
    Y?: tf.Tensor1D,
    opts: ForwardOptions & { keep?: tf.Tensor[] } = {},
  ): { logits: tf.Tensor2D; loss?: tf.Scalar } {
    const { blockSize, nEmbd } = this.config;
    let x: tf.Tensor = this.C && nEmbd ? tf.gather(this.C, X).reshape([-1, blockSize * nEmbd]) : X;
    for (const layer of this.layers) {
      x = layer.forward(x, opts.training ?? false);
      if (opts.keep) opts.keep.push(tf.keep(x));
    }
    if (x.rank !== 2)
      throw new Error(`Sequential: the layers gave [${x.shape}], not logits [B, V] (flatten the time axis away)`);
    return { logits: x as tf.Tensor2D, loss: Y ? crossEntropy(x, Y) : undefined };
  }

  /** C (if the model owns it), then `${layer index}.${name}` (e.g. 1.runningMean): parameters and buffers. */
  namedWeights(): Record<string, tf.Variable> {
    const out: Record<string, tf.Variable> = this.C ? { C: this.C } : {};
    this.layers.forEach((l, i) => {
      for (const [k, v] of Object.entries(l.namedWeights())) out[`${i}.${k}`] = v;
    });
    return out;
  }
}
