// The control block that lib/backend/native/threads.ts shares with its worker (gemm-worker.mjs), and
// the two things both threads do with it: claim a chunk of the posted job and run it. Plain CommonJS,
// so that the TypeScript side and the worker (which does not get tsx's loader) load the one copy.
'use strict';

/** The kernel of each kind of job: KIND is an index into this list. */
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
];

/**
 * Int32 word indices. A job is a kernel (KIND) over TOTAL units (rows, columns, batch rows or entries)
 * cut into CHUNKS chunks of PER_CHUNK units; chunk c runs the kernel on ARGS with each argument moved by
 * c · PER_CHUNK · STEPS[i] bytes and argument COUNT_ARG set to the chunk's units. Both threads take
 * chunks until none is left, so the one that runs faster (the other may share its core with another
 * process) takes more of them; DONE counts the finished ones. NEXT holds the number of chunks above the
 * next one's index, and a thread claims a chunk by moving NEXT from (n, c) to (n, c + 1) in one
 * compare-and-swap: whatever job a thread last looked at, a claim that succeeds is a chunk of the job
 * posted now, whose words stay put until its last chunk is done.
 */
const WORDS = Object.freeze({
  POSTED: 0,
  KIND: 1,
  NARGS: 2,
  NEXT: 3,
  DONE: 4,
  CHUNKS: 5,
  COUNT_ARG: 6,
  PER_CHUNK: 7,
  TOTAL: 8,
  ERROR: 9,
  READY: 10,
  WORKER_CHUNKS: 11,
  ARGS: 16,
  STEPS: 32,
  CTL_WORDS: 48,
});

/** Claims a chunk of the posted job: its index, or -1 when none is left (or NEXT is closed, -1). */
function claim(ctl) {
  for (;;) {
    const v = Atomics.load(ctl, WORDS.NEXT);
    if ((v & 0xff) >= ((v >> 8) & 0xff)) return -1;
    if (Atomics.compareExchange(ctl, WORDS.NEXT, v, v + 1) === v) return v & 0xff;
  }
}

/** Runs chunk c of the posted job with `kernels` (the module's exports): its arguments moved by c chunks. */
function runChunk(ctl, c, kernels) {
  const { ARGS, NARGS, PER_CHUNK, STEPS, COUNT_ARG, TOTAL, KIND } = WORDS;
  const args = Array.from(ctl.subarray(ARGS, ARGS + ctl[NARGS]));
  const per = ctl[PER_CHUNK];
  for (let i = 0; i < args.length; i++) args[i] += c * per * ctl[STEPS + i];
  args[ctl[COUNT_ARG]] = Math.min(per, ctl[TOTAL] - c * per);
  const run = kernels[JOBS[ctl[KIND]]];
  if (typeof run !== 'function') throw new Error(`unknown job ${ctl[KIND]}`);
  run(...args);
}

module.exports = { JOBS, WORDS, claim, runChunk };
