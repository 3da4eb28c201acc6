/**
 * makemore's GPT-2-style transformer.
 */
import { tf } from '../../runtime/tf';
import { randnVariable } from '../../nn/init';
import type { Rng } from '../../random/rng';
import { causalSelfAttention } from '../../ops/attention';
import { gelu } from '../../ops/gelu';
import { Base } from '../language-model';
import { ModelConfig } from './config';
import { Dense, LayerNorm } from '../../nn/dense';

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
export class Transformer extends Base {
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
