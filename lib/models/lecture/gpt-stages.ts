/**
 * The models "Let's build GPT" trains on the way to its GPT (notebook 12), each a chain of lib/nn layers
 * over a sequence (ids [B, T] → logits [B, T, V]) described by a few switches, so that each stage is the
 * previous one plus one idea: the bigram table; token and position embeddings with one attention head;
 * several heads; a feed-forward layer; blocks of both; residual connections (with the projections the
 * lecture adds with them); pre-norm LayerNorm. Weights start as PyTorch's defaults do (the lecture's
 * stages predate gpt.py's N(0, 0.02) initialisation): embeddings ~ randn, Linear ~ U(±1/√fanIn).
 */
import { tf } from '../../runtime/tf';
import { randnVariable } from '../../nn/init';
import { crossEntropy } from '../../nn/losses';
import { Embedding } from '../../nn/embedding';
import { AddPositions } from '../../nn/positions';
import { CausalSelfAttention } from '../../nn/attention';
import { attentionReference } from '../../ops/attention';
import { Linear } from '../../nn/linear';
import { LayerNorm } from '../../nn/layer-norm';
import { ReLU } from '../../nn/activations';
import { Residual } from '../../nn/residual';
import { runLayers, type Layer } from '../../nn/layer';
import type { Chain } from '../../fused/step';
import type { Rng } from '../../random/rng';
import type { GptStageConfig } from '../configs';
import { LanguageModelBase, type ForwardOptions } from '../language-model';
import { layerNormRows, linearRows, oneToOne, type Row, type StateDictLayout } from '../torch-names';

export type { GptStageConfig };

const TORCH = { init: { kind: 'uniform' } } as const;

function check(c: GptStageConfig): void {
  const whole = (k: keyof GptStageConfig, min: number) => {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
      throw new Error(`gpt-stage: ${k} must be a whole number ≥ ${min}, got ${JSON.stringify(v)}`);
  };
  whole('vocabSize', 1);
  whole('blockSize', 1);
  whole('nEmbd', 0);
  whole('nHead', 0);
  whole('nLayer', 0);
  if (c.nEmbd === 0 && (c.nHead > 0 || c.nLayer > 0 || c.ffwd !== 'none' || c.residual || c.layerNorm))
    throw new Error(
      'gpt-stage: nEmbd 0 is the bigram table alone: nHead, nLayer 0, ffwd none, no residual or layerNorm',
    );
  if (c.nEmbd > 0 && (c.nHead < 1 || c.nLayer < 1 || c.nEmbd % c.nHead !== 0))
    throw new Error(
      `gpt-stage: nEmbd ${c.nEmbd} needs nLayer ≥ 1 and nHead ≥ 1 dividing it, got nHead ${c.nHead}, nLayer ${c.nLayer}`,
    );
  if (!['none', 'linear', 'mlp'].includes(c.ffwd))
    throw new Error(`gpt-stage: ffwd must be 'none', 'linear' or 'mlp', got ${JSON.stringify(c.ffwd)}`);
  if (c.residual && c.ffwd === 'linear')
    throw new Error("gpt-stage: the residual blocks' feed-forward is the 4× MLP (ffwd 'mlp'), not 'linear'");
  if (c.layerNorm && !c.residual)
    throw new Error('gpt-stage: layerNorm is pre-norm inside residual blocks: set residual');
}

/** One block's layers: attention then feed-forward, each as a residual branch or one after the other. */
function block(rng: Rng, c: GptStageConfig): Layer[] {
  const E = c.nEmbd;
  // the lecture's Head has key, query and value Linear layers without bias: here one Linear makes all three
  const attention: Layer[] = [
    new Linear(rng, E, 3 * E, { ...TORCH, bias: false }),
    new CausalSelfAttention(c.nHead, c.blockSize),
  ];
  if (!c.residual) {
    const ffwd = c.ffwd === 'linear' ? [new Linear(rng, E, E, TORCH), new ReLU()] : [];
    return [...attention, ...ffwd];
  }
  const norm = (): Layer[] => (c.layerNorm ? [new LayerNorm(E)] : []);
  // with residual connections each branch ends in a projection back into the residual stream
  const sa = [...norm(), ...attention, new Linear(rng, E, E, TORCH)];
  const ffwd =
    c.ffwd === 'mlp' ? [...norm(), new Linear(rng, E, 4 * E, TORCH), new ReLU(), new Linear(rng, 4 * E, E, TORCH)] : [];
  return ffwd.length ? [new Residual(sa), new Residual(ffwd)] : [new Residual(sa)];
}

