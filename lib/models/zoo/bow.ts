/**
 * makemore's bag of words.
 */
import type { tf } from '../../runtime/tf';
import { randnVariable } from '../../nn/init';
import { Embedding } from '../../nn/embedding';
import { Linear } from '../../nn/linear';
import { Tanh } from '../../nn/activations';
import { AddPositions, CausalMean } from '../../nn/positions';
import { Residual } from '../../nn/residual';
import { runLayers, type Layer } from '../../nn/layer';
import { prefixed } from '../../nn/module';
import type { Rng } from '../../random/rng';
import type { Chain } from '../../fused/step';
import { asIs, SequenceModel, TORCH_INIT } from './sequence-model';
import type { ZooConfig } from './config';
import { causalMask, linearRows, oneToOne, type StateDictLayout } from '../torch-names';

/** makemore's bag of words: token + position embeddings, a causal running average, an MLP, a head. */
export class BagOfWords extends SequenceModel<'bow'> {
  readonly type = 'bow';
  readonly wte: tf.Variable;
  readonly wpe: tf.Variable;
  readonly fc: Linear;
  readonly proj: Linear;
  readonly head: Linear;
  readonly layers: Layer[];
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
    this.layers = [
      new Embedding(this.wte, { reorderProducts: false }),
      new AddPositions(this.wpe),
      new CausalMean(), // x + the mean of x over positions ≤ t
      new Residual([this.fc, new Tanh(), this.proj]),
      this.head,
    ];
  }
  logits(idx: tf.Tensor2D): tf.Tensor3D {
    return runLayers(this.layers, idx) as tf.Tensor3D;
  }
  chain(): Chain {
    return { layers: this.layers, rows: asIs };
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

/** makemore.py's BoW state_dict: `wte`, `wpe`, `context_block.cbow.bias` (mask), `context_block.mlp.c_fc`/`c_proj`, `lm_head`. */
export function bowStateDict(c: ZooConfig): StateDictLayout {
  const { vocabSize: V, blockSize: T, nEmbd: E, nEmbd2: H } = c;
  return oneToOne([
    { torch: 'wte.weight', ours: 'wte', shape: [V, E] },
    { torch: 'wpe.weight', ours: 'wpe', shape: [T, E] },
    { torch: 'context_block.cbow.bias', shape: [1, T, T], buffer: causalMask(T) },
    ...linearRows('context_block.mlp.c_fc', 'fc', E, H),
    ...linearRows('context_block.mlp.c_proj', 'proj', H, E),
    ...linearRows('lm_head', 'head', E, V),
  ]);
}
