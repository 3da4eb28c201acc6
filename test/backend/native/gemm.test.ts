// lib/backend/native/gemm.c: C = A B (+ bias or + C), C = Aᵀ B and C = A Bᵀ on every tile shape and tail, bit for bit
// against a float32 loop summing over k in order (the kernels' promise: results do not depend on tiling),
// each step rounded once (fused multiply-add) or twice, as the running build does; the plain build too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Frame, productRounding } from '../../../lib/backend/native/loader';
import { TorchGenerator } from '../../../lib/random/torch-generator';
import { TSX } from '../../../scripts/node-tsx';

const bits = new DataView(new ArrayBuffer(4));
/** The float32 next to finite `x` (a float32) towards +∞ (dir 1) or −∞ (dir −1). */
function neighbour(x: number, dir: 1 | -1): number {
  if (x === 0) return dir * 2 ** -149;
  bits.setFloat32(0, x);
  bits.setInt32(0, bits.getInt32(0) + (x > 0 ? dir : -dir));
  return bits.getFloat32(0);
}

/**
 * a·b + c rounded once to float32 (a, b, c float32). a·b is exact in a double; the double sum s and its
 * error e (TwoSum) give the exact a·b + c, which rounds like s unless s sits exactly halfway between two
 * float32s and e says on which side the true sum lies.
 */
function fma32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const v = s - p;
  const e = p - (s - v) + (c - v);
  const r = Math.fround(s);
  if (e === 0 || r === s) return r;
  const other = neighbour(r, s > r ? 1 : -1);
  if ((r + other) / 2 !== s) return r;
  return e > 0 ? Math.max(r, other) : Math.min(r, other);
}

const FUSED = productRounding().fused;
const madd = FUSED ? fma32 : (a: number, b: number, c: number) => Math.fround(c + Math.fround(a * b));

/** C[i, j] = start + Σ_k A[i, k] B[k, j] in float32, k in order; `at(i, k)` reads A. */
function reference(
  at: (i: number, k: number) => number,
  B: Float32Array,
  M: number,
  N: number,
  K: number,
  start: (i: number, j: number) => number,
): Float32Array {
  const C = new Float32Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let c = Math.fround(start(i, j));
      for (let k = 0; k < K; k++) c = madd(at(i, k), B[k * N + j]!, c);
      C[i * N + j] = c;
    }
  return C;
}

function firstDifference(got: Float32Array, want: Float32Array): string | null {
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) return `entry ${i}: ${got[i]} vs ${want[i]}`;
  return null;
}

/** `got` equals reference(at, B, M, N, K, start) bit for bit. */
function assertProduct(
  got: Float32Array,
  [at, B, M, N, K]: [(i: number, k: number) => number, Float32Array, number, number, number],
  start: (i: number, j: number) => number,
  label: string,
): void {
  assert.equal(firstDifference(got, reference(at, B, M, N, K, start)), null, label);
}

const g = new TorchGenerator(11);
const rand = (n: number) => Float32Array.from(g.randn([n]));
// rows around the 4-row tile, columns around the 8- and 4-wide tiles and every tail, a few depths
const SHAPES: [number, number, number][] = [];
for (const M of [1, 3, 4, 5, 8, 9])
  for (const N of [1, 2, 3, 4, 7, 8, 11, 16, 27, 30]) for (const K of [1, 5, 32]) SHAPES.push([M, N, K]);

test('sgemm: A B, A B + bias, and C + A B, bit for bit on every tile and tail', () => {
  for (const [M, N, K] of SHAPES) {
    const A = rand(M * K);
    const B = rand(K * N);
    const bias = rand(N);
    const C0 = rand(M * N);
    const f = new Frame();
    const [a, b, c, bi] = [f.put(M * K, A), f.put(K * N, B), f.put(M * N), f.put(N, bias)];
    const shape = `${M}x${K} @ ${K}x${N}`;
    f.k.sgemm(a, b, c, 0, M, N, K, 0);
    assertProduct(f.take(c, M * N), [(i, k) => A[i * K + k]!, B, M, N, K], () => 0, shape);
    f.k.sgemm(a, b, c, bi, M, N, K, 0);
    assertProduct(f.take(c, M * N), [(i, k) => A[i * K + k]!, B, M, N, K], (_, j) => bias[j]!, `${shape} + bias`);
    f.view(c, M * N).set(C0);
    f.k.sgemm(a, b, c, 0, M, N, K, 1);
    assertProduct(f.take(c, M * N), [(i, k) => A[i * K + k]!, B, M, N, K], (i, j) => C0[i * N + j]!, `C + ${shape}`);
  }
});

