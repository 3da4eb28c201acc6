/**
 * nanoGPT's model settings: the CPU recipe for tiny Shakespeare as a config, a config from a file
 * checked field by field, and the parameter count a config implies (what a saved
 * model's manifest must list before the model is built).
 */
import type { GPTConfig } from './configs';
import { layerNormRows, linearRows, oneToOne, type HostTensor, type Row, type StateDictLayout } from './torch-names';

/**
 * nanoGPT's README command for a CPU (config/train_shakespeare_char.py with --block_size=64
 * --n_layer=4 --n_head=4 --n_embd=128 --dropout=0.0, and bias False as that config file sets it).
 */
export const NANOGPT_CPU: GPTConfig = {
  vocabSize: 65,
  blockSize: 64,
  nLayer: 4,
  nHead: 4,
  nEmbd: 128,
  dropout: 0,
  bias: false,
  activation: 'gelu',
  tieWeights: true,
  init: 'nanogpt',
};

/**
 * The lecture's gpt.py (ng-video-lecture): 6 layers of 6 heads, n_embd 384, block 256, dropout 0.2,
 * ReLU, key/query/value without bias, biases elsewhere (lm_head too), no tying; N(0, 0.02) weights.
 */
export const LECTURE_GPT: GPTConfig = {
  vocabSize: 65,
  blockSize: 256,
  nLayer: 6,
  nHead: 6,
  nEmbd: 384,
  dropout: 0.2,
  bias: true,
  qkvBias: false,
  headBias: true,
  activation: 'relu',
  tieWeights: false,
  init: 'nanogpt',
};

/** Upper bounds for a config read from a file (a crafted one must not allocate gigabytes). */
const LIMITS = { vocabSize: 65_536, blockSize: 65_536, nLayer: 256, nHead: 1024, nEmbd: 65_536 } as const;

const ACTIVATIONS = ['gelu', 'gelu-tanh', 'relu'] as const;
const INITS = ['nanogpt', 'torch'] as const;

/** The number of values in a GPT's namedWeights() (a tied head counted once, as PyTorch's parameters()). */
export function gptParamCount(c: GPTConfig): number {
  const { vocabSize: V, blockSize: T, nLayer: L, nEmbd: E } = c;
  const b = c.bias ? 1 : 0;
  const qkv = (c.qkvBias ?? c.bias) ? 1 : 0;
  // per block: 2 LayerNorms, c_attn, attn c_proj, c_fc, mlp c_proj
  const block =
    2 * E * (1 + b) + (3 * E * E + 3 * E * qkv) + (E * E + E * b) + (4 * E * E + 4 * E * b) + (4 * E * E + E * b);
  const head = c.tieWeights ? 0 : E * V + (c.headBias ? V : 0);
  return V * E + T * E + L * block + E * (1 + b) + head;
}

/** nanoGPT's get_num_params(): without the position embeddings. */
export function gptNonEmbeddingParams(c: GPTConfig): number {
  return gptParamCount(c) - c.blockSize * c.nEmbd;
}

function whole(where: string, c: Record<string, unknown>, key: keyof typeof LIMITS): number {
  const v = c[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > LIMITS[key])
    throw new Error(
      `${where}: config.${key} is ${JSON.stringify(v)}, expected a whole number from 1 to ${LIMITS[key]}`,
    );
  return v;
}

function flag(where: string, c: Record<string, unknown>, key: string, optional = false): boolean | undefined {
  const v = c[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'boolean')
    throw new Error(`${where}: config.${key} is ${JSON.stringify(v)}, expected true or false`);
  return v;
}

function oneOf<T extends string>(where: string, c: Record<string, unknown>, key: string, options: readonly T[]): T {
  const v = c[key];
  if (typeof v !== 'string' || !(options as readonly string[]).includes(v))
    throw new Error(`${where}: config.${key} is ${JSON.stringify(v)}, expected one of ${options.join(', ')}`);
  return v as T;
}

