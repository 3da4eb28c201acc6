// lib/backend/wasm/sum.ts: the patched wasm kernel gives the cpu backend's results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../../lib/runtime/tf';
import { close, onBoth } from '../../helpers/backends';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

test('wasm: sum over leading axes (bias gradients) gives the cpu results; other sums untouched', async () => {
  await initTf();
  const v = Array.from({ length: 8 * 16 * 40 }, (_, i) => Math.sin(i * 0.37));
  const [ref, got] = await onBoth(['Sum'], () => {
    const x = tf.tensor3d(v, [8, 16, 40]);
    return [x.sum([0, 1]), x.sum(0), x.sum([1, 0], true), x.sum(-1), x.sum([0, 2]), x.sum()];
  });
  assert.deepEqual(
    got.map((a) => a.length),
    [40, 640, 40, 128, 16, 1],
  );
  for (let k = 0; k < ref.length; k++) close(got[k]!, ref[k]!);
  // a column of the [0, 1] sum by hand
  const col = v.filter((_, i) => i % 40 === 3).reduce((p, q) => p + q, 0);
  assert.ok(Math.abs(got[0]![3]! - col) < 1e-3);
});
