// lib/backend/wasm/slice.ts: the patched wasm kernel gives the cpu backend's results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../../lib/runtime/tf';
import { close, onBoth } from '../../helpers/backends';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

test('wasm: slice, split and unstack (any axis, any rank) give the cpu results', async () => {
  await initTf();
  const v = Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i * 0.5 - 7);
  const [ref, got] = await onBoth(['Slice', 'SplitV', 'Unpack'], () => {
    const x = tf.tensor4d(v, [2, 3, 4, 5]);
    const m = tf.tensor2d(v.slice(0, 24), [4, 6]);
    return [
      x.slice([1, 0, 1, 2], [1, 3, 2, 3]),
      x.slice([0, 1], [-1, 2]),
      x.slice(1),
      ...tf.split(m, [1, 2, 3], 1),
      ...tf.split(m, 2, 0),
      ...tf.unstack(x, 2),
      ...tf.unstack(x.reshape([6, 4, 5]), 0),
      ...tf.unstack(m, 1),
    ];
  });
  assert.equal(got.length, ref.length);
  for (let k = 0; k < ref.length; k++) close(got[k]!, ref[k]!, 0);
});
