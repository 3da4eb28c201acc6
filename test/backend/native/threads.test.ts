// lib/backend/native/threads.ts: a large product cut into chunks that two threads take gives the same bits
// as one thread (whichever thread computes each chunk), every chunk exactly once, small products stay on
// this thread, and the worker really ran.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { Frame } from '../../../lib/backend/native/loader';
import {
  attention,
  fusedThreads,
  gelu,
  sgemm,
  sgemmNt,
  sgemmTn,
  workerJobs,
  workerStartMs,
} from '../../../lib/backend/native/threads';
import { TorchGenerator } from '../../../lib/random/torch-generator';

const g = new TorchGenerator(12);
const rand = (n: number) => Float32Array.from(g.randn([n]));

/**
 * Runs `check` (it asserts one thread's bits) until the worker has taken a chunk of it. On a busy machine
 * (npm test runs other jobs beside this one) the worker may get no core in time and leave every chunk to
 * this thread: correct, but then nothing was split. Fails if the worker never takes one.
 */
function withWorker(what: string, check: () => void, tries = 50): void {
  const ran = workerJobs();
  check();
  for (let i = 1; i < tries && workerJobs() === ran; i++) check();
  assert.ok(workerJobs() > ran, `the worker took no chunk of any ${what} in ${tries} runs`);
}

test('two threads: sgemm and sgemm_nt split by rows or columns, and sgemm_tn, give one thread’s bits', () => {
  if (os.availableParallelism() < 2) return; // nothing to split on one core
  assert.equal(fusedThreads(), 2);
  withWorker('product', () => {
    for (const [M, N, K] of [
      [512, 64, 1024],
      [203, 27, 200],
      [1024, 64, 512],
      [8, 200, 33000],
      [64, 512, 2048],
      [32, 64, 256],
      [2, 300, 1000],
      [20, 30, 2000],
    ] as [number, number, number][]) {
      const f = new Frame();
      const [a, b, bias] = [f.put(M * K, rand(M * K)), f.put(K * N, rand(K * N)), f.put(N, rand(N))];
      const [one, two] = [f.put(M * N), f.put(M * N)];
      f.k.sgemm(a, b, one, bias, M, N, K, 0);
      sgemm(a, b, two, bias, M, N, K, 0);
      assert.deepEqual(f.take(two, M * N), f.take(one, M * N), `sgemm ${M}x${K}x${N}`);
      // Aᵀ B: A stored [K, M]
      const at = f.put(K * M, rand(K * M));
      const bt = f.put(K * N, rand(K * N));
      f.k.sgemm_tn(at, bt, one, M, N, K, 0, M);
      sgemmTn(at, bt, two, M, N, K, 0);
      assert.deepEqual(f.take(two, M * N), f.take(one, M * N), `sgemm_tn ${M}x${K}x${N}`);
      // A Bᵀ: B stored [N, K]
      f.k.sgemm_nt(a, bt, one, M, N, K, 0, K, N);
      sgemmNt(a, bt, two, M, N, K, 0);
      assert.deepEqual(f.take(two, M * N), f.take(one, M * N), `sgemm_nt ${M}x${K}x${N}`);
      // accumulating (C + A B): a chunk run twice, or never, would show
      const c0 = rand(M * N);
      f.view(one, M * N).set(c0);
      f.view(two, M * N).set(c0);
      f.k.sgemm(a, b, one, 0, M, N, K, 1);
      sgemm(a, b, two, 0, M, N, K, 1);
      assert.deepEqual(f.take(two, M * N), f.take(one, M * N), `sgemm, accumulating, ${M}x${K}x${N}`);
      f.k.sgemm_tn(at, bt, one, M, N, K, 1, M);
      sgemmTn(at, bt, two, M, N, K, 1);
      assert.deepEqual(f.take(two, M * N), f.take(one, M * N), `sgemm_tn, accumulating, ${M}x${K}x${N}`);
    }
  });
  // The worker notifies when it is ready: waiting for it must not run into the 10 s timeout.
  assert.ok(workerStartMs()! < 5000, `the worker took ${workerStartMs()} ms to start`);
  const f = new Frame();
  const jobs = workerJobs();
  const [a, b, c] = [f.put(32 * 30, rand(960)), f.put(30 * 200, rand(6000)), f.put(32 * 200)];
  sgemm(a, b, c, 0, 32, 200, 30, 0);
  assert.equal(workerJobs(), jobs, 'a small product stays on this thread');
});

