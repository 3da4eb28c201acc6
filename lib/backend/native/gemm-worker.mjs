// The second thread of lib/backend/native/threads.ts: the same kernels on the same shared memory, with
// a stack of its own. It waits for a job in the control block, takes its chunks until none is left
// (threads.ts's share() takes them from the other end of the same counter), and goes back to waiting.
// Plain JavaScript: a worker thread does not get tsx's loader.
import { workerData } from 'node:worker_threads';
import chunks from './chunks.cjs';

const { claim, runChunk, WORDS } = chunks;
const { POSTED, CHUNKS, DONE, ERROR, READY, WORKER_CHUNKS } = WORDS;
const { module, memory, controlAt, stackTop } = workerData;
const k = new WebAssembly.Instance(module, { env: { memory } }).exports;
k.__stack_pointer.value = stackTop;
const ctl = new Int32Array(memory.buffer, controlAt, WORDS.CTL_WORDS);
// A training step posts a job every few tens of microseconds; waking from Atomics.wait takes about as
// long on a virtual machine. So spin this long after each job before going to sleep (not longer: when
// another process wants the core, spinning takes it away from it).
const SPIN_MS = 0.5;

/** Waits until POSTED moves past `seen`: spinning for SPIN_MS, then asleep. */
function next(seen) {
  const until = performance.now() + SPIN_MS;
  for (let i = 1; ; i++) {
    const s = Atomics.load(ctl, POSTED);
    if (s !== seen) return s;
    if ((i & 255) === 0 && performance.now() > until) {
      Atomics.wait(ctl, POSTED, seen);
      return Atomics.load(ctl, POSTED);
    }
  }
}

Atomics.store(ctl, READY, 1);
Atomics.notify(ctl, READY);
let seen = 0;
for (;;) {
  seen = next(seen);
  for (let c = claim(ctl); c >= 0; c = claim(ctl)) {
    const n = ctl[CHUNKS]; // this job's: it stays posted until its last chunk is done
    try {
      runChunk(ctl, c, k);
    } catch {
      ctl[ERROR] = 1; // the caller throws: a trap here must not leave it waiting
    }
    Atomics.add(ctl, WORKER_CHUNKS, 1);
    if (Atomics.add(ctl, DONE, 1) + 1 === n) Atomics.notify(ctl, DONE);
  }
}
