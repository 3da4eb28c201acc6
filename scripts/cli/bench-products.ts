/**
 * The benchmark's matrix products (scripts/cli/benchmark.ts): the products of the two matmul-bound steps,
 * lstm-e256-h512 and gpt-shakespeare-cpu, each timed alone in our kernels (one thread and two) against
 * the ceiling of 128-bit WebAssembly SIMD on this machine: a loop of independent multiply-adds on
 * registers, no memory. scripts/torch/bench.py --products times the same shapes with torch.mm.
 */
import { Frame, kernelModule } from '../../lib/backend/native/loader';
import { onThisThread, sgemm, sgemmNt, sgemmTn } from '../../lib/backend/native/threads';

/** C[M, N] = A B (nn), Aᵀ B with A stored [K, M] (tn), or A Bᵀ with B stored [N, K] (nt). */
export interface Product {
  step: 'lstm-e256-h512' | 'gpt-shakespeare-cpu';
  what: string;
  form: 'nn' | 'tn' | 'nt';
  M: number;
  N: number;
  K: number;
}

// The LSTM case: batch 64 × 40 characters, embedding 256, hidden 512 (gates 2048). The GPT case: 12 × 64
// positions, n_embd 128 (lib/nn/linear.ts: y = x W, dW = xᵀ dy, dx = dy Wᵀ; lib/nn/recurrent.ts).
export const PRODUCTS: readonly Product[] = [
  { step: 'lstm-e256-h512', what: 'input to gates, x Wx', form: 'nn', M: 2560, N: 2048, K: 256 },
  { step: 'lstm-e256-h512', what: 'one step, h Wh (×40)', form: 'nn', M: 64, N: 2048, K: 512 },
  { step: 'lstm-e256-h512', what: 'one step back, dG Whᵀ (×40)', form: 'nn', M: 64, N: 512, K: 2048 },
  { step: 'lstm-e256-h512', what: 'dWh = hᵀ dG', form: 'tn', M: 512, N: 2048, K: 2560 },
  { step: 'lstm-e256-h512', what: 'dx = dG Wxᵀ', form: 'nt', M: 2560, N: 256, K: 2048 },
  { step: 'gpt-shakespeare-cpu', what: 'attention in, x Wqkv', form: 'nn', M: 768, N: 384, K: 128 },
  { step: 'gpt-shakespeare-cpu', what: 'MLP out, h Wproj', form: 'nn', M: 768, N: 128, K: 512 },
  { step: 'gpt-shakespeare-cpu', what: 'dW of the MLP in, xᵀ dy', form: 'tn', M: 128, N: 512, K: 768 },
  { step: 'gpt-shakespeare-cpu', what: 'dx of the MLP in, dy Wᵀ', form: 'nt', M: 768, N: 128, K: 512 },
];

/** Floating-point operations of one product (a multiply-add counts two). */
export const flops = (p: Product) => 2 * p.M * p.N * p.K;

const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const f32 = (x: number) => [...new Uint8Array(new Float32Array([x]).buffer)];

/** Independent accumulators: enough to cover the multiply-add's latency on every x64 core. */
const ACC = 12;

/**
 * A WebAssembly module exporting `peak(n)`: n rounds of ACC independent f32x4 multiply-adds on
 * registers (relaxed SIMD's fused madd, or a mul and an add), written out as bytes: no compiler needed.
 */
export function peakModule(fused: boolean): Uint8Array {
  const simd = (op: number) => [0xfd, ...leb(op)];
  const [a, b] = [ACC + 1, ACC + 2];
  const body = [0x43, ...f32(0.999), ...simd(0x13), 0x21, a, 0x43, ...f32(0.001), ...simd(0x13), 0x21, b];
  body.push(0x03, 0x40); // loop
  for (let i = 1; i <= ACC; i++) {
    body.push(0x20, i, 0x20, a);
    body.push(...(fused ? [0x20, b, ...simd(0x105)] : [...simd(0xe6), 0x20, b, ...simd(0xe4)]));
    body.push(0x21, i);
  }
  body.push(0x20, 0, 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0, 0x0b); // n -= 1; loop while n != 0
  body.push(0x20, 1, ...simd(0x1f), 0); // the result reads every accumulator (none is dead code)
  for (let i = 2; i <= ACC; i++) body.push(0x20, i, ...simd(0x1f), 0, 0x92);
  body.push(0x0b);
  const fn = [1, ...leb(ACC + 2), 0x7b, ...body]; // one run of ACC + 2 v128 locals
  const section = (id: number, c: number[]) => [id, ...leb(c.length), ...c];
  const name = [...Buffer.from('peak')];
  return new Uint8Array([
    ...[0, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7d]), // (i32) -> f32
    ...section(3, [1, 0]),
    ...section(7, [1, name.length, ...name, 0, 0]),
    ...section(10, [1, ...leb(fn.length), ...fn]),
  ]);
}

/** Best of a few rounds, GFLOP/s of one thread; null where this engine lacks relaxed SIMD (`fused`). */
export function wasmCeiling(fused: boolean): number | null {
  kernelModule(); // turns relaxed SIMD on where this Node has it behind a flag, as for the kernels
  const bytes = peakModule(fused);
  if (!WebAssembly.validate(bytes)) return null;
  const peak = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.peak as (n: number) => number;
  peak(1e6);
  let best = 0;
  for (let r = 0; r < 5; r++) {
    const n = 1e7;
    const t0 = performance.now();
    peak(n);
    best = Math.max(best, (n * ACC * 8) / ((performance.now() - t0) * 1e6));
  }
  return best;
}

/** GFLOP/s of one product in our kernels, the best of 5 medians-of-a-batch (≥ 0.1 s of work each). */
export function productRate(p: Product, threads: 1 | 2): number {
  const f = new Frame();
  const rand = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.5);
  const A = f.put(p.M * p.K, rand(p.M * p.K));
  const B = f.put(p.K * p.N, rand(p.K * p.N));
  const C = f.put(p.M * p.N);
  const once = () =>
    p.form === 'nn'
      ? sgemm(A, B, C, 0, p.M, p.N, p.K, 0)
      : p.form === 'tn'
        ? sgemmTn(A, B, C, p.M, p.N, p.K, 0)
        : sgemmNt(A, B, C, p.M, p.N, p.K, 0);
  const run = () => (threads === 1 ? onThisThread(once) : once());
  const reps = Math.max(1, Math.ceil(1e8 / flops(p)));
  for (let i = 0; i < reps; i++) run();
  let best = 0;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) run();
    best = Math.max(best, (reps * flops(p)) / ((performance.now() - t0) * 1e6));
  }
  return best;
}
