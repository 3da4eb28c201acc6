/**
 * y = x + branch(x): the residual connection around a chain of layers. Its fused half runs the
 * branch's fused halves and adds; the backward gives dx = dy + the branch's dx.
 */
import type { tf } from '../runtime/tf';
import type { Frame } from '../backend/native/loader';
import { Module } from './module';
import { fuseChain, type Act, type FusedLayer, type StepFrame } from '../fused/frame';
import { runLayers, type Layer } from './layer';
import type { Rng } from '../random/rng';

export class Residual extends Module implements Layer {
  constructor(readonly branch: readonly Layer[]) {
    super();
  }
  forward(x: tf.Tensor, training = false, rng?: Rng): tf.Tensor {
    return x.add(runLayers(this.branch, x, training, rng));
  }
  fused(): FusedLayer | null {
    const branch = fuseChain(this.branch);
    return branch && new FusedResidual(branch);
  }
  /** The branch's weights by position in it (the model that owns the layers names them its own way). */
  namedWeights(): Record<string, tf.Variable> {
    return Object.assign(
      {},
      ...this.branch.map((l, i) =>
        Object.fromEntries(Object.entries(l.namedWeights()).map(([k, v]) => [`${i}.${k}`, v])),
      ),
    ) as Record<string, tf.Variable>;
  }
}

class FusedResidual implements FusedLayer {
  constructor(private readonly branch: FusedLayer[]) {}
  forward(f: StepFrame, x: Act): Act {
    let h = x;
    for (const l of this.branch) h = l.forward(f, h);
    const y = f.act(x.rows, x.width);
    f.k.axpby(x.at, h.at, y.at, x.rows * x.width, 1, 1);
    return y;
  }
  backward(f: StepFrame, dy: Act): Act {
    let d = dy;
    for (let i = this.branch.length - 1; i >= 0; i--) d = this.branch[i]!.backward(f, d);
    const dx = f.act(dy.rows, dy.width);
    f.k.axpby(dy.at, d.at, dx.at, dy.rows * dy.width, 1, 1);
    return dx;
  }
  commit(f: StepFrame): void {
    for (const l of this.branch) l.commit?.(f);
  }
  writeBack(f: Frame): void {
    for (const l of this.branch) l.writeBack?.(f);
  }
}
