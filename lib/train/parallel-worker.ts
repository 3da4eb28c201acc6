/**
 * The worker side of lib/train/parallel.ts: rebuilds the model, then for every step loads the shared
 * parameters, computes loss and gradients on its half of the batch (a fused pass where lib/fused covers
 * the model, else the tfjs ops), and writes them back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { tf, initTf } from '../runtime/tf';
import { createModel } from '../models/registry';
import { TorchGenerator } from '../random/torch-generator';
import { FusedStep } from '../fused/step';
import { countTokens, EXIT, halfGradients, type ModelSpec, type SharedLayout } from './parallel';

const { spec, layout, fused: useFused } = workerData as { spec: ModelSpec; layout: SharedLayout; fused: boolean };
const control = new Int32Array(layout.control);
const params = new Float32Array(layout.params);
const grads = new Float32Array(layout.grads);
const batch = new Int32Array(layout.batch);
const result = new Float64Array(layout.result);
const T = layout.blockSize;

function step(model: ReturnType<typeof createModel>, fused: FusedStep | null, rows: number, seed: number): void {
  const vars = model.params();
  let off = 0;
  tf.tidy(() => {
    for (const v of vars) {
      v.assign(tf.tensor(params.subarray(off, off + v.size), v.shape, 'float32'));
      off += v.size;
    }
  });
  const X = batch.subarray(0, rows * T);
  const Y = batch.subarray(rows * T, 2 * rows * T);
  const r = halfGradients(model, fused, X, Y, rows, { seed, half: 1 });
  off = 0;
  for (const v of vars) {
    grads.set(r.grads[v.name]!, off);
    off += v.size;
  }
  result[0] = r.loss;
  result[1] = countTokens(Y);
  result[2] = tf.memory().numTensors;
  result[3] += 1;
}

async function main(): Promise<void> {
  await initTf({ quiet: true });
  const model = createModel(spec.type, spec.config, new TorchGenerator(0)); // weights arrive every step
  // lib/fused where it covers the model (not dropout), on this thread only (parallel.ts starts us so)
  const fused = useFused ? FusedStep.for(model) : null;
  // Steps are counted from 0 here, not read from `control`: the main thread may already have started
  // step 1 by the time this line runs.
  let seen = 0;
  parentPort?.postMessage('ready');
  for (;;) {
    Atomics.wait(control, 0, seen);
    seen = Atomics.load(control, 0);
    const rows = Atomics.load(control, 2);
    if (rows === EXIT) break;
    try {
      step(model, fused, rows, Atomics.load(control, 4));
    } catch (e) {
      const msg = new TextEncoder().encode(e instanceof Error ? e.message : String(e));
      new Uint8Array(layout.error).set(msg.subarray(0, layout.error.byteLength - 1));
      Atomics.store(control, 3, 1);
    }
    Atomics.add(control, 1, 1);
    Atomics.notify(control, 1);
  }
  model.dispose();
}

main().catch((e: unknown) => {
  const msg = e instanceof Error ? e.message : String(e);
  parentPort?.postMessage(msg); // during start-up the main thread listens for this
  new Uint8Array(layout.error).set(new TextEncoder().encode(msg).subarray(0, layout.error.byteLength - 1));
  Atomics.store(control, 3, 1);
  Atomics.add(control, 1, 1);
  Atomics.notify(control, 1);
});
