import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PRODUCTS, flops, peakModule, wasmCeiling } from '../../scripts/cli/bench-products';
import { productRounding } from '../../lib/backend/native/loader';

test('the ceiling loop computes what it claims: n rounds of v = 0.999 v + 0.001 in 12 accumulators', () => {
  for (const fused of [false, true]) {
    const bytes = peakModule(fused);
    if (fused && !WebAssembly.validate(bytes)) continue; // an engine without relaxed SIMD
    const peak = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.peak as (n: number) => number;
    let v = 0;
    for (let i = 0; i < 3; i++) v = Math.fround(Math.fround(0.999 * v) + Math.fround(0.001));
    assert.ok(Math.abs(peak(3) - 12 * v) < 1e-6, `${fused ? 'fused' : 'plain'}: ${peak(3)} vs ${12 * v}`);
  }
  // relaxed SIMD is there exactly where the kernels' FMA build runs (unless SEQUENTIA_FMA chooses)
  if (!process.env.SEQUENTIA_FMA) assert.equal(wasmCeiling(true) !== null, productRounding().build === 'fma');
});

test('the products are the steps’ shapes: the LSTM’s gates are 4 × 512 wide, the GPT’s rows 12 × 64', () => {
  assert.equal(PRODUCTS.filter((p) => p.step === 'lstm-e256-h512').length, 5);
  assert.ok(PRODUCTS.filter((p) => p.step === 'gpt-shakespeare-cpu').every((p) => [p.M, p.N, p.K].includes(768)));
  assert.equal(flops({ step: 'gpt-shakespeare-cpu', what: '', form: 'nn', M: 2, N: 3, K: 4 }), 48);
});
