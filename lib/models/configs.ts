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

/** nanoGPT's GPTConfig (and the lecture's gpt.py as a variant of it): lib/models/gpt.ts. */
export interface GPTConfig {
  vocabSize: number;
  blockSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  /** On the embeddings, the attention weights and both residual branches while training (0: the fused step). */
  dropout: number;
  /** Biases in the Linear layers and LayerNorms (nanoGPT's `bias`; its CPU recipe: false). */
  bias: boolean;
  /** Whether c_attn has a bias (default: `bias`; the lecture's key, query and value layers have none). */
  qkvBias?: boolean;
  /** Whether the head has a bias (default false as nanoGPT; the lecture's lm_head has one; not with tied weights). */
  headBias?: boolean;
  /** The feed-forward's nonlinearity: nanoGPT's exact GELU, GPT-2's tanh form, or the lecture's ReLU. */
  activation: 'gelu' | 'gelu-tanh' | 'relu';
  /** The head reads the token table backwards (nanoGPT: lm_head.weight is transformer.wte.weight). */
  tieWeights: boolean;
  /** nanoGPT's (N(0, 0.02), c_proj weights N(0, 0.02/√(2·nLayer)), biases 0) or PyTorch's defaults. */
  init: 'nanogpt' | 'torch';
}

/**
 * "Let's build GPT"'s stages (notebook 12, lecture/gpt-stages.ts): token and position embeddings, nLayer
 * blocks of causal self-attention (nHead heads of nEmbd / nHead) and a feed-forward layer, the head.
 */
export interface GptStageConfig {
  vocabSize: number;
  blockSize: number;
  /** Embedding width; 0: the bigram, a [vocabSize, vocabSize] table of next-character logits and nothing else. */
  nEmbd: number;
  nHead: number;
  nLayer: number;
  /** After attention: nothing, Linear(nEmbd, nEmbd) + ReLU, or the block's Linear(nEmbd, 4·nEmbd), ReLU, Linear back. */
  ffwd: 'none' | 'linear' | 'mlp';
  /** x + branch(x) around attention (ending in a projection) and around the feed-forward. */
  residual: boolean;
  /** Pre-norm: a LayerNorm at the start of each residual branch, and one before the head. */
  layerNorm: boolean;
}

export interface ModelConfigs {
  // the lecture's models (notebooks 04-06, 11): a window of context → the next character
  'bigram-net': BigramNetConfig;
  'lecture-mlp': MLPConfig;
  sequential: SequentialConfig;
  // "Let's build GPT"'s stages (notebook 12): sequences, logits at every position
  'gpt-stage': GptStageConfig;
  // makemore's zoo: sequences, logits at every position
  bigram: ZooConfig;
  mlp: ZooConfig;
  bow: ZooConfig;
  transformer: ZooConfig;
  wavenet: ZooConfig;
  rnn: RecurrentConfig;
  gru: RecurrentConfig;
  lstm: RecurrentConfig;
  // nanoGPT's GPT (the "Let's build GPT" lecture's model as a variant)
  gpt: GPTConfig;
}
export type ModelType = keyof ModelConfigs;
