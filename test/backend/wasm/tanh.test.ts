// lib/backend/wasm/tanh.ts: tanh as 2·sigmoid(2x) − 1 gives the cpu backend's values and gradients.
import { test } from 'node:test';
import { tf, initTf } from '../../../lib/runtime/tf';
import { close, onBoth } from '../../helpers/backends';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

test('wasm: tanh and its gradient match cpu, saturated tails included', async () => {
  await initTf();
  const values = Array.from({ length: 2001 }, (_, i) => (i - 1000) / 50); // −20 … 20
  const [ref, got] = await onBoth(['Tanh'], () => {
    const x = tf.tensor1d(values);
    return [tf.tanh(x), tf.grad((v: tf.Tensor) => tf.tanh(v).sum())(x)];
  });
  close(got[0]!, ref[0]!, 1e-6);
  close(got[1]!, ref[1]!, 1e-5);
});
