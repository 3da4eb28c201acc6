// lib/backend/native/kernels.c's ReLU (the lecture's gpt.py feed-forward): forward and backward equal the
// JavaScript definitions entry for entry — NaN and −0 included — over every tail length of the vector loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Frame } from '../../../lib/backend/native/loader';
import { TorchGenerator } from '../../../lib/random/torch-generator';

test('relu_forward / relu_backward: y = x > 0 ? x : 0, dx = y > 0 ? dy : 0, every tail, nothing past n written', () => {
  const g = new TorchGenerator(7);
  for (const n of [1, 2, 3, 4, 5, 8, 13, 1027]) {
    const x = Float32Array.from(g.randn(n));
    x[0] = Number.NaN;
    if (n > 2) x[2] = -0;
    const dy = Float32Array.from(g.randn(n));
    const f = new Frame();
    const [xa, ya, dya, dxa] = [f.put(n + 4, x), f.put(n + 4), f.put(n, dy), f.put(n + 4)];
    f.view(ya + n * 4, 4).fill(9);
    f.view(dxa + n * 4, 4).fill(9);
    f.k.relu_forward(xa, ya, n);
    f.k.relu_backward(ya, dya, dxa, n);
    const y = f.take(ya, n + 4);
    const dx = f.take(dxa, n + 4);
    assert.deepEqual(
      Array.from(y.subarray(0, n)),
      Array.from(x, (v) => (v > 0 ? v : 0)),
      `forward, n ${n}`,
    );
    assert.deepEqual(
      Array.from(dx.subarray(0, n)),
      Array.from(dy, (d, i) => (y[i]! > 0 ? d : 0)),
      `backward, n ${n}`,
    );
    assert.deepEqual(Array.from(y.subarray(n)), [9, 9, 9, 9]);
    assert.deepEqual(Array.from(dx.subarray(n)), [9, 9, 9, 9]);
  }
});
