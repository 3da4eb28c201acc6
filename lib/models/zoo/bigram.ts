/**
 * makemore's bigram: a lookup table of next-token logits.
 */
import { tf } from '../../runtime/tf';
import { constantVariable } from '../../nn/init';
import { SequenceModel } from './sequence-model';
import type { ZooConfig } from './config';

/** A lookup table of next-token logits: 27 × 27 = 729 parameters for names. */
export class Bigram extends SequenceModel<'bigram'> {
  readonly type = 'bigram';
  readonly table: tf.Variable;
  /** The table starts at zero (uniform predictions), as makemore's does; no randomness needed. */
  constructor(readonly config: ZooConfig) {
    super();
    this.table = constantVariable(0, [config.vocabSize, config.vocabSize], 'bigram');
  }
  logits(idx: tf.Tensor2D): tf.Tensor3D {
    return tf.gather(this.table, idx) as tf.Tensor3D;
  }
  namedWeights(): Record<string, tf.Variable> {
    return { table: this.table };
  }
}
