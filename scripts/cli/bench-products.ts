/**
 * The benchmark's matrix products (scripts/cli/benchmark.ts): the products of the two matmul-bound steps,
 * lstm-e256-h512 and gpt-shakespeare-cpu, each timed alone in our kernels (one thread and two) against
 * the ceiling of 128-bit WebAssembly SIMD on this machine: a loop of independent multiply-adds on
 * registers, no memory. scripts/torch/bench.py --products times the same shapes with torch.mm.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Frame } from '../../lib/backend/native/loader';
import { simdCeiling } from '../../lib/backend/native/ceiling';
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
const flops = (p: Product) => 2 * p.M * p.N * p.K;

/** GFLOP/s of one product in our kernels: the best of 5 rounds of at least 1e8 floating-point operations each. */
function productRate(p: Product, threads: 1 | 2): number {
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

/** torch.mm's GFLOP/s on one torch thread for each product (scripts/torch/bench.py --products), or why not. */
function torchProducts(products: readonly Product[]): number[] | string {
  const py = '/usr/bin/python3';
  if (spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) return 'PyTorch not installed';
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: '1' };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const shapes = JSON.stringify(products.map((p) => [p.form, p.M, p.N, p.K]));
  const script = path.join(__dirname, '..', 'torch', 'bench.py');
  const r = spawnSync(py, [script, '--threads', '1', '--products', shapes], { encoding: 'utf8', env });
  if (r.status !== 0) return `PyTorch run failed: ${r.stderr.trim().split('\n').slice(-1).join(' ')}`;
  return (JSON.parse(r.stdout) as { products_gflops: number[] }).products_gflops;
}

/** benchmark.md's section on the matrix products of the selected matmul-bound steps (none selected: none). */
export function productsSection(products: readonly Product[], noTorch: boolean): string[] {
  if (products.length === 0) return [];
  const fused = simdCeiling(true);
  const plain = simdCeiling(false) as number;
  const ceiling = fused ?? plain;
  const ours = products.map((p) => [productRate(p, 1), productRate(p, 2)] as const);
  const torch = noTorch ? 'skipped (--no-torch)' : torchProducts(products);
  const gf = (x: number) => x.toFixed(1);
  for (const [i, p] of products.entries())
    console.log(
      `products  ${p.step} ${p.what}: ${gf(ours[i]![0])} GFLOP/s, ${gf(ours[i]![1])} on 2 threads` +
        (typeof torch === 'string' ? '' : `; OpenBLAS ${gf(torch[i]!)}`),
    );
  return [
    '## Matrix products',
    '',
    `GFLOP/s of the products of the two matmul-bound steps, each timed alone (best of 5 rounds): ours on one thread and on two, ` +
      `and OpenBLAS through \`torch.mm\` on one thread (${typeof torch === 'string' ? torch : 'the variables unset as above'}). ` +
      `The ceiling is 128-bit WebAssembly SIMD on one thread of this machine, measured by a loop of independent multiply-adds on registers ` +
      `(lib/backend/native/ceiling.ts): **${fused === null ? 'no relaxed SIMD here' : `${gf(fused)} GFLOP/s`}** with relaxed SIMD's fused multiply-add, ${gf(plain)} as a multiply and an add.`,
    '',
    '| step | product | form | M × N × K | ours, 1 thread | share of the ceiling | ours, 2 threads | OpenBLAS, 1 thread |',
    '|---|---|---|---|---:|---:|---:|---:|',
    ...products.map(
      (p, i) =>
        `| ${p.step} | ${p.what} | ${p.form} | ${p.M} × ${p.N} × ${p.K} | ${gf(ours[i]![0])} | ${Math.round((100 * ours[i]![0]) / ceiling)} % | ${gf(ours[i]![1])} | ${typeof torch === 'string' ? '–' : gf(torch[i]!)} |`,
    ),
    '',
  ];
}
