/**
 * The named model and training settings that notebooks, CLIs and the benchmark share, each defined once.
 */
import type { Rng } from '../random/rng';
import { BatchNorm1d, Embedding, FlattenConsecutive, Linear, Tanh, type Layer } from '../nn/layers';
import type { MLPConfig } from './lecture/mlp';
import { Sequential } from './lecture/sequential';

/** The lecture's MLP (notebooks 05-06): 3 characters of context, 10-d embeddings, 200 tanh units. */
export const LECTURE_MLP: MLPConfig = { vocabSize: 27, blockSize: 3, nEmbd: 10, nHidden: 200 };

/**
 * Notebook 06's MLP done right: Kaiming-initialised Linear without bias (BatchNorm's β replaces it),
 * BatchNorm1d, tanh, and an output layer scaled by 0.01 so the first loss is near −ln(1/27).
 */
export function batchNormMLP(rng: Rng, c: MLPConfig = LECTURE_MLP): Sequential {
  const fanIn = c.blockSize * c.nEmbd;
  return new Sequential(rng, c.vocabSize, c.blockSize, c.nEmbd, [
    new Linear(rng, fanIn, c.nHidden, { bias: false, init: { kind: 'kaiming', gain: 5 / 3 } }),
    new BatchNorm1d(c.nHidden),
    new Tanh(),
    new Linear(rng, c.nHidden, c.vocabSize, { init: { kind: 'randn', scale: 0.01 } }),
  ]);
}

/** The WaveNet lecture's model (notebook 11): a window of characters merged `merge[k]` at a time per level. */
export interface WaveNetConfig {
  vocabSize: number;
  blockSize: number;
  nEmbd: number;
  nHidden: number;
  /** Consecutive vectors merged at each level (their product is blockSize): [2, 2, 2] the tree, [8] flat. */
  merge: number[];
}

/** The lecture's final WaveNet: 8 characters of context, 24-d embeddings, 128 units a level (76,579 parameters). */
export const WAVENET: WaveNetConfig = { vocabSize: 27, blockSize: 8, nEmbd: 24, nHidden: 128, merge: [2, 2, 2] };

/**
 * The WaveNet lecture's Sequential: Embedding, then per level FlattenConsecutive → Linear (Kaiming gain 1,
 * no bias) → BatchNorm1d → tanh, and a last Linear scaled by 0.1 so the first loss is near −ln(1/27).
 * Weights are drawn in layer order, as the lecture's torch code draws them.
 */
export function wavenet(rng: Rng, c: WaveNetConfig = WAVENET): Sequential {
  if (c.merge.reduce((a, b) => a * b, 1) !== c.blockSize)
    throw new Error(`wavenet: merging [${c.merge}] does not take ${c.blockSize} characters down to one vector`);
  const layers: Layer[] = [new Embedding(rng, c.vocabSize, c.nEmbd)];
  let width = c.nEmbd;
  for (const n of c.merge) {
    layers.push(
      new FlattenConsecutive(n),
      new Linear(rng, width * n, c.nHidden, { bias: false, init: { kind: 'kaiming', gain: 1 } }),
      new BatchNorm1d(c.nHidden),
      new Tanh(),
    );
    width = c.nHidden;
  }
  layers.push(new Linear(rng, c.nHidden, c.vocabSize, { init: { kind: 'kaiming', gain: 0.1 } }));
  return Sequential.of(c.vocabSize, c.blockSize, layers);
}

/** makemore's optimiser settings (AdamW, betas 0.9 / 0.99, as makemore.py sets them): train() options. */
export const MAKEMORE_TRAINING = {
  optimizer: 'adamw',
  learningRate: 5e-4,
  weightDecay: 0.01,
  beta1: 0.9,
  beta2: 0.99,
} as const;

/** makemore's batch size. */
export const MAKEMORE_BATCH_SIZE = 32;

/** The novel's LSTM (notebook 08, `npm run novel`): the default fits a short run, `book` is the book's. */
export const NOVEL_SETTINGS = {
  default: { nEmbd: 64, nHidden: 256, batch: 32, steps: 1_500 },
  book: { nEmbd: 256, nHidden: 512, batch: 64, steps: 10_000 },
  /** Characters per training window. */
  seqLen: 40,
  /** Adam's learning rate. */
  learningRate: 0.005,
} as const;