/** A GPT config from a file (`where` names it), checked field by field before anything is built. */
export function checkGPTConfig(where: string, x: unknown): GPTConfig {
  if (!x || typeof x !== 'object' || Array.isArray(x)) throw new Error(`${where}: config is not an object`);
  const c = x as Record<string, unknown>;
  const out: GPTConfig = {
    vocabSize: whole(where, c, 'vocabSize'),
    blockSize: whole(where, c, 'blockSize'),
    nLayer: whole(where, c, 'nLayer'),
    nHead: whole(where, c, 'nHead'),
    nEmbd: whole(where, c, 'nEmbd'),
    dropout: 0,
    bias: flag(where, c, 'bias')!,
    activation: oneOf(where, c, 'activation', ACTIVATIONS),
    tieWeights: flag(where, c, 'tieWeights')!,
    init: oneOf(where, c, 'init', INITS),
  };
  if (out.nEmbd % out.nHead !== 0)
    throw new Error(`${where}: config.nEmbd ${out.nEmbd} is not divisible by config.nHead ${out.nHead}`);
  if (typeof c.dropout !== 'number' || !(c.dropout >= 0 && c.dropout < 1))
    throw new Error(`${where}: config.dropout is ${JSON.stringify(c.dropout)}, expected a number in [0, 1)`);
  out.dropout = c.dropout;
  const qkvBias = flag(where, c, 'qkvBias', true);
  const headBias = flag(where, c, 'headBias', true);
  if (qkvBias !== undefined) out.qkvBias = qkvBias;
  if (headBias !== undefined) out.headBias = headBias;
  if (out.tieWeights && out.headBias)
    throw new Error(`${where}: config.headBias is true, but a tied head (config.tieWeights) has no bias`);
  return out;
}

/**
 * nanoGPT's state_dict for a config (names and shapes as `GPT(GPTConfig(**config)).state_dict()` has
 * them; our names are the same). A tied head's `lm_head.weight` is the token table again: written so that
 * nanoGPT's strict load takes the file, ignored on reading (the table is read from `transformer.wte.weight`).
 */
export function gptStateDict(c: GPTConfig): StateDictLayout {
  const { vocabSize: V, blockSize: T, nEmbd: E, nLayer: L } = c;
  const linear = (name: string, fanIn: number, fanOut: number, bias: boolean) =>
    linearRows(name, name, fanIn, fanOut, bias).map((r) => ({ ...r, ours: r.torch }));
  const norm = (name: string) =>
    layerNormRows(name, name, E)
      .filter((r) => c.bias || r.torch.endsWith('.weight'))
      .map((r) => ({ ...r, ours: r.torch }));
  const rows: Row[] = [
    { torch: 'transformer.wte.weight', ours: 'transformer.wte.weight', shape: [V, E] },
    { torch: 'transformer.wpe.weight', ours: 'transformer.wpe.weight', shape: [T, E] },
    ...Array.from({ length: L }, (_, k) => {
      const p = `transformer.h.${k}`;
      return [
        ...norm(`${p}.ln_1`),
        ...linear(`${p}.attn.c_attn`, E, 3 * E, c.qkvBias ?? c.bias),
        ...linear(`${p}.attn.c_proj`, E, E, c.bias),
        ...norm(`${p}.ln_2`),
        ...linear(`${p}.mlp.c_fc`, E, 4 * E, c.bias),
        ...linear(`${p}.mlp.c_proj`, 4 * E, E, c.bias),
      ];
    }).flat(),
    ...norm('transformer.ln_f'),
    ...(c.tieWeights ? [] : linear('lm_head', E, V, c.headBias ?? false)),
  ];
  const layout = oneToOne(rows);
  if (!c.tieWeights) return layout;
  return {
    ...layout,
    tensors: [...layout.tensors, { name: 'lm_head.weight', shape: [V, E], buffer: true }],
    toTorch: (ours) => {
      const torch = layout.toTorch(ours);
      return { ...torch, 'lm_head.weight': torch['transformer.wte.weight'] as HostTensor };
    },
  };
}

/** nanoGPT's GPTConfig fields (`GPTConfig(**fields)` takes them) from ours. */
export function nanoGptConfig(c: GPTConfig): Record<string, number | boolean> {
  return {
    block_size: c.blockSize,
    vocab_size: c.vocabSize,
    n_layer: c.nLayer,
    n_head: c.nHead,
    n_embd: c.nEmbd,
    dropout: c.dropout,
    bias: c.bias,
  };
}
