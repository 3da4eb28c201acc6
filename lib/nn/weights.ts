/**
 * Named weights: loading (checked before anything changes) and counting.
 */
import { tf } from '../runtime/tf';
import { assignValue } from './init';

/**
 * Loads weights by name into `vars` (every name must be present with the same shape; checked before
 * anything changes). The variables take their own reference to the data: the caller may dispose `w`.
 */
export function loadNamedWeights(vars: Record<string, tf.Variable>, w: Record<string, tf.Tensor>): void {
  for (const [name, v] of Object.entries(vars)) {
    const src = w[name];
    if (!src) throw new Error(`saved weights lack '${name}'`);
    if (src.shape.join() !== v.shape.join())
      throw new Error(`saved '${name}' has shape [${src.shape}], the model expects [${v.shape}]`);
  }
  for (const [name, v] of Object.entries(vars)) assignValue(v, w[name] as tf.Tensor);
}

export function countParameters(params: readonly tf.Tensor[]): number {
  return params.reduce((s, p) => s + p.size, 0);
}
