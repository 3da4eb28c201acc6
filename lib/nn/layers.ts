/**
 * torch.nn-style layers, each in its own file with its tfjs forward and its fused half (lib/fused/frame.ts):
 * this module gathers the lecture stacks' layers and rebuilds them from their specs.
 */
import { Linear } from './linear';
import { BatchNorm1d } from './batchnorm';
import { Tanh } from './activations';
import { Embedding } from './embedding';
import { FlattenConsecutive } from './flatten';
import type { LayerSpec, SpecLayer } from './layer';
import type { Rng } from '../random/rng';

export { Linear } from './linear';
export { BatchNorm1d } from './batchnorm';
export { Tanh, GELU } from './activations';
export { Embedding } from './embedding';
export { FlattenConsecutive } from './flatten';
export { LayerNorm } from './layer-norm';
export type { Layer, LayerSpec, LinearInit, SpecLayer } from './layer';

/** Builds a layer from its spec (weights drawn from `rng` in the same order as the constructor call). */
export function layerFromSpec(s: LayerSpec, rng: Rng): SpecLayer {
  switch (s.kind) {
    case 'Linear':
      return new Linear(rng, s.fanIn, s.fanOut, { bias: s.bias, init: s.init });
    case 'BatchNorm1d':
      return new BatchNorm1d(s.dim, s.eps, s.momentum, s.gamma);
    case 'Tanh':
      return new Tanh();
    case 'Embedding':
      return new Embedding(rng, s.numEmbeddings, s.dim);
    case 'FlattenConsecutive':
      return new FlattenConsecutive(s.n);
  }
}
