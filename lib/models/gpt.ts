/**
 * nanoGPT's GPT (karpathy/nanoGPT model.py), written once from lib/nn's layers so that the tfjs forward
 * and the fused step (lib/fused/step.ts) run the same chain: token and position embeddings, dropout,
 * nLayer pre-norm blocks (x + attn(ln_1(x)), x + mlp(ln_2(x))), ln_f, the head. Its options cover the
 * lecture's gpt.py too (ReLU, biases, an untied head): GPTConfig in configs.ts, presets in gpt-config.ts.
 * Weights are named as nanoGPT's state_dict names them (`transformer.h.0.attn.c_attn.weight`, …).
 */
import { tf } from '../runtime/tf';
import { randnVariable } from '../nn/init';
import type { Rng } from '../random/rng';
import type { ForwardOptions } from './language-model';
import type { Chain } from '../fused/step';
import type { GPTConfig, ModelType } from './configs';
import { asIs, SequenceModel } from './zoo/sequence-model';
import { Embedding, TiedHead } from '../nn/embedding';
import { Linear } from '../nn/linear';
import { LayerNorm } from '../nn/layer-norm';
import { GELU, ReLU } from '../nn/activations';
import { AddPositions } from '../nn/positions';
import { CausalSelfAttention } from '../nn/attention';
import { attentionReference } from '../ops/attention';
import { Dropout } from '../nn/dropout';
import { Residual } from '../nn/residual';
import { runLayers, type Layer, type LinearInit } from '../nn/layer';
import { Module } from '../nn/module';

/** A weight as PyTorch's state_dict holds it: ours is the transpose for Linear weights ([in, out] against [out, in]). */
export interface StateDictEntry {
  variable: tf.Variable;
  transposed: boolean;
}

/** PyTorch's names for a Linear's weights (`weight` [out, in], `bias`). */
function linearNames(l: Linear): Record<string, StateDictEntry> {
  const out: Record<string, StateDictEntry> = { weight: { variable: l.W, transposed: true } };
  if (l.b) out.bias = { variable: l.b, transposed: false };
  return out;
}

function layerNormNames(l: LayerNorm): Record<string, StateDictEntry> {
  const out: Record<string, StateDictEntry> = { weight: { variable: l.g, transposed: false } };
  if (l.b) out.bias = { variable: l.b, transposed: false };
  return out;
}

function under(prefix: string, d: Record<string, StateDictEntry>): Record<string, StateDictEntry> {
  return Object.fromEntries(Object.entries(d).map(([k, v]) => [`${prefix}.${k}`, v]));
}

/**
 * One block, pre-norm: x + c_proj(attention(c_attn(ln_1(x)))), then x + c_proj(act(c_fc(ln_2(x)))).
 * makemore's Transformer (zoo/transformer.ts) is made of these blocks too, under its own names.
 */
export class GPTBlock extends Module {
  readonly ln1: LayerNorm;
  readonly cAttn: Linear;
  readonly attnProj: Linear;
  readonly ln2: LayerNorm;
  readonly fc: Linear;
  readonly mlpProj: Linear;
  readonly layers: Layer[];
  readonly nHead: number;
  constructor(rng: Rng, c: GPTConfig, inits: { weight: LinearInit; proj: LinearInit }) {
    super();
    const E = c.nEmbd;
    this.nHead = c.nHead;
    const bias = c.bias;
    this.ln1 = new LayerNorm(E, { bias });
    this.cAttn = new Linear(rng, E, 3 * E, { init: inits.weight, bias: c.qkvBias ?? bias });
    this.attnProj = new Linear(rng, E, E, { init: inits.proj, bias });
    this.ln2 = new LayerNorm(E, { bias });
    this.fc = new Linear(rng, E, 4 * E, { init: inits.weight, bias });
    this.mlpProj = new Linear(rng, 4 * E, E, { init: inits.proj, bias });
    const act = c.activation === 'relu' ? new ReLU() : new GELU(c.activation === 'gelu' ? 'none' : 'tanh');
    const p = c.dropout;
    this.layers = [
      new Residual([
        this.ln1,
        this.cAttn,
        new CausalSelfAttention(c.nHead, c.blockSize, p),
        this.attnProj,
        new Dropout(p),
      ]),
      new Residual([this.ln2, this.fc, act, this.mlpProj, new Dropout(p)]),
    ];
  }
  forward(x: tf.Tensor3D): tf.Tensor3D {
    return runLayers(this.layers, x) as tf.Tensor3D;
  }
  /**
   * The attention weights the fused op uses, [B, nHead, T, T]: row t is how much position t takes from
   * each position ≤ t (softmax of q·k/√head size, causal), as the op-by-op form computes them. For
   * looking inside; training never calls it.
   */
  attentionWeights(x: tf.Tensor3D): tf.Tensor4D {
    let weights: tf.Tensor4D | null = null;
    tf.tidy(() => {
      const qkv = this.cAttn.forward(this.ln1.forward(x)) as tf.Tensor3D;
      attentionReference(qkv, this.nHead, (att) => (weights = tf.keep(att)));
    });
    return weights!;
  }
  stateDict(): Record<string, StateDictEntry> {
    return {
      ...under('ln_1', layerNormNames(this.ln1)),
      ...under('attn.c_attn', linearNames(this.cAttn)),
      ...under('attn.c_proj', linearNames(this.attnProj)),
      ...under('ln_2', layerNormNames(this.ln2)),
      ...under('mlp.c_fc', linearNames(this.fc)),
      ...under('mlp.c_proj', linearNames(this.mlpProj)),
    };
  }
  namedWeights(): Record<string, tf.Variable> {
    return Object.fromEntries(Object.entries(this.stateDict()).map(([k, e]) => [k, e.variable]));
  }
}

