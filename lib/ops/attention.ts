/**
 * Causal multi-head self-attention as one op with a hand-written gradient (our SIMD wasm kernel),
 * and the op-by-op reference it is tested against.
 */
import { tf } from '../runtime/tf';
import { Frame, tensorFrom, valuesOf } from '../backend/native/loader';
import type { Grad } from './shared';

/** The kernels keep one row of scores on the stack. */
export const MAX_T = 64;

/**
 * qkv: [B, T, 3E] (queries, keys, values side by side, as makemore's c_attn produces them; head h uses
 * columns h·hs … (h+1)·hs of each third). Returns the heads' outputs side by side: [B, T, E].
 */
export function causalSelfAttention(qkv: tf.Tensor3D, nHead: number): tf.Tensor3D {
  const [B, T, C3] = qkv.shape;
  const E = C3 / 3;
  if (!Number.isInteger(E) || E % nHead !== 0)
    throw new Error(`attention: last axis ${C3} is not 3 × a multiple of ${nHead} heads`);
  if (T > MAX_T) return attentionReference(qkv, nHead);
  const hs = E / nHead;
  const scale = 1 / Math.sqrt(hs);
  const op = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    const f = new Frame();
    const inp = f.put(x.size, valuesOf(x));
    const probs = f.put(B * nHead * T * T);
    const y = f.put(B * T * E);
    f.k.attn_forward(inp, probs, y, B, T, nHead, hs, scale);
    const p = f.take(probs, B * nHead * T * T);
    return {
      value: tensorFrom(f, y, [B, T, E]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const g = new Frame();
        const a = g.put(B * T * C3, valuesOf(saved[0] as tf.Tensor));
        const pp = g.put(p.length, p);
        const d = g.put(B * T * E, valuesOf(dy));
        const dx = g.put(B * T * C3);
        g.k.attn_backward(a, pp, d, dx, B, T, nHead, hs, scale);
        return tensorFrom(g, dx, [B, T, C3]);
      },
    };
  }) as unknown as Grad);
  return op(qkv) as tf.Tensor3D;
}

/**
 * The same attention from tensor ops (makemore's CausalSelfAttention.forward after c_attn). `onWeights`
 * transforms the attention weights [B, nHead, T, T] before they mix the values: dropout while training.
 */
export function attentionReference(
  qkv: tf.Tensor3D,
  nHead: number,
  onWeights?: (att: tf.Tensor4D) => tf.Tensor4D,
): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, T, C3] = qkv.shape;
    const E = C3 / 3;
    const hs = E / nHead;
    const mask = tf.linalg
      .bandPart(tf.ones([T, T]), -1, 0)
      .sub(1)
      .mul(1e9);
    const [q, k, v] = tf.split(qkv, 3, -1).map((t) => t.reshape([B, T, nHead, hs]).transpose([0, 2, 1, 3])) as [
      tf.Tensor4D,
      tf.Tensor4D,
      tf.Tensor4D,
    ];
    const weights = tf.softmax(
      tf
        .matMul(q, k, false, true)
        .mul(1 / Math.sqrt(hs))
        .add(mask),
    ) as tf.Tensor4D;
    const att = onWeights ? onWeights(weights) : weights;
    return tf
      .matMul(att as tf.Tensor4D, v)
      .transpose([0, 2, 1, 3])
      .reshape([B, T, E]) as tf.Tensor3D;
  });
}
