/**
 * Notebook 09's exercises, on the transformer's attention: the causal mask, one attention head from its
 * three projections (checked against lib's attention with one head) and multi-head attention on the
 * fused q, k, v (checked against the op the transformer runs).
 */
import { tf } from '../runtime/tf';
import { attentionReference, causalSelfAttention } from '../ops/attention';
import { TorchGenerator } from '../random/torch-generator';
import { expect, type Verdict } from './check';
import { expectClose, expectTensor, gradeTidy, num, randomTensor } from './compare-tensors';

/** T → the additive mask [T, T]: 0 where position t may read position s (s ≤ t), −∞ (or ≤ −1e9) where not. */
export type CausalMask = (T: number) => tf.Tensor | undefined;
/** One causal attention head: x [B, T, C] and projections Wq, Wk, Wv [C, hs] → [B, T, hs]. */
export type AttentionHead = (
  x: tf.Tensor3D,
  Wq: tf.Tensor2D,
  Wk: tf.Tensor2D,
  Wv: tf.Tensor2D,
) => tf.Tensor | undefined;
/** Multi-head causal attention: qkv [B, T, 3E] (queries, keys, values side by side), nHead → [B, T, E]. */
export type MultiHeadAttention = (qkv: tf.Tensor3D, nHead: number) => tf.Tensor | undefined;

/** Checks a causal mask for T = 1, 5 and 16: every entry, with the positions it concerns. */
export function checkCausalMask(causalMask: CausalMask | undefined): Verdict {
  return gradeTidy(
    '09·1 causal mask',
    causalMask,
    (f) => {
      for (const T of [5, 16, 1]) {
        const got = f(T);
        expectTensor(`causalMask(${T})`, got, [T, T], 'T, T');
        const m = got.arraySync() as number[][];
        const masked = (v: number) => v <= -1e9;
        if (T > 1) {
          const row0 = m[0] as number[];
          const row1 = m[1] as number[];
          expect(
            !(masked(row1[0] as number) && row0[1] === 0),
            `causalMask(${T}) is transposed: row t is the position that reads, column s the position read, so the future (s > t) is above the diagonal`,
          );
          expect(
            !(row0[0] === 1 && row0[1] === 0),
            `causalMask(${T}) holds 1 where reading is allowed and 0 where not: this mask is added to the scores before the softmax, so it must be 0 where allowed and −Infinity (or ≤ −1e9) where not`,
          );
        }
        for (let t = 0; t < T; t++)
          for (let s = 0; s < T; s++) {
            const v = (m[t] as number[])[s] as number;
            if (s <= t)
              expect(
                v === 0,
                `causalMask(${T})[${t}, ${s}] is ${num(v)}: position ${t} may read position ${s}${s === t ? ' (itself)' : ' (its past)'}, so the entry must be 0`,
              );
            else
              expect(
                masked(v),
                `causalMask(${T})[${t}, ${s}] is ${num(v)}: position ${t} must not read position ${s} (its future), so the entry must be −Infinity (or ≤ −1e9)`,
              );
          }
      }
      return 'right for T = 1, 5 and 16';
    },
    (f) => f(2),
  );
}

/**
 * Attention from tensor ops with switches for the usual mistakes (all off: makemore's attention).
 * qkv [B, T, 3E] → [B, T, E].
 */
function attentionVariant(
  qkv: tf.Tensor3D,
  nHead: number,
  o: { scaleBy?: number; causal?: boolean; noTranspose?: boolean; softmaxAxis?: number },
): tf.Tensor3D {
  const [B, T, C3] = qkv.shape;
  const E = C3 / 3;
  const hs = E / nHead;
  const heads = (t: tf.Tensor) =>
    (o.noTranspose
      ? t.reshape([B, nHead, T, hs])
      : t.reshape([B, T, nHead, hs]).transpose([0, 2, 1, 3])) as tf.Tensor4D;
  const [q, k, v] = tf.split(qkv, 3, -1).map(heads) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
  let scores = tf.matMul(q, k, false, true).mul(1 / Math.sqrt(o.scaleBy ?? hs));
  if (o.causal ?? true)
    scores = scores.add(
      tf.linalg
        .bandPart(tf.ones([T, T]), -1, 0)
        .sub(1)
        .mul(1e9),
    );
  const att = tf.softmax(o.softmaxAxis === 2 ? scores.transpose([0, 1, 3, 2]) : scores);
  const a = (o.softmaxAxis === 2 ? att.transpose([0, 1, 3, 2]) : att) as tf.Tensor4D;
  return tf.matMul(a, v).transpose([0, 2, 1, 3]).reshape([B, T, E]) as tf.Tensor3D;
}