/**
 * What nanoGPT's GPT and makemore's Transformer share: token and position embeddings, dropout, the
 * blocks, ln_f and the head as one chain of layers, which the tfjs forward and the fused step both run.
 */
export abstract class GPTStack<T extends ModelType> extends SequenceModel<T> {
  abstract readonly blocks: GPTBlock[];
  abstract readonly layers: Layer[];
  /** The chain for these parts, in nanoGPT's order. */
  protected stack(
    wte: tf.Variable,
    wpe: tf.Variable,
    dropout: number,
    blocks: GPTBlock[],
    lnF: LayerNorm,
    head: Layer,
  ): Layer[] {
    return [
      new Embedding(wte, { reorderProducts: false }),
      new AddPositions(wpe),
      new Dropout(dropout),
      ...blocks.flatMap((b) => b.layers),
      lnF,
      head,
    ];
  }
  logits(idx: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
    const T = idx.shape[1];
    if (T > this.blockSize) throw new Error(`sequence of ${T} is longer than the block size ${this.blockSize}`);
    return runLayers(this.layers, idx, opts.training ?? false, opts.rng) as tf.Tensor3D;
  }
  chain(): Chain {
    return { layers: this.layers, rows: asIs };
  }
  /** Every layer's attention weights for `idx` [B, T]: one [B, nHead, T, T] tensor per layer (for looking inside). */
  attentionWeights(idx: tf.Tensor2D): tf.Tensor4D[] {
    return tf.tidy(() => {
      let x = runLayers(this.layers.slice(0, 2), idx) as tf.Tensor3D; // token + position embeddings
      const out: tf.Tensor4D[] = [];
      for (const b of this.blocks) {
        out.push(b.attentionWeights(x));
        x = b.forward(x);
      }
      return out;
    });
  }
}

export class GPT extends GPTStack<'gpt'> {
  readonly type = 'gpt';
  readonly wte: tf.Variable;
  readonly wpe: tf.Variable;
  readonly blocks: GPTBlock[];
  readonly lnF: LayerNorm;
  /** lm_head: the token table read backwards (tied), or a Linear of its own. */
  readonly head: TiedHead | Linear;
  /** Token and position embeddings, dropout, the blocks, ln_f, the head: what both passes run. */
  readonly layers: Layer[];
  constructor(
    readonly config: GPTConfig,
    rng: Rng,
  ) {
    super();
    const { vocabSize: V, blockSize: T, nEmbd: E, nHead, nLayer } = config;
    if (E % nHead !== 0) throw new Error(`n_embd (${E}) must be divisible by n_head (${nHead})`);
    if (!(config.dropout >= 0 && config.dropout < 1))
      throw new Error(`dropout must be in [0, 1), got ${config.dropout}`);
    if (config.tieWeights && config.headBias) throw new Error('a tied head has no bias: headBias must be false');
    const nano = config.init === 'nanogpt';
    // nanoGPT's _init_weights: N(0, 0.02) everywhere, and the residual projections N(0, 0.02/√(2·n_layer))
    const inits: { weight: LinearInit; proj: LinearInit } = nano
      ? { weight: { kind: 'randn', scale: 0.02 }, proj: { kind: 'randn', scale: 0.02 / Math.sqrt(2 * nLayer) } }
      : { weight: { kind: 'uniform' }, proj: { kind: 'uniform' } };
    this.wte = randnVariable(rng, [V, E], nano ? 0.02 : 1, 'wte');
    this.wpe = randnVariable(rng, [T, E], nano ? 0.02 : 1, 'wpe');
    this.blocks = Array.from({ length: nLayer }, () => new GPTBlock(rng, config, inits));
    this.lnF = new LayerNorm(E, { bias: config.bias });
    this.head = config.tieWeights
      ? new TiedHead(this.wte)
      : new Linear(rng, E, V, { init: inits.weight, bias: config.headBias ?? false });
    this.layers = this.stack(this.wte, this.wpe, config.dropout, this.blocks, this.lnF, this.head);
  }
  /**
   * Every weight under nanoGPT's state_dict name, as PyTorch lays it out or transposed; with tied
   * weights `lm_head.weight` is `transformer.wte.weight` again (the same variable), as in nanoGPT.
   */
  stateDict(): Record<string, StateDictEntry> {
    const head: Record<string, StateDictEntry> =
      this.head instanceof Linear ? linearNames(this.head) : { weight: { variable: this.wte, transposed: false } };
    return {
      'transformer.wte.weight': { variable: this.wte, transposed: false },
      'transformer.wpe.weight': { variable: this.wpe, transposed: false },
      ...Object.assign({}, ...this.blocks.map((b, k) => under(`transformer.h.${k}`, b.stateDict()))),
      ...under('transformer.ln_f', layerNormNames(this.lnF)),
      ...under('lm_head', head),
    };
  }
  /** nanoGPT's names, each variable once (a tied head is the token table's: no `lm_head.weight`). */
  namedWeights(): Record<string, tf.Variable> {
    const out: Record<string, tf.Variable> = {};
    const seen = new Set<tf.Variable>();
    for (const [k, e] of Object.entries(this.stateDict())) {
      if (seen.has(e.variable)) continue;
      seen.add(e.variable);
      out[k] = e.variable;
    }
    return out;
  }
  /**
   * The tf names of the parameters nanoGPT's configure_optimizers does not decay: those with fewer
   * than 2 dimensions (biases and LayerNorm gains). The embeddings and every Linear weight decay.
   */
  noDecay(): Set<string> {
    return new Set(
      this.params()
        .filter((v) => v.rank < 2)
        .map((v) => v.name),
    );
  }
}
