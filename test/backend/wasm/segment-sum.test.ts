// lib/backend/wasm/segment-sum.ts: the patched wasm kernel gives the cpu backend's results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../../lib/runtime/tf';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

test('wasm: unsortedSegmentSum directly, with repeated and out-of-range ids', async () => {
  await initTf();
  await tf.setBackend('wasm');
  const out = tf.unsortedSegmentSum(
    tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
    ]),
    tf.tensor1d([2, 0, 2, 1], 'int32'),
    3,
  );
  assert.deepEqual(out.arraySync(), [
    [3, 4],
    [7, 8],
    [6, 8],
  ]);
  out.dispose();
});
