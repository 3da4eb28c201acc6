/**
 * The makemore model zoo behind one interface: token ids [B, T] (and targets, −1 = ignore) →
 * logits [B, T, V] and the mean cross-entropy. Bigram, MLP, bag of words and a GPT-2-style transformer
 * live here; the recurrent cells (RNN, GRU, LSTM) in recurrent.ts. Parameters follow makemore's
 * defaults and PyTorch's initialisation (embeddings N(0, 1), linear layers U(±1/√fan_in)).
 */
import { tf } from '../tf';
import {
  constantVariable,
  countParameters,
  crossEntropy,
  loadNamedWeights,
  randnVariable,
  uniformVariable,
} from '../nn';
import type { Rng } from '../random';
import { RecurrentLM, type CellType } from './recurrent';
import { causalSelfAttention, gelu, layerNorm } from './fused';

export const MODEL_TYPES = ['bigram', 'mlp', 'rnn', 'gru', 'lstm', 'bow', 'transformer'] as const;
export type ModelType = (typeof MODEL_TYPES)[number];

export interface ModelConfig {
  vocabSize: number;
  blockSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  nEmbd2: number;
}

export const DEFAULT_CONFIG: Omit<ModelConfig, 'vocabSize' | 'blockSize'> = {
  nLayer: 4,
  nHead: 4,
  nEmbd: 64,
  nEmbd2: 64,
};

export interface LanguageModel {
  readonly config: ModelConfig | object;
  forward(idx: tf.Tensor2D, targets?: tf.Tensor2D): { logits: tf.Tensor3D; loss?: tf.Scalar };
  params(): tf.Variable[];
  namedWeights(): Record<string, tf.Tensor>;
  loadWeights(w: Record<string, tf.Tensor>): void;
  numParams(): number;
  dispose(): void;
}

/** A linear layer x W + b over the last axis of any rank. */
class Dense {
  readonly W: tf.Variable;
  readonly b: tf.Variable | null;
  constructor(
    rng: Rng,
    readonly fanIn: number,
    readonly fanOut: number,
    name: string,
    bias = true,
  ) {
    this.W = uniformVariable(rng, fanIn, [fanIn, fanOut], `${name}W`);
    this.b = bias ? uniformVariable(rng, fanIn, [fanOut], `${name}b`) : null;
  }
  apply(x: tf.Tensor, activation?: 'relu'): tf.Tensor {
    const shape = x.shape;
    const flat = x.reshape([-1, this.fanIn]) as tf.Tensor2D;
    const y = tf.fused.matMul({ a: flat, b: this.W as tf.Tensor2D, bias: this.b ?? undefined, activation });
    return y.reshape([...shape.slice(0, -1), this.fanOut]);
  }
  named(prefix: string): Record<string, tf.Variable> {
    return this.b ? { [`${prefix}.W`]: this.W, [`${prefix}.b`]: this.b } : { [`${prefix}.W`]: this.W };
  }
}

class LayerNorm {
  readonly g: tf.Variable;
  readonly b: tf.Variable;
  constructor(dim: number, name: string) {
    this.g = constantVariable(1, [dim], `${name}g`);
    this.b = constantVariable(0, [dim], `${name}b`);
  }
  apply(x: tf.Tensor): tf.Tensor {
    return layerNorm(x, this.g as tf.Tensor1D, this.b as tf.Tensor1D);
  }
  named(prefix: string): Record<string, tf.Variable> {
    return { [`${prefix}.g`]: this.g, [`${prefix}.b`]: this.b };
  }
}

/** Shared plumbing: parameters by name, loading, counting, disposal, loss. */
abstract class Base implements LanguageModel {
  abstract readonly config: ModelConfig;
  abstract logits(idx: tf.Tensor2D): tf.Tensor3D;
  abstract namedWeights(): Record<string, tf.Variable>;
  forward(idx: tf.Tensor2D, targets?: tf.Tensor2D): { logits: tf.Tensor3D; loss?: tf.Scalar } {
    const logits = this.logits(idx);
    return { logits, loss: targets ? crossEntropy(logits, targets, -1) : undefined };
  }
  params(): tf.Variable[] {
    return Object.values(this.namedWeights());
  }
  loadWeights(w: Record<string, tf.Tensor>): void {
    loadNamedWeights(this.namedWeights(), w);
  }
  numParams(): number {
    return countParameters(this.params());
  }
  /** Every tensor a zoo model owns is a variable in namedWeights() (no buffers, no caches). */
  dispose(): void {
    for (const p of this.params()) p.dispose();
  }
}

