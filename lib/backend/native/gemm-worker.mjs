// The second thread of lib/backend/native/threads.ts: the same kernels on the same shared memory, with
// a stack of its own. It waits for a job in the control block, runs its part of the product, and
// reports. Plain JavaScript: a worker thread does not get tsx's loader.
import { workerData } from 'node:worker_threads';

const { module, memory, controlAt, stackTop, jobs } = workerData;
const k = new WebAssembly.Instance(module, { env: { memory } }).exports;
k.__stack_pointer.value = stackTop;
const ctl = new Int32Array(memory.buffer, controlAt, 32);
// jobs: the kernel of each kind of job (threads.ts's JOBS); ctl[3 ..] holds a job's ctl[17] arguments.
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
  try {
    const run = k[jobs[ctl[2]]];
    if (typeof run !== 'function') throw new Error(`unknown job ${ctl[2]}`);
    run(...ctl.subarray(3, 3 + ctl[17]));
  } catch {
    ctl[14] = 1; // the caller throws: a trap here must not leave it waiting
  }
  Atomics.add(ctl, 16, 1); // jobs run here
  Atomics.store(ctl, 1, seen);
  Atomics.notify(ctl, 1);
}
