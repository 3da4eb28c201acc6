import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-4): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++)
    assert.ok(
      Math.abs((a[i] as number) - (b[i] as number)) <= tol * (1 + Math.abs(b[i] as number)),
      `at ${i}: ${a[i]} vs ${b[i]}`,
    );
}

/** Runs f on the cpu backend (reference) and on wasm, returning both results as arrays. */
async function onBoth(f: () => tf.Tensor[]): Promise<[Float32Array[], Float32Array[]]> {
  await tf.setBackend('cpu');
  const ref = tf.tidy(f).map((t) => {
    const d = t.dataSync() as Float32Array;
    t.dispose();
    return d;
  });
  await tf.setBackend('wasm');
  const got = tf.tidy(f).map((t) => {
    const d = t.dataSync() as Float32Array;
    t.dispose();
    return d;
  });
  return [ref, got];
}

test('wasm: the gradient of gather (embedding lookup) works and matches cpu', async () => {
  await initTf();
  const C = [0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2];
  const [ref, got] = await onBoth(() => {
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

test('wasm: transposed matMul and fused matMul give the cpu results', async () => {
  await initTf();
  const a = Array.from({ length: 6 * 5 }, (_, i) => Math.sin(i));
  const b = Array.from({ length: 5 * 4 }, (_, i) => Math.cos(i));
  const [ref, got] = await onBoth(() => {
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

test('wasm: slice, split and unstack (any axis, any rank) give the cpu results', async () => {
  await initTf();
  const v = Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i * 0.5 - 7);
  const [ref, got] = await onBoth(() => {
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

test('wasm: sum over leading axes (bias gradients) gives the cpu results; other sums untouched', async () => {
  await initTf();
  const v = Array.from({ length: 8 * 16 * 40 }, (_, i) => Math.sin(i * 0.37));
  const [ref, got] = await onBoth(() => {
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
