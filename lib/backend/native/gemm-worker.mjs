// The second thread of lib/backend/native/threads.ts: the same kernels on the same shared memory, with
// a stack of its own. It waits for a job in the control block, runs its rows of the product, and
// reports. Plain JavaScript: a worker thread does not get tsx's loader.
import { workerData } from 'node:worker_threads';

const { module, memory, controlAt, stackTop } = workerData;
const k = new WebAssembly.Instance(module, { env: { memory } }).exports;
k.__stack_pointer.value = stackTop;
const ctl = new Int32Array(memory.buffer, controlAt, 16);
Atomics.store(ctl, 15, 1); // ready
let seen = 0;
for (;;) {
  Atomics.wait(ctl, 0, seen);
  seen = Atomics.load(ctl, 0);
  const kind = ctl[2];
  if (kind === 0) k.sgemm(ctl[3], ctl[4], ctl[5], ctl[6], ctl[7], ctl[8], ctl[9], ctl[10]);
  else if (kind === 1) k.sgemm_tn(ctl[3], ctl[4], ctl[5], ctl[7], ctl[8], ctl[9], ctl[10], ctl[11]);
  else if (kind === 2) k.sgemm_cols(ctl[3], ctl[4], ctl[5], ctl[6], ctl[7], ctl[8], ctl[9], ctl[10], ctl[11], ctl[12]);
  else break;
  Atomics.store(ctl, 1, seen);
  Atomics.notify(ctl, 1);
}
