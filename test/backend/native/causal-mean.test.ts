// lib/backend/native/steps.c's causal mean (makemore's bag of words): forward and backward equal the
// JavaScript loops of the order their comments give, in float32, bit for bit — every width's vector tail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Frame } from '../../../lib/backend/native/loader';
import { TorchGenerator } from '../../../lib/random/torch-generator';

const f32 = Math.fround;

/** y[t] = x[t] + (w·x[0] + … + w·x[t]) with w = 1/(t + 1), summed from 0 up. */
function forward(x: Float32Array, B: number, T: number, E: number): number[] {
  const y: number[] = [];
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      const w = f32(1 / (t + 1));
      for (let e = 0; e < E; e++) {
        let s = 0;
        for (let u = 0; u <= t; u++) s = f32(s + f32(w * x[(b * T + u) * E + e]!));
        y.push(f32(x[(b * T + t) * E + e]! + s));
      }
    }
  return y;
}

/** dx[s] = dy[s] + (dy[s]/(s + 1) + … + dy[T−1]/T), summed from s up. */
function backward(dy: Float32Array, B: number, T: number, E: number): number[] {
  const dx: number[] = [];
  for (let b = 0; b < B; b++)
    for (let s = 0; s < T; s++)
      for (let e = 0; e < E; e++) {
        let acc = 0;
        for (let t = s; t < T; t++) acc = f32(acc + f32(dy[(b * T + t) * E + e]! / (t + 1)));
        dx.push(f32(dy[(b * T + s) * E + e]! + acc));
      }
  return dx;
}

test('causal_mean / causal_mean_backward: the sums in their stated order, bit for bit, every tail of four columns', () => {
  const g = new TorchGenerator(11);
  for (const [B, T, E] of [
    [32, 16, 64],
    [3, 11, 13],
    [2, 9, 7],
    [1, 5, 1],
    [4, 8, 6],
  ] as const) {
    const n = B * T * E;
    const x = Float32Array.from(g.randn(n));
    const f = new Frame();
    const [xa, ya, dxa] = [f.put(n, x), f.put(n + 4), f.put(n + 4)];
    f.view(ya + n * 4, 4).fill(9);
    f.view(dxa + n * 4, 4).fill(9);
    f.k.causal_mean(xa, ya, B, T, E);
    f.k.causal_mean_backward(xa, dxa, B, T, E);
    const y = f.take(ya, n + 4);
    const dx = f.take(dxa, n + 4);
    assert.deepEqual(Array.from(y.subarray(0, n)), forward(x, B, T, E), `forward ${B}×${T}×${E}`);
    assert.deepEqual(Array.from(dx.subarray(0, n)), backward(x, B, T, E), `backward ${B}×${T}×${E}`);
    assert.deepEqual(Array.from(y.subarray(n)), [9, 9, 9, 9]);
    assert.deepEqual(Array.from(dx.subarray(n)), [9, 9, 9, 9]);
  }
});
