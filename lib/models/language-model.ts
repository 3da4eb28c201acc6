/**
 * The one interface every language model implements.
 */
import { tf } from '../runtime/tf';
import { countParameters, loadNamedWeights } from '../nn/weights';
import { crossEntropy } from '../nn/losses';
import { ModelConfig } from './zoo/config';

export interface LanguageModel {
  readonly config: ModelConfig | object;
  forward(idx: tf.Tensor2D, targets?: tf.Tensor2D): { logits: tf.Tensor3D; loss?: tf.Scalar };
  params(): tf.Variable[];
  namedWeights(): Record<string, tf.Tensor>;
  loadWeights(w: Record<string, tf.Tensor>): void;
  numParams(): number;
  dispose(): void;
}

/** Shared plumbing: parameters by name, loading, counting, disposal, loss. */
export abstract class Base implements LanguageModel {
  abstract readonly config: ModelConfig;
  abstract logits(idx: tf.Tensor2D): tf.Tensor3D;
  abstract namedWeights(): Record<string, tf.Variable>;
  forward(idx: tf.Tensor2D, targets?: tf.Tensor2D): { logits: tf.Tensor3D; loss?: tf.Scalar } {
    const logits = this.logits(idx);
    return { logits, loss: targets ? crossEntropy(logits, targets, -1) : undefined };
  }
  params(): tf.Variable[] {
    return Object.values(this.namedWeights());
  }
  loadWeights(w: Record<string, tf.Tensor>): void {
    loadNamedWeights(this.namedWeights(), w);
  }
  numParams(): number {
    return countParameters(this.params());
  }
  /** Every tensor a zoo model owns is a variable in namedWeights() (no buffers, no caches). */
  dispose(): void {
    for (const p of this.params()) p.dispose();
  }
}
