/**
 * The second core for the fused steps' larger matrix products: a worker thread runs the same kernels on
 * the same shared memory (loader.ts) and computes the lower rows of C while this thread computes the
 * upper ones. Each entry of C is the same in-order sum whoever computes it, so one thread or two give
 * identical bits. SEQUENTIA_THREADS=1 keeps everything on this thread.
 */
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { kernelModule, kernels, layout } from './loader';

/** Multiply-adds below which waking the worker costs more than the half it takes (~20 µs vs ~40 µs). */
const MIN_WORK = 1 << 19;

interface Helper {
  ctl: Int32Array;
  seq: number;
}

let helper: Helper | null | undefined;

/** Threads the fused steps use: SEQUENTIA_THREADS, else 2 where the machine has two cores or more. */
export function fusedThreads(): number {
  const env = process.env.SEQUENTIA_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new Error(`SEQUENTIA_THREADS must be a positive integer, got '${env}'`);
    return Math.min(n, 2);
  }
  return Math.min(2, os.availableParallelism());
}

function start(): Helper | null {
  if (helper !== undefined) return helper;
  helper = null;
  if (fusedThreads() < 2) return null;
  const { module, memory } = kernelModule();
  const { controlAt, workerStackTop } = layout();
  const ctl = new Int32Array(memory.buffer, controlAt, 16);
  ctl.fill(0);
  const worker = new Worker(path.join(path.dirname(__filename), 'gemm-worker.mjs'), {
    workerData: { module, memory, controlAt, stackTop: workerStackTop },
  });
  worker.unref();
  // This thread blocks while the worker computes, so it cannot hear an 'error' event: wait for the
  // worker's ready flag first, and stay on one thread if it never comes.
  if (Atomics.wait(ctl, 15, 0, 10_000) === 'timed-out' && Atomics.load(ctl, 15) !== 1) {
    void worker.terminate();
    return null;
  }
  helper = { ctl, seq: 0 };
  return helper;
}

/** Hands the worker a job (kind 0: sgemm, 1: sgemm_tn, 2: sgemm_cols) and returns its sequence number. */
function post(h: Helper, kind: number, args: number[]): number {
  h.ctl[2] = kind;
  h.ctl.set(args, 3);
  h.seq++;
  Atomics.store(h.ctl, 0, h.seq);
  Atomics.notify(h.ctl, 0);
  return h.seq;
}

function join(h: Helper, seq: number): void {
  for (;;) {
    const done = Atomics.load(h.ctl, 1);
    if (done === seq) return;
    Atomics.wait(h.ctl, 1, done);
  }
}

/** Rows for this thread: half of M, a multiple of 4 (whole register tiles). */
function split(M: number): number {
  return Math.min(M, Math.ceil(M / 8) * 4);
}

/**
 * kernels().sgemm — C[M, N] = A[M, K] B[K, N] (+ bias, or + C) — over two threads when it is large: by
 * rows, or by columns when C is wide and short (a recurrent step's [B, 4H]: each thread then reads half
 * of B instead of all of it).
 */
export function sgemm(
  A: number,
  B: number,
  C: number,
  bias: number,
  M: number,
  N: number,
  K: number,
  acc: number,
): void {
  const h = M * N * K >= MIN_WORK && (M >= 8 || N >= 16) ? start() : null;
  const k = kernels();
  if (!h) return k.sgemm(A, B, C, bias, M, N, K, acc);
  if (N >= 2 * M && N >= 16) {
    const n0 = Math.ceil(N / 16) * 8; // this thread's columns: a multiple of 8 (whole tiles)
    const seq = post(h, 2, [A, B + n0 * 4, C + n0 * 4, bias ? bias + n0 * 4 : 0, M, N - n0, K, acc, N, N]);
    k.sgemm_cols(A, B, C, bias, M, n0, K, acc, N, N);
    return join(h, seq);
  }
  const m0 = split(M);
  const seq = post(h, 0, [A + m0 * K * 4, B, C + m0 * N * 4, bias, M - m0, N, K, acc]);
  k.sgemm(A, B, C, bias, m0, N, K, acc);
  join(h, seq);
}

/** kernels().sgemm_tn — C[M, N] = Aᵀ B with A stored [K, M] — over two threads when it is large. */
export function sgemmTn(A: number, B: number, C: number, M: number, N: number, K: number, acc: number): void {
  const h = M * N * K >= MIN_WORK && M >= 8 ? start() : null;
  const k = kernels();
  if (!h) return k.sgemm_tn(A, B, C, M, N, K, acc, M);
  const m0 = split(M);
  const seq = post(h, 1, [A + m0 * 4, B, C + m0 * N * 4, 0, M - m0, N, K, acc, M]);
  k.sgemm_tn(A, B, C, m0, N, K, acc, M);
  join(h, seq);
}

/** Jobs the worker has run so far (0 without a worker): for tests and the benchmark's report. */
export function workerJobs(): number {
  return helper ? helper.seq : 0;
}
