/**
 * The second core for the fused steps' larger matrix products, attention and GELU: a worker thread runs
 * the same kernels on the same shared memory (loader.ts) and computes the lower rows of C (the second
 * half of the batch's attention, of GELU's entries) while this thread computes the upper ones. Each entry
 * is the same arithmetic whoever computes it, so one thread or two give identical bits.
 * SEQUENTIA_THREADS=1 keeps everything on this thread.
 */
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { kernelModule, kernels, layout } from './loader';

/** Multiply-adds below which waking the worker costs more than the half it takes (docs/performance.md). */
const MIN_WORK = 1 << 19;

interface Helper {
  ctl: Int32Array;
  seq: number;
  /** Milliseconds from starting the worker to its ready flag. */
  startMs: number;
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

/** SEQUENTIA_THREADS and SEQUENTIA_FMA, checked (an error names a bad value before the first step). */
export function checkFusedSettings(): void {
  fusedThreads();
  kernelModule();
}

function start(): Helper | null {
  if (helper !== undefined) return helper;
  helper = null;
  if (fusedThreads() < 2) return null;
  const { module, memory } = kernelModule();
  const { controlAt, workerStackTop } = layout();
  const ctl = new Int32Array(memory.buffer, controlAt, 32);
  ctl.fill(0);
  const worker = new Worker(path.join(path.dirname(__filename), 'gemm-worker.mjs'), {
    workerData: { module, memory, controlAt, stackTop: workerStackTop, jobs: JOBS },
  });
  worker.unref();
  // This thread blocks while the worker computes, so it cannot hear an 'error' event: wait for the
  // worker's ready flag (it notifies) first, and stay on one thread if it never comes.
  const t0 = performance.now();
  Atomics.wait(ctl, 15, 0, 10_000);
  if (Atomics.load(ctl, 15) !== 1) {
    void worker.terminate();
    return null;
  }
  helper = { ctl, seq: 0, startMs: performance.now() - t0 };
  return helper;
}

/** A posted job: its sequence number, and what to run should this thread take it back. */
interface Job {
  seq: number;
  kind: number;
  args: number[];
}

/** The kernel of each kind of job (the worker gets this list); a job's args are its parameters. */
const JOBS = [
  'sgemm',
  'sgemm_tn',
  'sgemm_cols',
  'sgemm_nt',
  'attn_forward_job',
  'attn_backward_job',
  'gelu_forward',
  'gelu_backward',
  'gelu_erf_forward',
  'gelu_erf_backward',
] as const;

/**
 * Hands the worker a job: its kind (an index into JOBS) at ctl[2], its arguments from ctl[3] (ctl[17]
 * of them). ctl[13] holds the sequence number of a job nobody has claimed yet: the worker claims it by
 * swapping in −1, this thread (join) by swapping in 0.
 */
function post(h: Helper, kind: number, args: number[]): Job {
  h.ctl[2] = kind;
  h.ctl.set(args, 3);
  h.ctl[17] = args.length;
  h.seq++;
  Atomics.store(h.ctl, 13, h.seq);
  Atomics.store(h.ctl, 0, h.seq);
  Atomics.notify(h.ctl, 0);
  return { seq: h.seq, kind, args };
}

/** Runs a job's kernel on this thread, as gemm-worker.mjs would. */
function runHere(j: Job): void {
  (kernels()[JOBS[j.kind]!] as (...args: number[]) => void)(...j.args);
}

/**
 * After this thread's half: the worker's half done. If the worker has not claimed it yet (it is asleep,
 * or another process has the core), this thread takes it back and runs it — each entry of C is the same
 * sum whoever computes it. Otherwise it spins for about as long as its own half took (waking from
 * Atomics.wait costs tens of microseconds on a virtual machine), then sleeps until the worker is done.
 */
function join(h: Helper, j: Job, ownMs: number): void {
  if (Atomics.compareExchange(h.ctl, 13, j.seq, 0) === j.seq) return runHere(j);
  const until = performance.now() + ownMs + 0.05;
  for (let i = 1; Atomics.load(h.ctl, 1) !== j.seq; i++)
    if ((i & 255) === 0 && performance.now() > until) Atomics.wait(h.ctl, 1, Atomics.load(h.ctl, 1), 1);
  if (h.ctl[14] !== 0) throw new Error(`lib/backend/native: the worker thread's product failed (job ${j.seq})`);
}

/** Nonzero while a caller keeps every product on this thread (onThisThread). */
let heldHere = 0;

/**
 * Runs `f` with every product on this thread: for a caller whose other core is busy with work of its
 * own (lib/train/parallel's second half of the batch), where a worker thread would only compete for it.
 */
export function onThisThread<T>(f: () => T): T {
  heldHere++;
  try {
    return f();
  } finally {
    heldHere--;
  }
}

/** The worker, for a product of `work` multiply-adds of a shape worth splitting (`splits`); else null. */
function helperFor(work: number, splits: boolean): Helper | null {
  return heldHere === 0 && work >= MIN_WORK && splits ? start() : null;
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
  const h = helperFor(M * N * K, M >= 8 || N >= 16);
  const k = kernels();
  if (!h) return k.sgemm(A, B, C, bias, M, N, K, acc);
  if (N >= 2 * M && N >= 16) {
    const n0 = Math.ceil(N / 16) * 8; // this thread's columns: a multiple of 8 (whole tiles)
    const job = post(h, 2, [A, B + n0 * 4, C + n0 * 4, bias ? bias + n0 * 4 : 0, M, N - n0, K, acc, N, N]);
    const t0 = performance.now();
    k.sgemm_cols(A, B, C, bias, M, n0, K, acc, N, N);
    return join(h, job, performance.now() - t0);
  }
  const m0 = split(M);
  const job = post(h, 0, [A + m0 * K * 4, B, C + m0 * N * 4, bias, M - m0, N, K, acc]);
  const t0 = performance.now();
  k.sgemm(A, B, C, bias, m0, N, K, acc);
  join(h, job, performance.now() - t0);
}

/** kernels().sgemm_tn — C[M, N] = Aᵀ B with A stored [K, M] — over two threads when it is large. */
export function sgemmTn(A: number, B: number, C: number, M: number, N: number, K: number, acc: number): void {
  const h = helperFor(M * N * K, M >= 8);
  const k = kernels();
  if (!h) return k.sgemm_tn(A, B, C, M, N, K, acc, M);
  const m0 = split(M);
  const job = post(h, 1, [A + m0 * 4, B, C + m0 * N * 4, M - m0, N, K, acc, M]);
  const t0 = performance.now();
  k.sgemm_tn(A, B, C, m0, N, K, acc, M);
  join(h, job, performance.now() - t0);
}

/**
 * kernels().sgemm_nt — C[M, N] = A Bᵀ with B stored [N, K] (+ C) — over two threads when it is large: by
 * rows, or by columns (rows of B) when C is wide and short.
 */
export function sgemmNt(A: number, B: number, C: number, M: number, N: number, K: number, acc: number): void {
  const h = helperFor(M * N * K, M >= 8 || N >= 16);
  const k = kernels();
  if (!h) return k.sgemm_nt(A, B, C, M, N, K, acc, K, N);
  if (N >= 2 * M && N >= 16) {
    const n0 = Math.ceil(N / 16) * 8;
    const job = post(h, 3, [A, B + n0 * K * 4, C + n0 * 4, M, N - n0, K, acc, K, N]);
    const t0 = performance.now();
    k.sgemm_nt(A, B, C, M, n0, K, acc, K, N);
    return join(h, job, performance.now() - t0);
  }
  const m0 = split(M);
  const job = post(h, 3, [A + m0 * K * 4, B, C + m0 * N * 4, M - m0, N, K, acc, K, N]);
  const t0 = performance.now();
  k.sgemm_nt(A, B, C, m0, N, K, acc, K, N);
  join(h, job, performance.now() - t0);
}

/** A float32's bits as an int32: a job's arguments are int32s (kernels.c's attn_*_job read them back). */
const floatBits = (x: number) => new Int32Array(new Float32Array([x]).buffer)[0]!;

/**
 * kernels().attn_forward (buffers qkv, probs, y) or attn_backward (qkv, probs, dy, dqkv) — causal
 * self-attention over qkv [B, T, 3E] — over two threads when it is large: the first half of the batch
 * here, the rest on the worker.
 */
export function attention(
  pass: 'forward' | 'backward',
  buffers: readonly number[],
  B: number,
  T: number,
  H: number,
  hs: number,
  scale: number,
): void {
  const k = kernels();
  const run = (pass === 'forward' ? k.attn_forward : k.attn_backward) as (...args: number[]) => void;
  const h = helperFor(B * H * T * T * hs, B >= 2);
  if (!h) return run(...buffers, B, T, H, hs, scale);
  const [b0, E] = [Math.ceil(B / 2), H * hs];
  // floats per batch row of each buffer: qkv, probs, then y (dy) and dqkv
  const row = [3 * E * T, H * T * T, E * T, 3 * E * T];
  const rest = buffers.map((at, i) => at + b0 * row[i]! * 4);
  const job = post(h, JOBS.indexOf(`attn_${pass}_job`), [...rest, B - b0, T, H, hs, floatBits(scale)]);
  const t0 = performance.now();
  run(...buffers, b0, T, H, hs, scale);
  join(h, job, performance.now() - t0);
}

/** Entries of an entrywise kernel below which the worker is not worth waking (GELU: ~5 ns an entry). */
const MIN_ENTRIES = 1 << 15;

/**
 * An entrywise kernel — GELU's forward (x, y) or backward (x, dy, dx), either form — over two threads when
 * large: each computes a run of whole 4-lane vectors, so every entry is the same arithmetic either way.
 */
export function gelu(form: 'tanh' | 'erf', pass: 'forward' | 'backward', buffers: readonly number[], n: number): void {
  const kind = JOBS.indexOf(form === 'tanh' ? `gelu_${pass}` : `gelu_erf_${pass}`);
  const run = kernels()[JOBS[kind]!] as (...args: number[]) => void;
  const h = n >= MIN_ENTRIES ? helperFor(MIN_WORK, true) : null;
  if (!h) return run(...buffers, n);
  const n0 = Math.ceil(n / 8) * 4;
  const job = post(h, kind, [...buffers.map((at) => at + n0 * 4), n - n0]);
  const t0 = performance.now();
  run(...buffers, n0);
  join(h, job, performance.now() - t0);
}

/** Jobs the worker has run so far (0 without a worker; not those this thread took back): for tests. */
export function workerJobs(): number {
  return helper ? Atomics.load(helper.ctl, 16) : 0;
}

/** How long the worker took to report ready (null without one): for tests. */
export function workerStartMs(): number | null {
  return helper ? helper.startMs : null;
}
