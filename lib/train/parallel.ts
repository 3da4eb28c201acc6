/**
 * Data parallelism over a second core. tfjs's wasm backend runs one thread per process, so a second
 * core is reached by a worker thread with its own tfjs: each step, the main thread and the worker each
 * take half of the minibatch, compute gradients on identical copies of the model, and the main thread
 * combines them (weighted by the tokens each half scores, so the result is the gradient of the full
 * batch's mean loss) before one optimizer step. Parameters, gradients and the batch travel through
 * shared memory; the two threads synchronise with Atomics, so nothing is serialised.
 *
 * Works for every model (the worker rebuilds it from its type and config, createModel's). Results are
 * deterministic for a seed, but not bit-identical to one process: the halves' sums are added in a
 * different order.
 */
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { tf } from '../runtime/tf';
import { Frame, tensorFrom, valuesOf } from '../backend/native/loader';
import { onThisThread } from '../backend/native/threads';
import { FusedStep } from '../fused/step';
import type { LanguageModel } from '../models/language-model';
import type { ModelConfigs, ModelType } from '../models/configs';
import { FastGenerator } from '../random/fast-generator';

/** What the worker needs to rebuild the model: createModel's arguments, as the model records them. */
export interface ModelSpec {
  type: ModelType;
  config: ModelConfigs[ModelType];
}

/** Shared buffers: see parallel-worker.ts for the worker's side. */
export interface SharedLayout {
  control: SharedArrayBuffer; // Int32Array: [go, done, rows (or EXIT), failed, dropout seed (or −1)]
  params: SharedArrayBuffer; // Float32Array: every parameter, in model.params() order
  grads: SharedArrayBuffer; // Float32Array: the worker's gradients, same order
  batch: SharedArrayBuffer; // Int32Array: X then Y of the worker's half
  result: SharedArrayBuffer; // Float64Array: [loss, tokens, worker's tensors, worker's steps]
  error: SharedArrayBuffer; // Uint8Array: a failing worker's message (UTF-8)
  maxRows: number;
  blockSize: number;
}

/** The generator half `half` of a step draws its dropout masks from (none without a seed). */
export function dropoutRng(seed: number | undefined, half: 0 | 1): FastGenerator | undefined {
  return seed === undefined || seed < 0 ? undefined : new FastGenerator(`dropout-${seed}-${half}`);
}

/** Targets that count toward the loss (makemore's −1 marks padding). */
export const countTokens = (y: Int32Array): number => y.reduce((n, t) => n + (t === -1 ? 0 : 1), 0);

/**
 * One half's loss and gradients (by variable name) on `rows` rows of X, Y: a pass of `fused` where given,
 * else the tfjs ops, with half `half`'s dropout generator. Both threads compute their half with this.
 */
export function halfGradients(
  model: LanguageModel,
  fused: FusedStep | null,
  X: Int32Array,
  Y: Int32Array,
  rows: number,
  dropout: { seed: number | undefined; half: 0 | 1 },
): { loss: number; grads: Record<string, Float32Array> } {
  if (fused) return fused.gradients({ X, Y, rows });
  const T = X.length / rows;
  const { value, grads } = tf.variableGrads(() => {
    const x = tf.tensor2d(X, [rows, T], 'int32');
    const y = tf.tensor2d(Y, [rows, T], 'int32');
    return model.forward(x, y, { training: true, rng: dropoutRng(dropout.seed, dropout.half) }).loss as tf.Scalar;
  }, model.params());
  const out = Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, valuesOf(g).slice()]));
  const loss = value.dataSync()[0] as number;
  tf.dispose([value, ...Object.values(grads)]);
  return { loss, grads: out };
}

/** control[2] holds the worker's row count for a step, or this to make it exit. */
export const EXIT = -1;

export class DataParallel {
  private readonly control: Int32Array;
  private readonly params: Float32Array;
  private readonly grads: Float32Array;
  private readonly batch: Int32Array;
  private readonly result: Float64Array;
  private closed = false;
  /** Each half's loss and gradients in one pass of lib/fused where it covers the model, else the ops. */
  readonly fused: FusedStep | null;

  private constructor(
    private readonly worker: Worker,
    private readonly layout: SharedLayout,
    private readonly model: LanguageModel,
    fused: boolean,
  ) {
    this.fused = fused ? FusedStep.for(model) : null;
    this.control = new Int32Array(layout.control);
    this.params = new Float32Array(layout.params);
    this.grads = new Float32Array(layout.grads);
    this.batch = new Int32Array(layout.batch);
    this.result = new Float64Array(layout.result);
  }

