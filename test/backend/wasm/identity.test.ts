// lib/backend/patch-wasm.ts: Identity shares its input's buffer (reference-counted) instead of copying.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../../lib/runtime/tf';
import { isPatchedKernel } from '../../../lib/backend/patch-wasm';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

test('wasm: Identity shares the buffer, and each side can be disposed first', async () => {
  await initTf();
  await tf.setBackend('wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.ok(isPatchedKernel('Identity'), "the registered kernel is lib/backend's");
  const x = tf.tensor1d([1, 2, 3]);
  const y = tf.engine().runKernel('Identity', { x }) as tf.Tensor;
  assert.equal(y.dataId, x.dataId, 'no copy');
  x.dispose();
  assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3], 'the data outlives the input');
  y.dispose();
  const before = tf.memory().numBytes;
  const z = tf.tensor1d([4, 5]);
  (tf.engine().runKernel('Identity', { x: z }) as tf.Tensor).dispose();
  z.dispose();
  assert.equal(tf.memory().numBytes, before, 'the shared buffer is freed with its last reference');
});
