/**
 * What every model and layer with weights shares, written once: weights by name (parameters and
 * buffers such as BatchNorm's running statistics), the trainable ones in that order, loading (checked
 * before anything changes), counting and disposal.
 */
import { tf } from '../runtime/tf';
import { assignValue } from './init';

export abstract class Module {
  /** Everything the module owns, by a stable name (what a checkpoint saves). */
  abstract namedWeights(): Record<string, tf.Variable>;

  /** The trainable weights, in namedWeights() order. */
  params(): tf.Variable[] {
    return Object.values(this.namedWeights()).filter((v) => v.trainable);
  }

  /** Copies saved weights in by name; `w` stays the caller's to dispose. */
  loadWeights(w: Record<string, tf.Tensor>): void {
    loadNamedWeights(this.namedWeights(), w);
  }

  /** Trainable parameters (buffers not counted), as PyTorch's sum(p.numel() for p in parameters()). */
  numParams(): number {
    return this.params().reduce((s, p) => s + p.size, 0);
  }

  /** Every tensor a module owns is in namedWeights(): disposing those frees it all. */
  dispose(): void {
    for (const v of Object.values(this.namedWeights())) v.dispose();
  }
}

/** `{prefix.name: v}` for every weight of `m`: how containers name their parts' weights. */
export function prefixed(
  prefix: string,
  m: { namedWeights(): Record<string, tf.Variable> },
): Record<string, tf.Variable> {
  return Object.fromEntries(Object.entries(m.namedWeights()).map(([k, v]) => [`${prefix}.${k}`, v]));
}

/**
 * Loads weights by name into `vars` (every name must be present with the same shape; checked before
 * anything changes). The variables take their own reference to the data: the caller may dispose `w`.
 */
function loadNamedWeights(vars: Record<string, tf.Variable>, w: Record<string, tf.Tensor>): void {
  for (const [name, v] of Object.entries(vars)) {
    const src = w[name];
    if (!src) throw new Error(`saved weights lack '${name}'`);
    if (src.shape.join() !== v.shape.join())
      throw new Error(`saved '${name}' has shape [${src.shape}], the model expects [${v.shape}]`);
  }
  for (const [name, v] of Object.entries(vars)) assignValue(v, w[name] as tf.Tensor);
}
