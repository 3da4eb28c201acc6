/**
 * The named model and training settings that notebooks, CLIs and the benchmark share, each defined once.
 */
import type { Rng } from '../random/rng';
import { BatchNorm1d, Linear, Tanh } from '../nn/layers';
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
