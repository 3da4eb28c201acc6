/**
 * The zoo's (and nanoGPT's) common shape: token ids [B, T] → logits [B, T, V]; the loss is the mean
 * cross-entropy over positions whose target is not −1 (padding after a word's end).
 */
import type { tf } from '../../runtime/tf';
import { crossEntropy } from '../../nn/losses';
import type { Chain } from '../../fused/step';
import { LanguageModelBase, type ForwardOptions } from '../language-model';
import type { ModelType } from '../configs';

export abstract class SequenceModel<T extends ModelType> extends LanguageModelBase<T> {
  readonly reads = 'sequence';
  abstract logits(idx: tf.Tensor2D, opts?: ForwardOptions): tf.Tensor3D;
  override forward(
    idx: tf.Tensor2D,
    targets?: tf.Tensor2D,
    opts: ForwardOptions = {},
  ): { logits: tf.Tensor3D; loss?: tf.Scalar } {
    const logits = this.logits(idx, opts);
    return { logits, loss: targets ? crossEntropy(logits, targets, -1) : undefined };
  }
}

/** PyTorch's nn.Linear initialisation, which makemore's models keep. */
export const TORCH_INIT = { init: { kind: 'uniform' } } as const;

/** A batch's ids and targets as they are: [rows, T] each, read in order. */
export const asIs: Chain['rows'] = (b) => ({ ids: b.X, targets: b.Y });
