/**
 * What the ops with hand-written gradients share: the function type tf.customGrad takes.
 */
import { tf } from '../runtime/tf';

export type Grad = Parameters<typeof tf.customGrad>[0];
