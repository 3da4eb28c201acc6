// The second thread of lib/backend/native/threads.ts: the same kernels on the same shared memory, with
// a stack of its own. It waits for a job in the control block, runs its part of the product, and
// reports. Plain JavaScript: a worker thread does not get tsx's loader.
import { workerData } from 'node:worker_threads';

const { module, memory, controlAt, stackTop } = workerData;
const k = new WebAssembly.Instance(module, { env: { memory } }).exports;
k.__stack_pointer.value = stackTop;
const ctl = new Int32Array(memory.buffer, controlAt, 32);
// A training step posts a job every few tens of microseconds; waking from Atomics.wait takes about as
// long on a virtual machine. So spin this long after each job before going to sleep (not longer: when
// another process wants the core, spinning takes it away from it).
const SPIN_MS = 0.5;

/** Waits until ctl[0] moves past `seen`: spinning for SPIN_MS, then asleep. */
function next(seen) {
  const until = performance.now() + SPIN_MS;
  for (let i = 1; ; i++) {
    const s = Atomics.load(ctl, 0);
    if (s !== seen) return s;
    if ((i & 255) === 0 && performance.now() > until) {
      Atomics.wait(ctl, 0, seen);
      return Atomics.load(ctl, 0);
    }
  }
}

Atomics.store(ctl, 15, 1); // ready
Atomics.notify(ctl, 15);
let seen = 0;
for (;;) {
  seen = next(seen);
  // Claim the job (ctl[13] still holds its number); the posting thread may have taken it back already.
  if (Atomics.compareExchange(ctl, 13, seen, -1) !== seen) continue;
  const kind = ctl[2];
  try {
    if (kind === 0) k.sgemm(ctl[3], ctl[4], ctl[5], ctl[6], ctl[7], ctl[8], ctl[9], ctl[10]);
    else if (kind === 1) k.sgemm_tn(ctl[3], ctl[4], ctl[5], ctl[7], ctl[8], ctl[9], ctl[10], ctl[11]);
    else if (kind === 2)
      k.sgemm_cols(ctl[3], ctl[4], ctl[5], ctl[6], ctl[7], ctl[8], ctl[9], ctl[10], ctl[11], ctl[12]);
    else if (kind === 3) k.sgemm_nt(ctl[3], ctl[4], ctl[5], ctl[7], ctl[8], ctl[9], ctl[10], ctl[11], ctl[12]);
    else throw new Error(`unknown job ${kind}`);
  } catch {
    ctl[14] = 1; // the caller throws: a trap here must not leave it waiting
  }
  Atomics.add(ctl, 16, 1); // jobs run here
  Atomics.store(ctl, 1, seen);
  Atomics.notify(ctl, 1);
}