test('sgemm_tn: Aᵀ B with A stored [K, M], and accumulating; transpose', () => {
  for (const [M, N, K] of SHAPES) {
    const A = rand(K * M);
    const B = rand(K * N);
    const C0 = rand(M * N);
    const f = new Frame();
    const [a, b, c] = [f.put(K * M, A), f.put(K * N, B), f.put(M * N)];
    f.k.sgemm_tn(a, b, c, M, N, K, 0, M);
    assertProduct(f.take(c, M * N), [(i, k) => A[k * M + i]!, B, M, N, K], () => 0, `(${K}x${M})ᵀ @ ${K}x${N}`);
    f.view(c, M * N).set(C0);
    f.k.sgemm_tn(a, b, c, M, N, K, 1, M);
    assertProduct(f.take(c, M * N), [(i, k) => A[k * M + i]!, B, M, N, K], (i, j) => C0[i * N + j]!, 'accumulating');
    const t = f.put(K * M);
    f.k.transpose(a, t, K, M);
    const T = f.take(t, K * M);
    for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) assert.equal(T[i * K + k], A[k * M + i]);
  }
});

test('sgemm_nt: A Bᵀ with B stored [N, K], accumulating, and on a share of the columns', () => {
  for (const [M, N, K] of [...SHAPES, [5, 70, 130], [16, 9, 300], [33, 200, 129]] as [number, number, number][]) {
    const A = rand(M * K);
    const Bs = rand(N * K); // stored [N, K]
    const B = new Float32Array(K * N); // the same as [K, N] for the reference
    for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) B[k * N + j] = Bs[j * K + k]!;
    const C0 = rand(M * N);
    const f = new Frame();
    const [a, b, c] = [f.put(M * K, A), f.put(N * K, Bs), f.put(M * N)];
    const shape = `${M}x${K} @ (${N}x${K})ᵀ`;
    f.k.sgemm_nt(a, b, c, M, N, K, 0, K, N);
    assertProduct(f.take(c, M * N), [(i, k) => A[i * K + k]!, B, M, N, K], () => 0, shape);
    f.view(c, M * N).set(C0);
    f.k.sgemm_nt(a, b, c, M, N, K, 1, K, N);
    const want = reference(
      (i, k) => A[i * K + k]!,
      B,
      M,
      N,
      K,
      (i, j) => C0[i * N + j]!,
    );
    assert.equal(firstDifference(f.take(c, M * N), want), null, `C + ${shape}`);
    if (N < 2) continue;
    // columns [n0, N) alone: B's rows from n0, C's columns from n0 (rows N apart)
    const n0 = Math.floor(N / 2);
    f.view(c, M * N).set(C0);
    f.k.sgemm_nt(a, b + n0 * K * 4, c + n0 * 4, M, N - n0, K, 1, K, N);
    const got = f.take(c, M * N);
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++)
        assert.equal(
          got[i * N + j],
          j >= n0 ? want[i * N + j] : C0[i * N + j],
          `${shape}, columns from ${n0}: [${i}, ${j}]`,
        );
  }
});

test('fma32 rounds once: the cases a double sum alone gets wrong', () => {
  const a = 1 + 2 ** -12; // a² = 1 + 2⁻¹¹ + 2⁻²⁴: exactly halfway between two float32s
  assert.equal(fma32(a, a, -1), 2 ** -11 + 2 ** -24); // rounded twice: 2⁻¹¹
  assert.equal(fma32(a, a, 2 ** -80), 1 + 2 ** -11 + 2 ** -23); // just above halfway; the double sum is halfway
  assert.equal(fma32(a, a, -(2 ** -80)), 1 + 2 ** -11); // just below
  assert.equal(fma32(a, a, 0), 1 + 2 ** -11); // halfway: to even
});

test('the build: relaxed SIMD on this Node, products fused where the CPU has FMA; the plain build passes the same', () => {
  if (process.env.SEQUENTIA_FMA === '0') return assert.deepEqual(productRounding(), { build: 'plain', fused: false });
  assert.equal(productRounding().build, 'fma');
  const env: NodeJS.ProcessEnv = { ...process.env, SEQUENTIA_FMA: '0' };
  delete env.NODE_TEST_CONTEXT; // else the child's test runner skips its files (run inside a test)
  const r = spawnSync(process.execPath, [...TSX, '--test', '--test-reporter=tap', __filename], {
    env,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /# pass 5\n/);
});
