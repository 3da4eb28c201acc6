/**
 * makemore's GPT-2-style transformer.
 */
import { tf } from '../../runtime/tf';
import { randnVariable } from '../../nn/init';
import type { Rng } from '../../random/rng';
import { TORCH_INIT } from './sequence-model';
import type { ZooConfig } from './config';
import { Linear } from '../../nn/linear';
import { LayerNorm } from '../../nn/layer-norm';
import type { Layer, LinearInit } from '../../nn/layer';
import { prefixed } from '../../nn/module';
import { GPTBlock, GPTStack } from '../gpt';
import { causalMask, layerNormRows, linearRows, oneToOne, type StateDictLayout } from '../torch-names';

/** makemore's names for a block's weights (its checkpoints and transformerStateDict's `ours` column). */
function blockWeights(b: GPTBlock): Record<string, tf.Variable> {
  return {
    ...prefixed('ln1', b.ln1),
    ...prefixed('attn', b.cAttn),
    ...prefixed('attnproj', b.attnProj),
    ...prefixed('ln2', b.ln2),
    ...prefixed('fc', b.fc),
    ...prefixed('proj', b.mlpProj),
  };
}

/** A GPT-2-style transformer: 204,544 parameters at makemore's defaults for names. */
export class Transformer extends GPTStack<'transformer'> {
  readonly type = 'transformer';
  readonly wte: tf.Variable;
  readonly wpe: tf.Variable;
  readonly blocks: GPTBlock[];
  readonly lnF: LayerNorm;
  readonly head: Linear;
  /** Token and position embeddings, dropout, the blocks, the last layer norm, the head. */
  readonly layers: Layer[];
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
    // nanoGPT's block with biases, GELU's tanh form and one initialisation for every Linear (no scaled c_proj)
    const block = {
      ...config,
      dropout: p,
      bias: true,
      activation: 'gelu-tanh',
      tieWeights: false,
      init: 'torch',
    } as const;
    this.blocks = Array.from({ length: nLayer }, () => new GPTBlock(rng, block, { weight: init, proj: init }));
    this.lnF = new LayerNorm(E);
    this.head = new Linear(rng, E, V, { init, bias: false });
    this.layers = this.stack(this.wte, this.wpe, p, this.blocks, this.lnF, this.head);
  }
  /** The tf names of the weights minGPT does not decay: all but the Linear layers' weights. */
  noDecay(): Set<string> {
    const linear = new Set(
      [...this.blocks.flatMap((b) => [b.cAttn, b.attnProj, b.fc, b.mlpProj]), this.head].map((l) => l.W),
    );
    return new Set(
      this.params()
        .filter((v) => !linear.has(v))
        .map((v) => v.name),
    );
  }
  namedWeights(): Record<string, tf.Variable> {
    return {
      wte: this.wte,
      wpe: this.wpe,
      ...Object.assign({}, ...this.blocks.map((b, k) => prefixed(`h${k}`, { namedWeights: () => blockWeights(b) }))),
      ...prefixed('lnf', this.lnF),
      ...prefixed('head', this.head),
    };
  }
}

/** makemore.py's Transformer state_dict: `transformer.wte.weight`, `transformer.h.0.attn.c_attn.weight` [out, in] … `lm_head.weight`. */
export function transformerStateDict(c: ZooConfig): StateDictLayout {
  const { vocabSize: V, blockSize: T, nEmbd: E, nLayer: L } = c;
  const block = (k: number) => {
    const [p, o] = [`transformer.h.${k}`, `h${k}`];
    return [
      ...layerNormRows(`${p}.ln_1`, `${o}.ln1`, E),
      { torch: `${p}.attn.bias`, shape: [1, 1, T, T], buffer: causalMask(T) },
      ...linearRows(`${p}.attn.c_attn`, `${o}.attn`, E, 3 * E),
      ...linearRows(`${p}.attn.c_proj`, `${o}.attnproj`, E, E),
      ...layerNormRows(`${p}.ln_2`, `${o}.ln2`, E),
      ...linearRows(`${p}.mlp.c_fc`, `${o}.fc`, E, 4 * E),
      ...linearRows(`${p}.mlp.c_proj`, `${o}.proj`, 4 * E, E),
    ];
  };
  return oneToOne([
    { torch: 'transformer.wte.weight', ours: 'wte', shape: [V, E] },
    { torch: 'transformer.wpe.weight', ours: 'wpe', shape: [T, E] },
    ...Array.from({ length: L }, (_, k) => block(k)).flat(),
    ...layerNormRows('transformer.ln_f', 'lnf', E),
    ...linearRows('lm_head', 'head', E, V, false),
  ]);
}
