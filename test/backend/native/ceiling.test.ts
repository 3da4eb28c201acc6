// lib/backend/native/ceiling.ts: the loop the benchmark's products are measured against.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simdCeiling } from '../../../lib/backend/native/ceiling';
import { productRounding } from '../../../lib/backend/native/loader';

test('the SIMD ceiling: the loop checks its own arithmetic (it throws otherwise) and runs where the FMA build runs', () => {
  const plain = simdCeiling(false);
  assert.ok(plain !== null && plain > 0.1, `plain: ${plain} GFLOP/s`);
  // relaxed SIMD is there exactly where the kernels' FMA build runs (unless SEQUENTIA_FMA chooses)
  if (!process.env.SEQUENTIA_FMA) assert.equal(simdCeiling(true) !== null, productRounding().build === 'fma');
});
