/**
 * Embedding table + flatten + a stack of layers.
 */
import { tf } from '../../runtime/tf';
import { randnVariable } from '../../nn/init';
import { loadNamedWeights } from '../../nn/weights';
import type { Rng } from '../../random/rng';
import { Layer } from '../../nn/layers';

/** Embedding table + flatten + a stack of layers, for (context → next character) windows. */
export class Sequential {
  readonly C: tf.Variable;
  constructor(
    rng: Rng,
    readonly vocabSize: number,
    readonly blockSize: number,
    readonly nEmbd: number,
    readonly layers: Layer[],
  ) {
    this.C = randnVariable(rng, [vocabSize, nEmbd], 1, 'C');
  }

  /** Logits; with `keep`, each layer's output is pushed to it (kept alive: dispose them after use). */
  logits(X: tf.Tensor2D, training: boolean, keep?: tf.Tensor[]): tf.Tensor2D {
    let x: tf.Tensor = tf.gather(this.C, X).reshape([-1, this.blockSize * this.nEmbd]);
    for (const layer of this.layers) {
      x = layer.forward(x, training);
      if (keep) keep.push(tf.keep(x));
    }
    return x as tf.Tensor2D;
  }

  params(): tf.Variable[] {
    return [this.C, ...this.layers.flatMap((l) => l.params())];
  }

  /** Parameters and buffers by name: C, then `${layer index}.${name}` (e.g. 1.runningMean). */
  namedWeights(): Record<string, tf.Variable> {
    const out: Record<string, tf.Variable> = { C: this.C };
    this.layers.forEach((l, i) => {
      const named = l.namedWeights ? l.namedWeights() : Object.fromEntries(l.params().map((p, k) => [`p${k}`, p]));
      for (const [k, v] of Object.entries(named)) out[`${i}.${k}`] = v;
    });
    return out;
  }

  /** Copies weights (running statistics included) in by name; `w` stays the caller's to dispose. */
  loadWeights(w: Record<string, tf.Tensor>): void {
    loadNamedWeights(this.namedWeights(), w);
  }

  /** Everything in namedWeights(), so BatchNorm's running statistics go too. */
  dispose(): void {
    for (const v of Object.values(this.namedWeights())) v.dispose();
  }
}
