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
import { Embedding } from '../../nn/embedding';
import { FlattenConsecutive } from '../../nn/flatten';
import { layerFromSpec } from '../../nn/layers';
import type { Layer, LayerSpec } from '../../nn/layer';
import type { Chain } from '../../fused/step';
import type { SequentialConfig } from '../configs';
import { LanguageModelBase, type ForwardOptions } from '../language-model';
import type { Rng } from '../../random/rng';
import { oneToOne, type Row, type StateDictLayout } from '../torch-names';

export type { SequentialConfig };

function specOf(l: Layer, i: number): LayerSpec {
  if (!l.spec) throw new Error(`Sequential: layer ${i} (${l.constructor.name}) has no spec to save it by`);
  return l.spec;
}

export class Sequential extends LanguageModelBase<'sequential'> {
  readonly type = 'sequential';
  readonly reads = 'window';
  /** The model's own embedding table (notebook 06's form); null when the first layer is an Embedding. */
  readonly C: tf.Variable | null;
  readonly config: SequentialConfig;
  /** C's rows for the window, flattened (notebook 06's form), before `layers`; none in the WaveNet form. */
  private readonly embed: Layer[];
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
    const specs = layers.map(specOf);
    if (rng && nEmbd !== null) {
      this.config = { vocabSize, blockSize, nEmbd, layers: specs };
      this.C = randnVariable(rng, [vocabSize, nEmbd], 1, 'C');
      this.embed = [new Embedding(this.C, { reorderProducts: false }), new FlattenConsecutive(blockSize)];
    } else {
      const first = layers[0];
      if (!(first instanceof Embedding) || first.numEmbeddings !== vocabSize)
        throw new Error(`Sequential without its own embedding: the first layer must be an Embedding(${vocabSize}, …)`);
      this.config = { vocabSize, blockSize, layers: specs };
      this.C = null;
      this.embed = [];
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
    let x: tf.Tensor = X;
    for (const layer of this.embed) x = layer.forward(x);
    for (const layer of this.layers) {
      x = layer.forward(x, opts.training ?? false, opts.rng);
      if (opts.keep) opts.keep.push(tf.keep(x));
    }
    if (x.rank !== 2)
      throw new Error(`Sequential: the layers gave [${x.shape}], not logits [B, V] (flatten the time axis away)`);
    return { logits: x as tf.Tensor2D, loss: Y ? crossEntropy(x, Y) : undefined };
  }

  chain(): Chain {
    return { layers: [...this.embed, ...this.layers], rows: (b) => ({ ids: b.X, targets: b.Y }) };
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

/** The lecture's layer classes' tensors, in its layout (x @ weight): C, then `layers.i.weight`, `.bias`, `.gamma`, `.beta`, `.running_mean`, `.running_var`. */
const LECTURE_NAMES: Record<string, string> = {
  W: 'weight',
  b: 'bias',
  weight: 'weight',
  gamma: 'gamma',
  beta: 'beta',
  runningMean: 'running_mean',
  runningVar: 'running_var',
};

export function sequentialStateDict(c: SequentialConfig): StateDictLayout {
  const rows: Row[] = c.nEmbd === undefined ? [] : [{ torch: 'C', ours: 'C', shape: [c.vocabSize, c.nEmbd] }];
  c.layers.forEach((l, i) => {
    const shapes: Record<string, number[]> =
      l.kind === 'Linear'
        ? { W: [l.fanIn, l.fanOut], ...(l.bias ? { b: [l.fanOut] } : {}) }
        : l.kind === 'BatchNorm1d'
          ? { gamma: [l.dim], beta: [l.dim], runningMean: [l.dim], runningVar: [l.dim] }
          : l.kind === 'Embedding'
            ? { weight: [l.numEmbeddings, l.dim] }
            : {};
    for (const [k, shape] of Object.entries(shapes))
      rows.push({ torch: `layers.${i}.${LECTURE_NAMES[k]}`, ours: `${i}.${k}`, shape });
  });
  return oneToOne(rows);
}