test('two threads: attention forward and backward split by batch rows give one thread’s bits (odd batches too)', () => {
  if (os.availableParallelism() < 2) return;
  withWorker('attention', () => {
    for (const [B, T, H, hs] of [
      [12, 64, 4, 32],
      [7, 33, 2, 16],
      [2, 64, 1, 64],
    ] as [number, number, number, number][]) {
      const f = new Frame();
      const E = H * hs;
      const scale = 1 / Math.sqrt(hs);
      const [qkv, dy] = [f.put(B * T * 3 * E, rand(B * T * 3 * E)), f.put(B * T * E, rand(B * T * E))];
      const out = () => ({ probs: f.put(B * H * T * T), y: f.put(B * T * E), dqkv: f.put(B * T * 3 * E) });
      const [one, two] = [out(), out()];
      f.k.attn_forward(qkv, one.probs, one.y, B, T, H, hs, scale);
      f.k.attn_backward(qkv, one.probs, dy, one.dqkv, B, T, H, hs, scale);
      attention('forward', [qkv, two.probs, two.y], B, T, H, hs, scale);
      attention('backward', [qkv, two.probs, dy, two.dqkv], B, T, H, hs, scale);
      const shape = `B ${B}, T ${T}, H ${H}, hs ${hs}`;
      assert.deepEqual(f.take(two.probs, B * H * T * T), f.take(one.probs, B * H * T * T), `probabilities, ${shape}`);
      assert.deepEqual(f.take(two.y, B * T * E), f.take(one.y, B * T * E), `y, ${shape}`);
      assert.deepEqual(f.take(two.dqkv, B * T * 3 * E), f.take(one.dqkv, B * T * 3 * E), `dqkv, ${shape}`);
    }
  });
});

test('two threads: GELU, both forms, forward and backward, split in runs of whole vectors give one thread’s bits', () => {
  if (os.availableParallelism() < 2) return;
  withWorker('GELU', () => {
    for (const n of [1 << 15, (1 << 16) + 3, 393216]) {
      const f = new Frame();
      const [x, dy] = [f.put(n, rand(n)), f.put(n, rand(n))];
      for (const form of ['tanh', 'erf'] as const) {
        const [y1, y2, d1, d2] = [f.put(n), f.put(n), f.put(n), f.put(n)];
        const forward = form === 'tanh' ? f.k.gelu_forward : f.k.gelu_erf_forward;
        forward(x, y1, n);
        if (form === 'tanh') f.k.gelu_backward(x, dy, d1, n);
        else f.k.gelu_erf_backward(x, y1, dy, d1, n); // Φ(x) from the forward's output
        gelu(form, 'forward', [x, y2], n);
        gelu(form, 'backward', form === 'tanh' ? [x, dy, d2] : [x, y2, dy, d2], n);
        assert.deepEqual(f.take(y2, n), f.take(y1, n), `${form} forward, n ${n}`);
        assert.deepEqual(f.take(d2, n), f.take(d1, n), `${form} backward, n ${n}`);
      }
    }
  });
});

test('SEQUENTIA_THREADS is checked', () => {
  const before = process.env.SEQUENTIA_THREADS;
  try {
    process.env.SEQUENTIA_THREADS = 'two';
    assert.throws(() => fusedThreads(), /SEQUENTIA_THREADS must be a positive integer, got 'two'/);
    process.env.SEQUENTIA_THREADS = '1';
    assert.equal(fusedThreads(), 1);
  } finally {
    if (before === undefined) delete process.env.SEQUENTIA_THREADS;
    else process.env.SEQUENTIA_THREADS = before;
  }
});

test(
  'two threads: 20,000 jobs back to back, each chunk run exactly once (a claim never takes a chunk of another job)',
  { timeout: 120_000 },
  () => {
    if (os.availableParallelism() < 2) return;
    // the smallest products that are split, in 4 chunks (64 rows) and in 8 (128 rows), taking turns:
    // a thread that looked at a job of 4 must not take a chunk of the next job of 8
    const [N, K] = [64, 128];
    const f = new Frame();
    const jobs = [64, 128].map((M) => {
      const c0 = rand(M * N);
      return {
        M,
        a: f.put(M * K, rand(M * K)),
        b: f.put(K * N, rand(K * N)),
        one: f.put(M * N, c0),
        two: f.put(M * N, c0),
      };
    });
    const ran = workerJobs();
    for (let r = 0; r < 20_000; r++) {
      const { M, a, b, one, two } = jobs[r % 2]!;
      f.k.sgemm(a, b, one, 0, M, N, K, 1);
      sgemm(a, b, two, 0, M, N, K, 1);
    }
    for (const { M, one, two } of jobs) assert.deepEqual(f.take(two, M * N), f.take(one, M * N), `${M} rows`);
    assert.ok(workerJobs() > ran, 'the worker took no chunk');
  },
);
