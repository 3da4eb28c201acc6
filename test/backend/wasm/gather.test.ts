// lib/backend/wasm/gather.ts (with segment-sum.ts: the gradient of an embedding lookup): the patched wasm kernel gives the cpu backend's results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../../lib/runtime/tf';
import { close, onBoth } from '../../helpers/backends';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

test('wasm: the gradient of gather (embedding lookup) works and matches cpu', async () => {
  await initTf();
  const C = [0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2];
  const [ref, got] = await onBoth(['GatherV2'], () => {
    const table = tf.tensor2d(C, [4, 3]);
    const idx = tf.tensor2d(
      [
        [0, 1, 1],
        [3, 0, 1],
      ],
      [2, 3],
      'int32',
    );
    const g = tf.grad((t: tf.Tensor) => tf.gather(t, idx).square().sum())(table);
    return [g];
  });
  close(got[0]!, ref[0]!);
  // row 1 is gathered three times, row 2 never
  assert.equal(got[0]![6], 0);
});
