// lib/backend/wasm/one-hot.ts: tf.oneHot in any dtype gives the cpu backend's values on wasm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../../lib/runtime/tf';
import { onBoth } from '../../helpers/backends';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

test('wasm: oneHot as float32 (and with other on/off values) matches cpu; out-of-range ids are all off', async () => {
  await initTf();
  const [ref, got] = await onBoth(['OneHot'], () => {
    const ids = tf.tensor2d([0, 2, 1, 5, -1, 2], [2, 3], 'int32');
    return [tf.oneHot(ids, 3, 1, 0, 'float32'), tf.oneHot(ids, 3, 0.9, 0.05, 'float32'), tf.oneHot(ids, 3).toFloat()];
  });
  for (let k = 0; k < ref.length; k++) assert.deepEqual(Array.from(got[k]!), Array.from(ref[k]!), `case ${k}`);
  assert.deepEqual(Array.from(got[0]!.slice(0, 9)), [1, 0, 0, 0, 0, 1, 0, 1, 0]);
  assert.deepEqual(Array.from(got[0]!.slice(9, 15)), [0, 0, 0, 0, 0, 0], 'ids 5 and −1 are out of range');
});
