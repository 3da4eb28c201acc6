/**
 * The config of every model type, by the name a saved model records: `createModel(type, config, rng)`
 * (registry.ts) builds the model from exactly this. Here, apart from the models, so that a model's
 * file and the interface every model implements can name them without importing each other.
 */
import type { LayerSpec } from '../nn/layer';
import type { CellType } from '../nn/recurrent';
import type { ZooConfig } from './zoo/config';

export interface BigramNetConfig {
  vocabSize: number;
  /** One character of context. */
  blockSize: 1;
}

export interface MLPConfig {
  vocabSize: number;
  blockSize: number;
  nEmbd: number;
  nHidden: number;
  /** Multipliers of randn for W1, b1, W2, b2 (the lecture's fixes of the initialisation). */
  init?: MLPInit;
}

export interface MLPInit {
  /** Multipliers of randn for each parameter; the lecture's first version uses 1 everywhere. */
  W1?: number;
  b1?: number;
  W2?: number;
  b2?: number;
}

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

export interface RecurrentConfig {
  cell: CellType;
  vocabSize: number;
  /** Longest sequence the model is trained on (makemore: longest name + 1). */
  blockSize: number;
  nEmbd: number;
  /** Hidden state size (makemore's n_embd2). */
  nHidden: number;
}

export interface ModelConfigs {
  // the lecture's models (notebooks 04-06, 11): a window of context → the next character
  'bigram-net': BigramNetConfig;
  'lecture-mlp': MLPConfig;
  sequential: SequentialConfig;
  // makemore's zoo: sequences, logits at every position
  bigram: ZooConfig;
  mlp: ZooConfig;
  bow: ZooConfig;
  transformer: ZooConfig;
  wavenet: ZooConfig;
  rnn: RecurrentConfig;
  gru: RecurrentConfig;
  lstm: RecurrentConfig;
}
export type ModelType = keyof ModelConfigs;