  /**
   * Starts the worker (it loads tfjs and builds its copy of the model); resolves when it is ready.
   * `fused: false` computes both halves through the tfjs ops even where lib/fused covers the model.
   */
  static async start(model: LanguageModel, maxBatch: number, opts: { fused?: boolean } = {}): Promise<DataParallel> {
    const fused = opts.fused ?? true;
    const total = model.params().reduce((s, p) => s + p.size, 0);
    const maxRows = Math.ceil(maxBatch / 2);
    const spec: ModelSpec = { type: model.type, config: model.config };
    const T = model.blockSize;
    const layout: SharedLayout = {
      control: new SharedArrayBuffer(4 * 5),
      params: new SharedArrayBuffer(4 * total),
      grads: new SharedArrayBuffer(4 * total),
      batch: new SharedArrayBuffer(4 * 2 * maxRows * T),
      result: new SharedArrayBuffer(8 * 4),
      error: new SharedArrayBuffer(4096),
      maxRows,
      blockSize: T,
    };
    // The worker's products stay on its own thread: the two halves already fill both cores.
    const worker = new Worker(path.join(path.dirname(__filename), 'parallel-worker.cjs'), {
      workerData: { spec, layout, fused },
      env: { ...process.env, SEQUENTIA_THREADS: '1' },
    });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', (m: unknown) =>
        m === 'ready' ? resolve() : reject(new Error(`data-parallel worker: ${String(m)}`)),
      );
      worker.once('error', (e) => reject(new Error(`data-parallel worker failed to start: ${e.message}`)));
      worker.once('exit', (code) => reject(new Error(`data-parallel worker exited during start-up (code ${code})`)));
    });
    worker.removeAllListeners();
    worker.on('error', () => undefined); // reported through the shared error buffer instead
    return new DataParallel(worker, layout, model, fused);
  }

  /**
   * Loss and gradients of the mean loss over a batch of rows × blockSize (X, Y as makemore: −1 targets
   * are ignored): the worker takes the second half of the rows, this thread the first. A model with
   * dropout needs `dropoutSeed` (a non-negative int32): each half draws its masks from a generator
   * seeded with it and the half's index.
   */
  gradients(
    X: Int32Array,
    Y: Int32Array,
    rows: number,
    dropoutSeed?: number,
  ): { loss: tf.Scalar; grads: tf.NamedTensorMap } {
    if (this.closed) throw new Error('data-parallel trainer is closed');
    const T = this.layout.blockSize;
    const mine = Math.ceil(rows / 2);
    const theirs = rows - mine;
    if (theirs > this.layout.maxRows)
      throw new Error(`batch of ${rows} rows is larger than this trainer was started for`);
    // hand the worker the current parameters and its half of the batch, then start it
    const vars = this.model.params();
    let off = 0;
    for (const v of vars) {
      this.params.set(valuesOf(v), off);
      off += v.size;
    }
    this.batch.set(X.subarray(mine * T, rows * T), 0);
    this.batch.set(Y.subarray(mine * T, rows * T), theirs * T);
    Atomics.store(this.control, 2, theirs);
    Atomics.store(this.control, 4, dropoutSeed ?? -1);
    const done = Atomics.load(this.control, 1);
    Atomics.add(this.control, 0, 1);
    Atomics.notify(this.control, 0);

    // this thread's half, meanwhile
    const ownY = Y.subarray(0, mine * T);
    const nMine = countTokens(ownY);
    // the worker's products stay off the helper thread: the other core is the worker's
    const own = onThisThread(() =>
      halfGradients(this.model, this.fused, X.subarray(0, mine * T), ownY, mine, { seed: dropoutSeed, half: 0 }),
    );

    // wait for the worker, then combine: g = (n₁g₁ + n₂g₂) / (n₁ + n₂)
    const deadline = performance.now() + 600_000;
    while (Atomics.load(this.control, 1) === done) {
      Atomics.wait(this.control, 1, done, 10_000);
      if (performance.now() > deadline) throw new Error('data-parallel worker: no answer for 10 minutes');
    }
    if (Atomics.load(this.control, 3) !== 0) {
      const bytes = new Uint8Array(this.layout.error);
      const msg = new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0) < 0 ? bytes.length : bytes.indexOf(0)));
      throw new Error(`data-parallel worker: ${msg}`);
    }
    const [theirLoss, nTheirs] = [this.result[0] as number, this.result[1] as number];
    const n = nMine + nTheirs;
    const combined: tf.NamedTensorMap = {};
    off = 0;
    for (const v of vars) {
      const f = new Frame();
      const px = f.put(v.size, own.grads[v.name]!);
      const py = f.put(v.size, this.grads.subarray(off, off + v.size));
      const po = f.put(v.size);
      f.k.axpby(px, py, po, v.size, nMine / n, nTheirs / n);
      combined[v.name] = tensorFrom(f, po, v.shape);
      off += v.size;
    }
    const loss = tf.scalar(own.loss * (nMine / n) + theirLoss * (nTheirs / n));
    return { loss, grads: combined };
  }

  /**
   * The worker's own tf.memory().numTensors and the steps it ran, as of its last step (its tensors are
   * invisible from this thread's tf.memory(): a leak there shows only in the process's RSS), and the
   * listeners on the worker object: a soak test (scripts/cli/soak.ts) and the unit test watch them stay
   * flat over many steps.
   */
  workerStats(): { numTensors: number; steps: number; listeners: number } {
    const listeners = this.worker.eventNames().reduce((n, e) => n + this.worker.listenerCount(e), 0);
    return { numTensors: this.result[2] as number, steps: this.result[3] as number, listeners };
  }

  /** Stops the worker. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.control, 2, EXIT);
    Atomics.add(this.control, 0, 1);
    Atomics.notify(this.control, 0);
    await this.worker.terminate();
  }
}
