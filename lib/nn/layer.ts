/**
 * What every layer of lib/nn is: a Module (weights by name) with a tfjs forward and, in the same file,
 * its fused half (lib/fused/frame.ts) — the one definition both the ops and the fused step run. A
 * model is a chain of layers (lib/models): its forward walks them with tfjs, lib/fused/step.ts walks
 * their fused halves.
 */
import type { tf } from '../runtime/tf';
import type { Fusable } from '../fused/frame';
import type { Rng } from '../random/rng';

/** How a Linear's weights start. */
export type LinearInit =
  /** PyTorch's nn.Linear: W and b ~ U(±1/√fanIn) (the makemore zoo). */
  | { kind: 'uniform' }
  /** Kaiming: W ~ randn·gain/√fanIn (gain 5/3 suits tanh), b = 0 (the lecture's "MLP done right"). */
  | { kind: 'kaiming'; gain: number }
  /** W ~ randn·scale, b = 0 (e.g. 0.01 for a last layer that should start near uniform). */
  | { kind: 'randn'; scale: number };

/** A lecture stack's layer as plain data (a Sequential's config): layerFromSpec rebuilds it. */
export type LayerSpec =
  | { kind: 'Linear'; fanIn: number; fanOut: number; bias: boolean; init: LinearInit }
  | { kind: 'BatchNorm1d'; dim: number; eps: number; momentum: number; gamma: number }
  | { kind: 'Tanh' }
  | { kind: 'Embedding'; numEmbeddings: number; dim: number }
  | { kind: 'FlattenConsecutive'; n: number };

export interface Layer extends Fusable {
  /** The layer as plain data, for the layers a lecture Sequential can save and rebuild. */
  readonly spec?: LayerSpec;
  /** The tfjs forward. `training`: BatchNorm's batch statistics, dropout's masks (drawn from `rng`). */
  forward(x: tf.Tensor, training?: boolean, rng?: Rng): tf.Tensor;
  params(): tf.Variable[];
  namedWeights(): Record<string, tf.Variable>;
}

/** A layer a lecture Sequential can hold: it describes itself as a LayerSpec. */
export interface SpecLayer extends Layer {
  readonly spec: LayerSpec;
}

/** Runs `layers` in order with tfjs: x through each forward. */
export function runLayers(layers: readonly Layer[], x: tf.Tensor, training = false, rng?: Rng): tf.Tensor {
  for (const l of layers) x = l.forward(x, training, rng);
  return x;
}
