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
import { JOBS, WORDS, claim, runChunk } from './chunks.cjs';
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
  const ctl = new Int32Array(memory.buffer, controlAt, CTL_WORDS);
  ctl.fill(0);
  const worker = new Worker(path.join(path.dirname(__filename), 'gemm-worker.mjs'), {
    workerData: { module, memory, controlAt, stackTop: workerStackTop },
  });
  worker.unref();
  // This thread blocks while the worker computes, so it cannot hear an 'error' event: wait for the
  // worker's ready flag (it notifies) first, and stay on one thread if it never comes.
  const t0 = performance.now();
  Atomics.wait(ctl, READY, 0, 10_000);
  if (Atomics.load(ctl, READY) !== 1) {
    void worker.terminate();
    return null;
  }
  helper = { ctl, seq: 0, startMs: performance.now() - t0 };
  return helper;
}

// The control block's words, the jobs' kernels, claim() and runChunk() are in chunks.cjs, which the
// worker loads too.
const { POSTED, KIND, NARGS, NEXT, DONE, CHUNKS, COUNT_ARG, PER_CHUNK, TOTAL, ERROR, READY, WORKER_CHUNKS } = WORDS;
const { ARGS, STEPS, CTL_WORDS } = WORDS;
const MAX_ARGS = STEPS - ARGS;
/** NEXT while a job is being written: no chunk left. */
const CLOSED = -1;

/** A job before it is cut: the kernel's arguments for all of it, and how each moves per unit. */
interface Share {
  /** One of chunks.cjs's JOBS. */
  kind: keyof ReturnType<typeof kernels>;
  args: number[];
  /** Which argument is the number of units (M, N, B or n). */
  countArg: number;
  /** Bytes each argument moves per unit (0: the same for every chunk). */
  steps: number[];
  /** Chunks start at multiples of this many units (whole register tiles, whole vectors). */
  unit: number;
  /** Units a chunk should not go below beyond the first two (a smaller chunk wastes more than it balances). */
  minUnits: number;
}

/** Most chunks a job is cut into: enough that the last one waited for is short. */
const MAX_CHUNKS = 8;

/**
 * Posts the job, then takes chunks with the worker until none is left, and waits for the worker's last
 * one: spinning about as long as a chunk takes (waking from Atomics.wait costs tens of microseconds on
 * a virtual machine), then asleep. A worker that is asleep or has no core leaves every chunk to this
 * thread. Each entry is the same arithmetic whichever thread computes it.
 */
