/**
 * makemore's bigram: a lookup table of next-token logits.
 */
import type { tf } from '../../runtime/tf';
import { constantVariable } from '../../nn/init';
import { Embedding } from '../../nn/embedding';
import type { Chain } from '../../fused/step';
import { asIs, SequenceModel } from './sequence-model';
import type { ZooConfig } from './config';
import { oneToOne, type StateDictLayout } from '../torch-names';

/** A lookup table of next-token logits: 27 × 27 = 729 parameters for names. */
export class Bigram extends SequenceModel<'bigram'> {
  readonly type = 'bigram';
  readonly table: tf.Variable;
  private readonly lookup: Embedding;
  /** The table starts at zero (uniform predictions), as makemore's does; no randomness needed. */
  constructor(readonly config: ZooConfig) {
    super();
    this.table = constantVariable(0, [config.vocabSize, config.vocabSize], 'bigram');
    this.lookup = new Embedding(this.table, { reorderProducts: false });
  }
  logits(idx: tf.Tensor2D): tf.Tensor3D {
    return this.lookup.forward(idx) as tf.Tensor3D;
  }
  chain(): Chain {
    return { layers: [this.lookup], rows: asIs };
  }
  namedWeights(): Record<string, tf.Variable> {
    return { table: this.table };
  }
}

/** makemore.py's Bigram state_dict: `logits` [V, V]. */
export function bigramStateDict(c: ZooConfig): StateDictLayout {
  return oneToOne([{ torch: 'logits', ours: 'table', shape: [c.vocabSize, c.vocabSize] }]);
}
