// lib/backend/wasm/segment-sum.ts: the patched wasm kernel gives the cpu backend's results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../../lib/runtime/tf';
import { isPatchedKernel } from '../../../lib/backend/patch-wasm';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

test('wasm: unsortedSegmentSum directly, with repeated and out-of-range ids', async () => {
  await initTf();
  await tf.setBackend('wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.ok(isPatchedKernel('UnsortedSegmentSum'), "the registered kernel is lib/backend's");
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
