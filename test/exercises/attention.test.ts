// lib/exercises/attention: the causal-mask, attention-head and multi-head checks accept correct answers,
// name the usual slips (transposed or 0/1 mask, no scaling, no mask, heads cut wrongly), report stubs
// as unanswered and leave the tensor count flat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { run } from '../helpers/checks';
import { checkCausalMask, checkAttentionHead, checkMultiHeadAttention } from '../../lib/exercises/attention';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

function causal(T: number): tf.Tensor {
  const allowed = tf.linalg.bandPart(tf.ones([T, T]), -1, 0).equal(1);
  return tf.where(allowed, tf.zeros([T, T]), tf.fill([T, T], -Infinity));
}

function multiHead(o: { scale?: boolean; masked?: boolean; scaleByE?: boolean } = {}) {
  return (qkv: tf.Tensor3D, nHead: number) => {
    const [B, T, C3] = qkv.shape;
    const E = C3 / 3;
    const hs = E / nHead;
    const [q, k, v] = tf
      .split(qkv, 3, 2)
      .map((t) => t.reshape([B, T, nHead, hs]).transpose([0, 2, 1, 3])) as tf.Tensor4D[];
    let s = tf.matMul(q!, k!, false, true);
    if (o.scale ?? true) s = s.div(Math.sqrt(o.scaleByE ? E : hs));
    if (o.masked ?? true) s = s.add(causal(T));
    return tf.matMul(tf.softmax(s), v!).transpose([0, 2, 1, 3]).reshape([B, T, E]);
  };
}

const head =
  (o: { scale?: boolean; masked?: boolean } = {}) =>
  (x: tf.Tensor3D, Wq: tf.Tensor2D, Wk: tf.Tensor2D, Wv: tf.Tensor2D) => {
    const qkv = tf.concat([x.matMul(Wq), x.matMul(Wk), x.matMul(Wv)], 2) as tf.Tensor3D;
    return multiHead(o)(qkv, 1);
  };

test('causal mask: accepts 0 / −∞; names a transposed mask, a 0/1 mask and a masked diagonal', async () => {
  await initTf();
  assert.equal(run(() => checkCausalMask(causal)).status, 'passed');
  assert.equal(run(() => checkCausalMask((T) => causal(T).maximum(-1e9))).status, 'passed', '−1e9 is accepted as well');
  assert.match(run(() => checkCausalMask((T) => causal(T).transpose())).message, /causalMask\(5\) is transposed/);
  assert.match(
    run(() => checkCausalMask((T) => tf.linalg.bandPart(tf.ones([T, T]), -1, 0))).message,
    /holds 1 where reading is allowed and 0 where not/,
  );
  const diag = run(() =>
    checkCausalMask((T) =>
      causal(T)
        .add(tf.eye(T).mul(-Infinity))
        .where(tf.eye(T).equal(0), tf.fill([T, T], -Infinity)),
    ),
  );
  assert.match(
    diag.message,
    /^causalMask\(5\)\[0, 0\] is −Infinity: position 0 may read position 0 \(itself\), so the entry must be 0/,
  );
  assert.match(
    run(() => checkCausalMask((T) => tf.zeros([T, T + 1]))).message,
    /causalMask\(5\) has shape \[5, 6\]; expected \[T, T\] = \[5, 5\]/,
  );
  assert.equal(run(() => checkCausalMask(() => undefined)).status, 'unanswered');
});

test('attention head: accepts softmax(q·kᵀ/√hs + mask)·v; names a missing scale and a missing mask', async () => {
  await initTf();
  assert.equal(run(() => checkAttentionHead(head())).status, 'passed');
  assert.match(
    run(() => checkAttentionHead(head({ scale: false }))).message,
    /^the head’s output: first differs at \[0, \d, \d\]: .*The scores are not scaled/,
  );
  assert.match(
    run(() => checkAttentionHead(head({ masked: false }))).message,
    /No mask: every position also reads its future/,
  );
  assert.match(
    run(() => checkAttentionHead((x) => x)).message,
    /has shape \[2, 6, 12\]; expected \[B, T, head size\] = \[2, 6, 4\]/,
  );
  assert.equal(run(() => checkAttentionHead(undefined)).status, 'unanswered');
});

test('multi-head attention: accepts the transformer’s attention; names heads cut by a bare reshape and √E scaling', async () => {
  await initTf();
  assert.equal(run(() => checkMultiHeadAttention(multiHead())).status, 'passed');
  const bareReshape = (qkv: tf.Tensor3D, nHead: number) => {
    const [B, T, C3] = qkv.shape;
    const E = C3 / 3;
    const [q, k, v] = tf.split(qkv, 3, 2).map((t) => t.reshape([B, nHead, T, E / nHead])) as tf.Tensor4D[];
    const s = tf
      .matMul(q!, k!, false, true)
      .div(Math.sqrt(E / nHead))
      .add(causal(T));
    return tf.matMul(tf.softmax(s), v!).transpose([0, 2, 1, 3]).reshape([B, T, E]);
  };
  assert.match(
    run(() => checkMultiHeadAttention(bareReshape)).message,
    /^the output for 4 heads: first differs .*The heads are cut wrongly: reshape each of q, k, v to \[B, T, nHead, 4\]/,
  );
  const sqrtE = multiHead({ scaleByE: true });
  assert.match(
    run(() => checkMultiHeadAttention(sqrtE)).message,
    /You scaled by √E = √16; each head scales by √\(head size\) = √4/,
  );
  assert.equal(run(() => checkMultiHeadAttention(() => undefined)).status, 'unanswered');
});
