// lib/backend/wasm/matmul.ts: the patched wasm kernel gives the cpu backend's results.
import { test } from 'node:test';
import { tf, initTf } from '../../../lib/runtime/tf';
import { close, onBoth } from '../../helpers/backends';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

test('wasm: transposed matMul and fused matMul give the cpu results', async () => {
  await initTf();
  const a = Array.from({ length: 6 * 5 }, (_, i) => Math.sin(i));
  const b = Array.from({ length: 5 * 4 }, (_, i) => Math.cos(i));
  const [ref, got] = await onBoth(['BatchMatMul', '_FusedMatMul'], () => {
    const A = tf.tensor2d(a, [6, 5]);
    const B = tf.tensor2d(b, [5, 4]);
    const At = A.transpose();
    const Bt = B.transpose();
    const bias = tf.tensor1d([1, 2, 3, 4]);
    return [
      tf.matMul(At, B, true, false),
      tf.matMul(A, Bt, false, true),
      tf.matMul(At, Bt, true, true),
      tf.fused.matMul({ a: At, b: Bt, transposeA: true, transposeB: true, bias, activation: 'relu' }),
      tf.matMul(tf.stack([A, A]), tf.stack([Bt, Bt]), false, true),
    ];
  });
  for (let k = 0; k < ref.length; k++) close(got[k]!, ref[k]!);
});