/** A lookup table of next-token logits: 27 × 27 = 729 parameters for names. */
export class Bigram extends Base {
  readonly table: tf.Variable;
  /** The table starts at zero (uniform predictions), as makemore's does; no randomness needed. */
  constructor(readonly config: ModelConfig) {
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

/**
 * makemore's MLP: at every position, the embeddings of the previous `blockSize` tokens (a blank token,
 * index V, before the start) concatenated → tanh hidden layer → logits.
 */
class MakemoreMLP extends Base {
  readonly wte: tf.Variable;
  readonly hidden: Dense;
  readonly head: Dense;
  constructor(
    readonly config: ModelConfig,
    rng: Rng,
  ) {
    super();
    const { vocabSize: V, blockSize: T, nEmbd: E, nEmbd2: H } = config;
    this.wte = randnVariable(rng, [V + 1, E], 1, 'wte');
    this.hidden = new Dense(rng, T * E, H, 'mlp1');
    this.head = new Dense(rng, H, V, 'mlp2');
  }
  logits(idx: tf.Tensor2D): tf.Tensor3D {
    const [B, T] = idx.shape;
    const V = this.config.vocabSize;
    // position t sees tokens t, t−1, …, t−blockSize+1 (blank V before the start): one index tensor
    // [B, T, blockSize] and a single lookup, instead of blockSize shifted copies and a concat
    const bs = this.config.blockSize;
    const ids = idx.dataSync();
    const ctx = new Int32Array(B * T * bs);
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++)
        for (let k = 0; k < bs; k++) ctx[(b * T + t) * bs + k] = t - k >= 0 ? (ids[b * T + t - k] as number) : V;
    const x = tf.gather(this.wte, tf.tensor3d(ctx, [B, T, bs], 'int32')).reshape([B, T, bs * this.config.nEmbd]);
    return this.head.apply(tf.tanh(this.hidden.apply(x))) as tf.Tensor3D;
  }
  namedWeights(): Record<string, tf.Variable> {
    return { wte: this.wte, ...this.hidden.named('hidden'), ...this.head.named('head') };
  }
}

/** A lower-triangular averaging matrix [T, T] (row t averages positions ≤ t). */
function causalAverage(T: number): tf.Tensor2D {
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) m[i * T + j] = 1 / (i + 1);
  return tf.tensor2d(m, [T, T]);
}

/** makemore's bag of words: token + position embeddings, a causal running average, an MLP, a head. */
class BagOfWords extends Base {
  readonly wte: tf.Variable;
  readonly wpe: tf.Variable;
  readonly fc: Dense;
  readonly proj: Dense;
  readonly head: Dense;
  constructor(
    readonly config: ModelConfig,
    rng: Rng,
  ) {
    super();
    const { vocabSize: V, blockSize: T, nEmbd: E, nEmbd2: H } = config;
    this.wte = randnVariable(rng, [V, E], 1, 'wte');
    this.wpe = randnVariable(rng, [T, E], 1, 'wpe');
    this.fc = new Dense(rng, E, H, 'fc');
    this.proj = new Dense(rng, H, E, 'proj');
    this.head = new Dense(rng, E, V, 'head');
  }
  logits(idx: tf.Tensor2D): tf.Tensor3D {
    const T = idx.shape[1];
    let x = tf.gather(this.wte, idx).add(this.wpe.slice([0, 0], [T, -1]));
    x = x.add(tf.matMul(causalAverage(T), x as tf.Tensor3D)); // broadcast [T,T] @ [B,T,E]
    x = x.add(this.proj.apply(tf.tanh(this.fc.apply(x))));
    return this.head.apply(x) as tf.Tensor3D;
  }
  namedWeights(): Record<string, tf.Variable> {
    return {
      wte: this.wte,
      wpe: this.wpe,
      ...this.fc.named('fc'),
      ...this.proj.named('proj'),
      ...this.head.named('head'),
    };
  }
}

