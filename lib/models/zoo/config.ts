/**
 * makemore's model settings and defaults.
 */

export interface ZooConfig {
  vocabSize: number;
  blockSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  nEmbd2: number;
  /**
   * The transformer only, makemore's June 2022 settings (absent: today's makemore):
   * dropout on the embeddings, the attention weights and both residual branches while training;
   */
  dropout?: number;
  /** and 'gpt' initialisation (minGPT's: Linear and embedding weights ~ N(0, 0.02), biases 0). */
  init?: 'torch' | 'gpt';
}

export const DEFAULT_CONFIG: Omit<ZooConfig, 'vocabSize' | 'blockSize'> = {
  nLayer: 4,
  nHead: 4,
  nEmbd: 64,
  nEmbd2: 64,
};

/** WaveNet's sizes in the zoo: the lecture's last model (3 levels of pairs: context 8; n_embd 24, n_hidden 128). */
const WAVENET_DEFAULTS: Omit<ZooConfig, 'vocabSize' | 'blockSize'> = {
  nLayer: 3,
  nHead: 4,
  nEmbd: 24,
  nEmbd2: 128,
};

/** A type's default sizes: WaveNet's own, makemore's for the rest. */
export function defaultConfig(type: string): Omit<ZooConfig, 'vocabSize' | 'blockSize'> {
  return type === 'wavenet' ? WAVENET_DEFAULTS : DEFAULT_CONFIG;
}