export class GptStage extends LanguageModelBase<'gpt-stage'> {
  readonly type = 'gpt-stage';
  readonly reads = 'sequence';
  /** The chain from ids to logits, which the forward and the fused step both walk. */
  readonly layers: Layer[];
  constructor(
    readonly config: GptStageConfig,
    rng: Rng,
  ) {
    super();
    check(config);
    const { vocabSize: V, blockSize: T, nEmbd: E } = config;
    if (E === 0) {
      this.layers = [new Embedding(rng, V, V)]; // the bigram: each character reads its row of next-character logits
    } else {
      const wte = new Embedding(rng, V, E);
      const wpe = randnVariable(rng, [T, E], 1, 'wpe');
      const blocks = Array.from({ length: config.nLayer }, () => block(rng, config)).flat();
      this.layers = [
        wte,
        new AddPositions(wpe),
        ...blocks,
        ...(config.layerNorm ? [new LayerNorm(E)] : []),
        new Linear(rng, E, V, TORCH),
      ];
    }
  }
  forward(
    idx: tf.Tensor2D,
    targets?: tf.Tensor2D,
    opts: ForwardOptions = {},
  ): { logits: tf.Tensor3D; loss?: tf.Scalar } {
    if (idx.shape[1] > this.config.blockSize)
      throw new Error(
        `gpt-stage: a sequence of ${idx.shape[1]} is longer than the block size ${this.config.blockSize}`,
      );
    const logits = runLayers(this.layers, idx, opts.training ?? false, opts.rng) as tf.Tensor3D;
    return { logits, loss: targets ? crossEntropy(logits, targets) : undefined };
  }
  /**
   * Each block's attention weights for `idx` [B, T], [B, nHead, T, T]: row t is how much position t takes
   * from each position ≤ t (softmax of q·k/√head size, causal), computed op by op as the fused op does.
   */
  attentionWeights(idx: tf.Tensor2D): tf.Tensor4D[] {
    return tf.tidy(() => {
      const out: tf.Tensor4D[] = [];
      const walk = (layers: readonly Layer[], x: tf.Tensor): tf.Tensor => {
        for (const l of layers) {
          if (l instanceof Residual) {
            x = x.add(walk(l.branch, x));
            continue;
          }
          if (l instanceof CausalSelfAttention)
            attentionReference(x as tf.Tensor3D, l.nHead, (att) => (out.push(tf.keep(att)), att));
          x = l.forward(x);
        }
        return x;
      };
      walk(this.layers, idx);
      return out;
    });
  }
  chain(): Chain {
    return { layers: this.layers, rows: (b) => ({ ids: b.X, targets: b.Y }) };
  }
  /** `${layer index}.${name}`, and `${layer}.${branch layer}.${name}` inside a residual connection. */
  namedWeights(): Record<string, tf.Variable> {
    const out: Record<string, tf.Variable> = {};
    this.layers.forEach((l, i) => {
      for (const [k, v] of Object.entries(l.namedWeights())) out[`${i}.${k}`] = v;
    });
    return out;
  }
}

/**
 * A stage's weights as saved, from its config alone. The lecture's stages have no PyTorch class of ours to
 * load into, so the names are the chain's as nn.Sequential would give them (`layers.{i}[.{j}].weight`), each
 * Linear's weight as nn.Linear keeps it ([out, in]).
 */
export function gptStageStateDict(c: GptStageConfig): StateDictLayout {
  check(c);
  const { vocabSize: V, blockSize: T, nEmbd: E } = c;
  const torch = (ours: string) => `layers.${ours}`;
  const linear = (at: string, fanIn: number, fanOut: number, bias = true): Row[] =>
    linearRows(torch(at), at, fanIn, fanOut, bias);
  const norm = (at: string): Row[] => layerNormRows(torch(at), at, E);
  if (E === 0) return oneToOne([{ torch: torch('0.weight'), ours: '0.weight', shape: [V, V] }]);
  const rows: Row[] = [
    { torch: torch('0.weight'), ours: '0.weight', shape: [V, E] },
    { torch: torch('1.wpe'), ours: '1.wpe', shape: [T, E] },
  ];
  let i = 2;
  for (let k = 0; k < c.nLayer; k++) {
    if (!c.residual) {
      rows.push(...linear(`${i}`, E, 3 * E, false));
      i += 2; // the attention layer after it has no weights
      if (c.ffwd === 'linear') {
        rows.push(...linear(`${i}`, E, E));
        i += 2; // nor the ReLU
      }
      continue;
    }
    const ln = c.layerNorm ? 1 : 0;
    if (ln) rows.push(...norm(`${i}.0`));
    rows.push(...linear(`${i}.${ln}`, E, 3 * E, false), ...linear(`${i}.${ln + 2}`, E, E));
    i += 1;
    if (c.ffwd === 'mlp') {
      if (ln) rows.push(...norm(`${i}.0`));
      rows.push(...linear(`${i}.${ln}`, E, 4 * E), ...linear(`${i}.${ln + 2}`, 4 * E, E));
      i += 1;
    }
  }
  if (c.layerNorm) rows.push(...norm(`${i++}`));
  rows.push(...linear(`${i}`, E, V));
  return oneToOne(rows);
}