/** Checks one causal attention head against lib's attention (one head) on random inputs. */
export function checkAttentionHead(head: AttentionHead | undefined): Verdict {
  const B = 2;
  const T = 6;
  const C = 12;
  const hs = 4;
  const inputs = (seed: number) => {
    const g = new TorchGenerator(seed);
    const x = randomTensor(g, [B, T, C]) as tf.Tensor3D;
    const [Wq, Wk, Wv] = [0, 1, 2].map(() => randomTensor(g, [C, hs], 1 / Math.sqrt(C)) as tf.Tensor2D) as [
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Tensor2D,
    ];
    return { x, Wq, Wk, Wv };
  };
  return gradeTidy(
    '09·2 one attention head',
    head,
    (f) => {
      const { x, Wq, Wk, Wv } = inputs(11);
      const got = f(x, Wq, Wk, Wv);
      expectTensor('the head’s output', got, [B, T, hs], 'B, T, head size');
      const x2 = x.reshape([B * T, C]);
      const qkv = tf.concat([x2.matMul(Wq), x2.matMul(Wk), x2.matMul(Wv)], 1).reshape([B, T, 3 * hs]) as tf.Tensor3D;
      expectClose('the head’s output', got, attentionReference(qkv, 1), {
        shape: [B, T, hs],
        reference: "lib's attention",
        mistakes: [
          {
            value: attentionVariant(qkv, 1, { scaleBy: 1 }),
            hint: 'The scores are not scaled: divide q·kᵀ by √(head size).',
          },
          {
            value: attentionVariant(qkv, 1, { scaleBy: C }),
            hint: 'You scaled by √C (the embedding size); the scale is √(head size).',
          },
          {
            value: attentionVariant(qkv, 1, { causal: false }),
            hint: 'No mask: every position also reads its future.',
          },
          {
            value: attentionVariant(qkv, 1, { softmaxAxis: 2 }),
            hint: 'The softmax runs over the wrong axis: each row (one reading position) must sum to 1 over the positions it reads (the last axis).',
          },
        ],
      });
      return "equal to lib's attention with one head on a random batch [2, 6, 12], head size 4";
    },
    (f) => {
      const { x, Wq, Wk, Wv } = inputs(12);
      return f(x, Wq, Wk, Wv);
    },
  );
}

/** Checks multi-head causal attention on a fused qkv against the transformer's attention op, for 1, 2 and 4 heads. */
export function checkMultiHeadAttention(attention: MultiHeadAttention | undefined): Verdict {
  const B = 2;
  const T = 7;
  const E = 16;
  return gradeTidy(
    '09·3 multi-head attention',
    attention,
    (f) => {
      const qkv = randomTensor(new TorchGenerator(21), [B, T, 3 * E]) as tf.Tensor3D;
      for (const nHead of [4, 2, 1]) {
        const got = f(qkv, nHead);
        expectTensor(`the output for ${nHead} heads`, got, [B, T, E], 'B, T, E');
        const hs = E / nHead;
        expectClose(`the output for ${nHead} heads`, got, causalSelfAttention(qkv, nHead), {
          shape: [B, T, E],
          reference: "the transformer's attention",
          mistakes: [
            {
              value: attentionVariant(qkv, nHead, { noTranspose: true }),
              hint: `The heads are cut wrongly: reshape each of q, k, v to [B, T, nHead, ${hs}] and then transpose to [B, nHead, T, ${hs}] (reshaping straight to [B, nHead, T, ${hs}] mixes positions).`,
            },
            {
              value: attentionVariant(qkv, nHead, { scaleBy: E }),
              hint: `You scaled by √E = √${E}; each head scales by √(head size) = √${hs}.`,
            },
            {
              value: attentionVariant(qkv, nHead, { scaleBy: 1 }),
              hint: 'The scores are not scaled: divide by √(head size).',
            },
            {
              value: attentionVariant(qkv, nHead, { causal: false }),
              hint: 'No mask: every position also reads its future.',
            },
          ],
        });
      }
      return "equal to the transformer's attention op for 4, 2 and 1 heads on a random qkv [2, 7, 48]";
    },
    (f) => f(randomTensor(new TorchGenerator(22), [1, 3, 12]) as tf.Tensor3D, 2),
  );
}
