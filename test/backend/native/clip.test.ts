// lib/backend/native/kernels.c's sum_squares and scale_inplace, the fused step's gradient clip: the sum is
// the double sum of JavaScript's loop term for term (carried across calls), the scaling one rounding per entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Frame } from '../../../lib/backend/native/loader';
import { TorchGenerator } from '../../../lib/random/torch-generator';

test('sum_squares: the double sum in order, carried across calls — equal to the JavaScript loop bit for bit', () => {
  const g = new TorchGenerator(3);
  const parts = [1001, 7, 4096, 3].map((n, i) => Float32Array.from(g.randn(n), (x) => x * 10 ** (i - 2)));
  const f = new Frame();
  const at = parts.map((p) => f.put(p.length, p));
  let js = 0;
  for (const p of parts) for (let i = 0; i < p.length; i++) js += p[i]! * p[i]!;
  let wasm = 0;
  parts.forEach((p, i) => (wasm = f.k.sum_squares(wasm, at[i]!, p.length)));
  assert.equal(wasm, js);
  // four interleaved partial sums (what a vectorising compiler would make of the loop) round differently
  const lanes = [0, 0, 0, 0];
  let k = 0;
  for (const p of parts) for (let i = 0; i < p.length; i++, k++) lanes[k % 4] += p[i]! * p[i]!;
  assert.notEqual(lanes[0]! + lanes[1]! + lanes[2]! + lanes[3]!, js, 'the data must tell the order apart');
  assert.equal(f.k.sum_squares(2.5, at[0]!, 0), 2.5);
});

test('scale_inplace: every entry times a, rounded once to float32; the rest of memory untouched', () => {
  const x = Float32Array.from(new TorchGenerator(4).randn(13));
  const f = new Frame();
  const at = f.put(14, Float32Array.of(...x, 7));
  const a = Math.fround(0.3);
  f.k.scale_inplace(at, 13, a);
  const got = f.take(at, 14);
  assert.deepEqual(
    Array.from(got.subarray(0, 13)),
    Array.from(x, (v) => Math.fround(v * a)),
  );
  assert.equal(got[13], 7);
});
