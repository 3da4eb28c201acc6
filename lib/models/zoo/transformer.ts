/**
 * makemore's GPT-2-style transformer.
 */
import { tf } from '../../runtime/tf';
import { randnVariable } from '../../nn/init';
import type { Rng } from '../../random/rng';
import { attentionReference, causalSelfAttention } from '../../ops/attention';
import { dropout } from '../../nn/dropout';
import type { ForwardOptions } from '../language-model';
import { gelu } from '../../ops/gelu';
import { SequenceModel, TORCH_INIT } from './sequence-model';
import type { ZooConfig } from './config';
import { Linear, LayerNorm, type LinearInit } from '../../nn/layers';
import { Module, prefixed } from '../../nn/module';

class Block extends Module {
  readonly ln1: LayerNorm;
  readonly attn: Linear;
  readonly attnProj: Linear;
  readonly ln2: LayerNorm;
  readonly fc: Linear;
  readonly proj: Linear;
  constructor(
    rng: Rng,
    readonly E: number,
    readonly nHead: number,
    init: LinearInit,
  ) {
    super();
    this.ln1 = new LayerNorm(E);
    this.attn = new Linear(rng, E, 3 * E, { init });
    this.attnProj = new Linear(rng, E, E, { init });
    this.ln2 = new LayerNorm(E);
    this.fc = new Linear(rng, E, 4 * E, { init });
    this.proj = new Linear(rng, 4 * E, E, { init });
  }
  /**
   * Causal multi-head self-attention: one fused op (see ops/attention.ts), or with dropout on the
   * attention weights the op-by-op form, which has them as a tensor.
   */
  private attention(x: tf.Tensor3D, drop: ((t: tf.Tensor) => tf.Tensor) | null): tf.Tensor {
    const qkv = this.attn.forward(x) as tf.Tensor3D;
    if (!drop) return this.attnProj.forward(causalSelfAttention(qkv, this.nHead));
    const y = attentionReference(qkv, this.nHead, (att) => drop(att) as tf.Tensor4D);
    return drop(this.attnProj.forward(y));
  }
  /**
   * The attention weights the fused op uses, [B, nHead, T, T]: row t is how much position t takes from
   * each position ≤ t (softmax of q·k/√head size, causal). For looking inside; training never calls it.
   */
  attentionWeights(x: tf.Tensor3D): tf.Tensor4D {
    return tf.tidy(() => {
      const [B, T, E] = x.shape;
      const hs = E / this.nHead;
      const [q, k] = tf.split(this.attn.forward(this.ln1.forward(x)), 3, 2) as [tf.Tensor3D, tf.Tensor3D];
      const heads = (m: tf.Tensor3D) => m.reshape([B, T, this.nHead, hs]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
      const scores = tf.matMul(heads(q), heads(k), false, true).mul(1 / Math.sqrt(hs));
      const future = tf.linalg.bandPart(tf.ones([T, T]), 0, -1).sub(tf.eye(T)); // 1 above the diagonal
      return tf.softmax(scores.add(future.mul(-1e9))) as tf.Tensor4D;
    });
  }
  /** `drop`: dropout while training (on the attention weights and both residual branches), else null. */
  forward(x: tf.Tensor3D, drop: ((t: tf.Tensor) => tf.Tensor) | null = null): tf.Tensor3D {
    const a = x.add(this.attention(this.ln1.forward(x) as tf.Tensor3D, drop)) as tf.Tensor3D;
    const m = this.proj.forward(gelu(this.fc.forward(this.ln2.forward(a))));
    return a.add(drop ? drop(m) : m) as tf.Tensor3D;
  }
  namedWeights(): Record<string, tf.Variable> {
    return {
      ...prefixed('ln1', this.ln1),
      ...prefixed('attn', this.attn),
      ...prefixed('attnproj', this.attnProj),
      ...prefixed('ln2', this.ln2),
      ...prefixed('fc', this.fc),
      ...prefixed('proj', this.proj),
    };
  }
}

/** A GPT-2-style transformer: 204,544 parameters at makemore's defaults for names. */
export class Transformer extends SequenceModel<'transformer'> {
  readonly type = 'transformer';
  readonly wte: tf.Variable;
  readonly wpe: tf.Variable;
  readonly blocks: Block[];
  readonly lnF: LayerNorm;
  readonly head: Linear;
  constructor(
    readonly config: ZooConfig,
    rng: Rng,
  ) {
    super();
    const { vocabSize: V, blockSize: T, nEmbd: E, nHead, nLayer } = config;
    if (E % nHead !== 0) throw new Error(`n_embd (${E}) must be divisible by n_head (${nHead})`);
    const p = config.dropout ?? 0;
    if (!(p >= 0 && p < 1)) throw new Error(`dropout must be in [0, 1), got ${p}`);
    // minGPT's initialisation (makemore's June 2022 version), or PyTorch's defaults (today's makemore)
    const gpt = config.init === 'gpt';
    const init: LinearInit = gpt ? { kind: 'randn', scale: 0.02 } : TORCH_INIT.init;
    this.wte = randnVariable(rng, [V, E], gpt ? 0.02 : 1, 'wte');
    this.wpe = randnVariable(rng, [T, E], gpt ? 0.02 : 1, 'wpe');
    this.blocks = Array.from({ length: nLayer }, () => new Block(rng, E, nHead, init));
    this.lnF = new LayerNorm(E);
    this.head = new Linear(rng, E, V, { init, bias: false });
  }
  logits(idx: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
    const T = idx.shape[1];
    if (T > this.config.blockSize)
      throw new Error(`sequence of ${T} is longer than the block size ${this.config.blockSize}`);
    const drop = this.dropper(opts);
    let x = tf.gather(this.wte, idx).add(this.wpe.slice([0, 0], [T, -1])) as tf.Tensor3D;
    if (drop) x = drop(x) as tf.Tensor3D;
    for (const b of this.blocks) x = b.forward(x, drop);
    return this.head.forward(this.lnF.forward(x)) as tf.Tensor3D;
  }
  /** Dropout with the config's p and the masks from opts.rng, while training with p > 0; else null. */
  private dropper(opts: ForwardOptions): ((t: tf.Tensor) => tf.Tensor) | null {
    const p = this.config.dropout ?? 0;
    if (!opts.training || p === 0) return null;
    const { rng } = opts;
    if (!rng) throw new Error(`the transformer has dropout ${p}: training needs an rng for the masks`);
    return (t) => dropout(t, p, rng);
  }
  /** The tf names of the weights minGPT does not decay: all but the Linear layers' weights. */
  noDecay(): Set<string> {
    const linear = new Set(
      [...this.blocks.flatMap((b) => [b.attn, b.attnProj, b.fc, b.proj]), this.head].map((l) => l.W),
    );
    return new Set(
      this.params()
        .filter((v) => !linear.has(v))
        .map((v) => v.name),
    );
  }
  /** Every layer's attention weights for `idx` [B, T]: one [B, nHead, T, T] tensor per layer. */
  attentionWeights(idx: tf.Tensor2D): tf.Tensor4D[] {
    return tf.tidy(() => {
      const T = idx.shape[1];
      let x = tf.gather(this.wte, idx).add(this.wpe.slice([0, 0], [T, -1])) as tf.Tensor3D;
      const out: tf.Tensor4D[] = [];
      for (const b of this.blocks) {
        out.push(b.attentionWeights(x));
        x = b.forward(x);
      }
      return out;
    });
  }
  namedWeights(): Record<string, tf.Variable> {
    return {
      wte: this.wte,
      wpe: this.wpe,
      ...Object.assign({}, ...this.blocks.map((b, k) => prefixed(`h${k}`, b))),
      ...prefixed('lnf', this.lnF),
      ...prefixed('head', this.head),
    };
  }
}