function share(h: Helper, s: Share): void {
  const total = s.args[s.countArg]!;
  // at least two chunks (one each) when there are two units to share, as many as minUnits allows up to 8
  const chunks = Math.min(MAX_CHUNKS, Math.max(total >= 2 * s.unit ? 2 : 1, Math.floor(total / s.minUnits)));
  const per = Math.ceil(total / chunks / s.unit) * s.unit;
  const { ctl } = h;
  Atomics.store(ctl, NEXT, CLOSED);
  const kind = JOBS.indexOf(s.kind);
  if (kind < 0) throw new Error(`lib/backend/native: ${s.kind} is not a job the worker runs (chunks.cjs's JOBS)`);
  ctl[KIND] = kind;
  ctl[NARGS] = s.args.length;
  ctl.set(s.args, ARGS);
  ctl.fill(0, STEPS, STEPS + MAX_ARGS);
  ctl.set(s.steps, STEPS);
  ctl[COUNT_ARG] = s.countArg;
  ctl[PER_CHUNK] = per;
  ctl[TOTAL] = total;
  ctl[CHUNKS] = Math.ceil(total / per);
  ctl[ERROR] = 0;
  const n = ctl[CHUNKS]!;
  Atomics.store(ctl, DONE, 0);
  Atomics.store(ctl, NEXT, n << 8);
  Atomics.store(ctl, POSTED, ++h.seq);
  Atomics.notify(ctl, POSTED);
  let chunkMs = 0;
  for (let c = claim(ctl); c >= 0; c = claim(ctl)) {
    const t0 = performance.now();
    runChunk(ctl, c, kernels());
    chunkMs = Math.max(chunkMs, performance.now() - t0);
    Atomics.add(ctl, DONE, 1);
  }
  const until = performance.now() + chunkMs + 0.05;
  for (let i = 1, d = Atomics.load(ctl, DONE); d < n; i++, d = Atomics.load(ctl, DONE))
    if ((i & 255) === 0 && performance.now() > until) Atomics.wait(ctl, DONE, d, 1);
  if (ctl[ERROR] !== 0) throw new Error(`lib/backend/native: the worker thread's ${s.kind} failed (job ${h.seq})`);
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

/**
 * kernels().sgemm — C[M, N] = A[M, K] B[K, N] (+ bias, or + C) — over two threads when it is large: by
 * rows, or by columns when C is wide and short (a recurrent step's [B, 4H]: each thread then reads part
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
  if (!h) return kernels().sgemm(A, B, C, bias, M, N, K, acc);
  if (N >= 2 * M && N >= 16)
    share(h, {
      kind: 'sgemm_cols',
      args: [A, B, C, bias, M, N, K, acc, N, N],
      countArg: 5,
      steps: [0, 4, 4, bias ? 4 : 0, 0, 0, 0, 0, 0, 0],
      ...COLS,
    });
  else share(h, { kind: 'sgemm', args: [A, B, C, bias, M, N, K, acc], countArg: 4, steps: [4 * K, 0, 4 * N], ...ROWS });
}

/**
 * Chunks of rows: whole 4-row register tiles. Every chunk streams all of B again, so a chunk has at
 * least 64 rows (sgemm, sgemm_nt) or 128 (sgemm_tn, whose B is the long [K, N] of a weight gradient).
 */
const ROWS = { unit: 4, minUnits: 64 };
const TN_ROWS = { unit: 4, minUnits: 128 };
/** Chunks of columns: whole 8-column tiles, at least 128 columns (every chunk reads all of A again). */
const COLS = { unit: 8, minUnits: 128 };

/** kernels().sgemm_tn — C[M, N] = Aᵀ B with A stored [K, M] — over two threads when it is large. */
export function sgemmTn(A: number, B: number, C: number, M: number, N: number, K: number, acc: number): void {
  const h = helperFor(M * N * K, M >= 8);
  if (!h) return kernels().sgemm_tn(A, B, C, M, N, K, acc, M);
  share(h, { kind: 'sgemm_tn', args: [A, B, C, M, N, K, acc, M], countArg: 3, steps: [4, 0, 4 * N], ...TN_ROWS });
}

/**
 * kernels().sgemm_nt — C[M, N] = A Bᵀ with B stored [N, K] (+ C) — over two threads when it is large: by
 * rows, or by columns (rows of B) when C is wide and short.
 */
export function sgemmNt(A: number, B: number, C: number, M: number, N: number, K: number, acc: number): void {
  const h = helperFor(M * N * K, M >= 8 || N >= 16);
  if (!h) return kernels().sgemm_nt(A, B, C, M, N, K, acc, K, N);
  const args = [A, B, C, M, N, K, acc, K, N];
  if (N >= 2 * M && N >= 16) share(h, { kind: 'sgemm_nt', args, countArg: 4, steps: [0, 4 * K, 4], ...COLS });
  else share(h, { kind: 'sgemm_nt', args, countArg: 3, steps: [4 * K, 0, 4 * N], ...ROWS });
}

/** A float32's bits as an int32: a job's arguments are int32s (kernels.c's attn_*_job read them back). */
const floatBits = (x: number) => new Int32Array(new Float32Array([x]).buffer)[0]!;

/**
 * kernels().attn_forward (buffers qkv, probs, y) or attn_backward (qkv, probs, dy, dqkv) — causal
 * self-attention over qkv [B, T, 3E] — over two threads when it is large, by batch rows.
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
  const h = helperFor(B * H * T * T * hs, B >= 2);
  if (!h) {
    const k = kernels();
    return (pass === 'forward' ? k.attn_forward : k.attn_backward)(
      ...(buffers as [number, number, number, number]),
      B,
      T,
      H,
      hs,
      scale,
    );
  }
  const E = H * hs;
  // bytes per batch row of each buffer: qkv, probs, then y (dy) and dqkv
  const row = [3 * E * T, H * T * T, E * T, 3 * E * T].map((floats) => 4 * floats);
  share(h, {
    kind: `attn_${pass}_job`,
    args: [...buffers, B, T, H, hs, floatBits(scale)],
    countArg: buffers.length,
    steps: row.slice(0, buffers.length),
    unit: 1,
    minUnits: 1,
  });
}

/** Entries of an entrywise kernel below which the worker is not worth waking (GELU: ~5 ns an entry). */
const MIN_ENTRIES = 1 << 15;

/**
 * An entrywise kernel — GELU's forward (x, y) or backward (x, dy, dx; the exact form x, y, dy, dx) — over two threads when
 * large: each chunk is a run of whole 4-lane vectors, so every entry is the same arithmetic either way.
 */
export function gelu(form: 'tanh' | 'erf', pass: 'forward' | 'backward', buffers: readonly number[], n: number): void {
  const kind = form === 'tanh' ? (`gelu_${pass}` as const) : (`gelu_erf_${pass}` as const);
  const h = n >= MIN_ENTRIES ? helperFor(MIN_WORK, true) : null;
  if (!h) return (kernels()[kind] as (...args: number[]) => void)(...buffers, n);
  share(h, {
    kind,
    args: [...buffers, n],
    countArg: buffers.length,
    steps: buffers.map(() => 4),
    unit: 4,
    minUnits: 1 << 13,
  });
}

/** Chunks the worker has run so far (0 without a worker): for tests. */
export function workerJobs(): number {
  return helper ? Atomics.load(helper.ctl, WORKER_CHUNKS) : 0;
}

/** How long the worker took to report ready (null without one): for tests. */
export function workerStartMs(): number | null {
  return helper ? helper.startMs : null;
}
