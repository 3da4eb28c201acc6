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
}

export const DEFAULT_CONFIG: Omit<ZooConfig, 'vocabSize' | 'blockSize'> = {
  nLayer: 4,
  nHead: 4,
  nEmbd: 64,
  nEmbd2: 64,
};
