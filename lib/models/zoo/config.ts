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

/**
 * Upper bounds for a config read from a file. A crafted config.json (or older model.json) with `n_layer: 1000000` must be an
 * error naming the field, not a model that allocates gigabytes before its weights are looked at. They
 * are far above anything this project trains (names: vocabSize 27, blockSize 16, nEmbd 64).
 */
export const ZOO_LIMITS = {
  vocabSize: 65_536,
  blockSize: 65_536,
  nLayer: 256,
  nHead: 1024,
  nEmbd: 65_536,
  nEmbd2: 65_536,
} as const;
/** WaveNet's context is 2^nLayer characters. */
const WAVENET_MAX_LAYERS = 16;

function wholeIn(where: string, c: Record<string, unknown>, key: string, max: number): number {
  const v = c[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max)
    throw new Error(`${where}: config.${key} is ${JSON.stringify(v)}, expected a whole number from 1 to ${max}`);
  return v;
}

/**
 * A zoo config from a file, checked field by field (whole numbers within ZOO_LIMITS, nEmbd divisible by
 * nHead for the transformer, dropout in [0, 1), init 'torch' or 'gpt'). `where` names the file.
 */
export function checkZooConfig(where: string, type: string, x: unknown): ZooConfig {
  if (!x || typeof x !== 'object' || Array.isArray(x)) throw new Error(`${where}: config is not an object`);
  const c = x as Record<string, unknown>;
  const out: ZooConfig = {
    vocabSize: wholeIn(where, c, 'vocabSize', ZOO_LIMITS.vocabSize),
    blockSize: wholeIn(where, c, 'blockSize', ZOO_LIMITS.blockSize),
    nLayer: wholeIn(where, c, 'nLayer', type === 'wavenet' ? WAVENET_MAX_LAYERS : ZOO_LIMITS.nLayer),
    nHead: wholeIn(where, c, 'nHead', ZOO_LIMITS.nHead),
    nEmbd: wholeIn(where, c, 'nEmbd', ZOO_LIMITS.nEmbd),
    nEmbd2: wholeIn(where, c, 'nEmbd2', ZOO_LIMITS.nEmbd2),
  };
  if (type === 'transformer' && out.nEmbd % out.nHead !== 0)
    throw new Error(`${where}: config.nEmbd ${out.nEmbd} is not divisible by config.nHead ${out.nHead}`);
  if (c.dropout !== undefined) {
    if (typeof c.dropout !== 'number' || !(c.dropout >= 0 && c.dropout < 1))
      throw new Error(`${where}: config.dropout is ${JSON.stringify(c.dropout)}, expected a number in [0, 1)`);
    out.dropout = c.dropout;
  }
  if (c.init !== undefined) {
    if (c.init !== 'torch' && c.init !== 'gpt')
      throw new Error(`${where}: config.init is ${JSON.stringify(c.init)}, expected 'torch' or 'gpt'`);
    out.init = c.init;
  }
  return out;
}

/** Gates of the recurrent cells (the same table as recurrent.ts; kept here so validation builds nothing). */
const GATES: Record<string, number> = { rnn: 1, gru: 3, lstm: 4 };

/** A recurrent model's parameters: wte, start, Wx, Wh, b, lmW, lmB. */
export function recurrentParamCount(cell: string, V: number, E: number, H: number): number {
  const G = GATES[cell];
  if (G === undefined) throw new Error(`unknown cell type '${cell}' (rnn, gru, lstm)`);
  return V * E + H + E * G * H + H * G * H + G * H + H * V + V;
}

/**
 * The number of values a zoo model of `type` built from `c` holds in its namedWeights(): what a weights
 * manifest must list before the model is built. (test/train/saved-model-hostile.test.ts checks it against
 * the models themselves.)
 */
export function zooParamCount(type: string, c: ZooConfig): number {
  const { vocabSize: V, blockSize: T, nLayer: L, nEmbd: E, nEmbd2: H } = c;
  switch (type) {
    case 'bigram':
      return V * V;
    case 'mlp':
      return (V + 1) * E + (T * E * H + H) + (H * V + V);
    case 'bow':
      return V * E + T * E + (E * H + H) + (H * E + E) + (E * V + V);
    case 'transformer':
      // per block: 2 LayerNorms (4E), attn (3E² + 3E), attnproj (E² + E), fc (4E² + 4E), proj (4E² + E)
      return V * E + T * E + L * (12 * E * E + 13 * E) + 2 * E + E * V;
    case 'rnn':
    case 'gru':
    case 'lstm':
      return recurrentParamCount(type, V, E, H);
    case 'wavenet': {
      // embedding; per level Linear(2·width → H, no bias) and BatchNorm (γ, β, running mean and variance); head
      let n = V * E;
      let width = E;
      for (let k = 0; k < L; k++) {
        n += 2 * width * H + 4 * H;
        width = H;
      }
      return n + H * V + V;
    }
    default:
      throw new Error(`unknown model type '${type}'`);
  }
}

/** A recurrent config from a file (the novel's LSTM: cell, vocabSize, blockSize, nEmbd, nHidden), checked like checkZooConfig. */
export function checkRecurrentConfig(
  where: string,
  type: string,
  x: unknown,
): { cell: string; vocabSize: number; blockSize: number; nEmbd: number; nHidden: number } {
  if (!x || typeof x !== 'object' || Array.isArray(x)) throw new Error(`${where}: config is not an object`);
  const c = x as Record<string, unknown>;
  if (c.cell !== undefined && c.cell !== type)
    throw new Error(`${where}: config.cell is ${JSON.stringify(c.cell)}, but the model type is '${type}'`);
  return {
    cell: type,
    vocabSize: wholeIn(where, c, 'vocabSize', ZOO_LIMITS.vocabSize),
    blockSize: wholeIn(where, c, 'blockSize', ZOO_LIMITS.blockSize),
    nEmbd: wholeIn(where, c, 'nEmbd', ZOO_LIMITS.nEmbd),
    nHidden: wholeIn(where, c, 'nHidden', ZOO_LIMITS.nEmbd2),
  };
}