class Block {
  readonly ln1: LayerNorm;
  readonly attn: Dense;
  readonly attnProj: Dense;
  readonly ln2: LayerNorm;
  readonly fc: Dense;
  readonly proj: Dense;
  constructor(
    rng: Rng,
    readonly E: number,
    readonly nHead: number,
    k: number,
  ) {
    this.ln1 = new LayerNorm(E, `ln1_${k}`);
    this.attn = new Dense(rng, E, 3 * E, `attn${k}`);
    this.attnProj = new Dense(rng, E, E, `attnproj${k}`);
    this.ln2 = new LayerNorm(E, `ln2_${k}`);
    this.fc = new Dense(rng, E, 4 * E, `fc${k}`);
    this.proj = new Dense(rng, 4 * E, E, `proj${k}`);
  }
  /** Causal multi-head self-attention (one fused op: see fused.ts). */
  private attention(x: tf.Tensor3D): tf.Tensor {
    return this.attnProj.apply(causalSelfAttention(this.attn.apply(x) as tf.Tensor3D, this.nHead));
  }
  apply(x: tf.Tensor3D): tf.Tensor3D {
    const a = x.add(this.attention(this.ln1.apply(x) as tf.Tensor3D)) as tf.Tensor3D;
    return a.add(this.proj.apply(gelu(this.fc.apply(this.ln2.apply(a))))) as tf.Tensor3D;
  }
  named(prefix: string): Record<string, tf.Variable> {
    return {
      ...this.ln1.named(`${prefix}.ln1`),
      ...this.attn.named(`${prefix}.attn`),
      ...this.attnProj.named(`${prefix}.attnproj`),
      ...this.ln2.named(`${prefix}.ln2`),
      ...this.fc.named(`${prefix}.fc`),
      ...this.proj.named(`${prefix}.proj`),
    };
  }
}

/** A GPT-2-style transformer: 204,544 parameters at makemore's defaults for names. */
class Transformer extends Base {
  readonly wte: tf.Variable;
  readonly wpe: tf.Variable;
  readonly blocks: Block[];
  readonly lnF: LayerNorm;
  readonly head: Dense;
  constructor(
    readonly config: ModelConfig,
    rng: Rng,
  ) {
    super();
    const { vocabSize: V, blockSize: T, nEmbd: E, nHead, nLayer } = config;
    if (E % nHead !== 0) throw new Error(`n_embd (${E}) must be divisible by n_head (${nHead})`);
    this.wte = randnVariable(rng, [V, E], 1, 'wte');
    this.wpe = randnVariable(rng, [T, E], 1, 'wpe');
    this.blocks = Array.from({ length: nLayer }, (_, k) => new Block(rng, E, nHead, k));
    this.lnF = new LayerNorm(E, 'lnf');
    this.head = new Dense(rng, E, V, 'lmhead', false);
  }
  logits(idx: tf.Tensor2D): tf.Tensor3D {
    const T = idx.shape[1];
    if (T > this.config.blockSize)
      throw new Error(`sequence of ${T} is longer than the block size ${this.config.blockSize}`);
    let x = tf.gather(this.wte, idx).add(this.wpe.slice([0, 0], [T, -1])) as tf.Tensor3D;
    for (const b of this.blocks) x = b.apply(x);
    return this.head.apply(this.lnF.apply(x)) as tf.Tensor3D;
  }
  namedWeights(): Record<string, tf.Variable> {
    return {
      wte: this.wte,
      wpe: this.wpe,
      ...Object.assign({}, ...this.blocks.map((b, k) => b.named(`h${k}`))),
      ...this.lnF.named('lnf'),
      ...this.head.named('head'),
    };
  }
}

/** makemore's `--type`: builds any model of the zoo. */
export function createModel(type: string, config: ModelConfig, rng: Rng): LanguageModel {
  switch (type) {
    case 'bigram':
      return new Bigram(config);
    case 'mlp':
      return new MakemoreMLP(config, rng);
    case 'bow':
      return new BagOfWords(config, rng);
    case 'transformer':
      return new Transformer(config, rng);
    case 'rnn':
    case 'gru':
    case 'lstm':
      return new RecurrentLM(
        {
          cell: type as CellType,
          vocabSize: config.vocabSize,
          blockSize: config.blockSize,
          nEmbd: config.nEmbd,
          nHidden: config.nEmbd2,
        },
        rng,
      );
    default:
      throw new Error(`unknown model type '${type}': choose one of ${MODEL_TYPES.join(', ')}`);
  }
}
