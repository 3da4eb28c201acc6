/**
 * The one training loop every notebook and CLI uses.
 */
import { tf } from '../runtime/tf';
import { LiveLine, inNotebook } from '../runtime/display';
import { createOptimizer, type OptimizerName, type TrainOptimizer } from './optimizers';
import { batchTensors, type Batch } from '../data/batches';
import { FusedStep } from '../fused/step';
import type { ForwardOptions, LanguageModel } from '../models/language-model';
import {
  acknowledgeInterrupt,
  enterLoop,
  inDeadCell,
  Interrupted,
  interruptRequested,
  markTrainingStopped,
  trainingStopped,
} from '../runtime/interrupt';

export type Schedule = number | ((step: number) => number);

export type { OptimizerName };

/** What every way of training shares: the schedule, the optimizer, the hooks. */
interface Common {
  steps: number;
  learningRate: Schedule;
  /** A name, or an optimizer you made (createOptimizer) and keep: e.g. to save its state; not disposed here. */
  optimizer?: OptimizerName | TrainOptimizer;
  /** AdamW only: decoupled weight decay. */
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  /** Shown at the start of the progress line. */
  label?: string;
  /** Called after each step with the step's loss (e.g. to evaluate or checkpoint every k steps); the model is up to date. */
  onStep?: (step: number, loss: number) => void | Promise<void>;
  /**
   * Call onStep only after every k-th step (steps k − 1, 2k − 1, …; default 1: each step). A fused step
   * writes the model's variables back before each call, so a hook that needs the model only now and then
   * (evaluation, a tensor count) costs less this way; each step's loss is in the result's `losses`.
   */
  onStepEvery?: number;
  /**
   * Checked after each step: return true to stop early. An interrupt (■ in Jupyter, the runner's
   * timeout, lib/runtime/interrupt's requestInterrupt) stops the loop the same way without this.
   */
  shouldStop?: () => boolean;
  /** Milliseconds between progress-line updates (0: none). */
  progressMs?: number;
}

/** A model's own loss options beyond ForwardOptions (the bigram net's `reg` and `via`); none for most. */
export type LossOptionsOf<M> = M extends { loss(X: never, Y: never, opts?: infer O): unknown }
  ? keyof Omit<O, keyof ForwardOptions> extends never
    ? never
    : Omit<O, keyof ForwardOptions>
  : never;

/**
 * A model and its batches: each step minimises model.loss on batch(step) (training mode, with
 * `lossOptions`). Training all its parameters with SGD or Adam(W), clipped or not, it runs the model's
 * fused step (lib/fused/step.ts): the same layers' fused halves, one pass of our wasm kernels.
 */
export interface TrainModel<M extends LanguageModel> extends Common {
  model: M;
  /**
   * Step `step`'s batch (e.g. sampleWindows(data, rng, 32)). With a fused step it runs between deferred
   * steps: the model's variables may not hold the latest steps yet (onStep's do).
   */
  batch: (step: number) => Batch;
  /** What the optimizer updates (default: all of the model's parameters; a subset trains through the ops). */
  params?: tf.Variable[];
  lossOptions?: LossOptionsOf<M>;
  /** false: train through the tfjs ops even where a fused step exists (default true). */
  fused?: boolean;
  /** Clip the gradients' global norm to this before each update (torch.nn.utils.clip_grad_norm_); fused or not. */
  gradClip?: number;
}

/** A loss computed your way each step (called inside tf.tidy; sample the minibatch here), minimised over `params`. */
export interface TrainLoss extends Common {
  loss: (step: number) => tf.Scalar;
  params: tf.Variable[];
  gradClip?: number;
}

/**
 * The loss and gradients of each step computed elsewhere (e.g. lib/train/parallel's DataParallel over
 * two threads); the optimizer applies them to `params`.
 */
export interface TrainGradients extends Common {
  gradients: (step: number) => { loss: tf.Scalar; grads: tf.NamedTensorMap };
  params: tf.Variable[];
  gradClip?: number;
}

/** A fused step made for parameters outside a LanguageModel (notebook 10's net); it updates its own parameters. */
export interface TrainFused extends Common {
  fusedStep: FusedStep;
  batch: (step: number) => Batch;
  /** Clip the gradients' global norm to this before each update, in the step's frame. */
  gradClip?: number;
}

type Without<T> = { [K in Exclude<AllKeys, keyof T>]?: never };
type AllKeys = keyof TrainModel<LanguageModel> | keyof TrainLoss | keyof TrainGradients | keyof TrainFused;

/** The four ways to train, one of them: the compiler rejects a mix (a `model` with a `loss`, say). */
export type TrainOptions<M extends LanguageModel = LanguageModel> =
  | (TrainModel<M> & Without<TrainModel<M>>)
  | (TrainLoss & Without<TrainLoss>)
  | (TrainGradients & Without<TrainGradients>)
  | (TrainFused & Without<TrainFused>);

export interface TrainResult {
  /** One loss per step run: shorter than `steps` when the loop stopped early. */
  losses: Float32Array;
  seconds: number;
  stepsPerSecond: number;
  /** True when an interrupt or `shouldStop` ended the loop before `steps`; the parameters keep what was trained. */
  interrupted: boolean;
  /** True when the steps ran fused (lib/fused) rather than through the tfjs ops. */
  fused: boolean;
}

function lrAt(s: Schedule, step: number): number {
  return typeof s === 'number' ? s : s(step);
}

function makeOptimizer(o: Common): TrainOptimizer {
  if (typeof o.optimizer === 'object') return o.optimizer;
  return createOptimizer(o.optimizer ?? 'sgd', lrAt(o.learningRate, 0), {
    beta1: o.beta1,
    beta2: o.beta2,
    weightDecay: o.weightDecay,
  });
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(1)}s`;
}

/**
 * torch.nn.utils.clip_grad_norm_: every gradient times min(1, maxNorm / (‖all gradients‖₂ + 1e-6)).
 * Call inside tf.tidy.
 */
function clipGradNorm(grads: tf.NamedTensorMap, maxNorm: number): tf.NamedTensorMap {
  const list = Object.values(grads);
  const norm = tf.sqrt(tf.addN(list.map((g) => tf.sum(tf.square(g)))));
  const coef = tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1);
  return Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.mul(g, coef)]));
}

/** Lets the event loop run: a kernel must answer heartbeats and flush display messages during long loops. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Runs `steps` optimisation steps; tensors created by the loss are freed every step. Async because it
 * yields to the event loop every ~100 ms, so a notebook's progress line really updates while it runs
 * and the kernel stays responsive (a synchronous multi-minute loop starves tslab's sockets) — and an
 * interrupt gets through: the loop then stops after the current step and returns what it trained.
 */
export async function train<M extends LanguageModel>(options: TrainOptions<M>): Promise<TrainResult> {
  const o = settle(options as Loose);
  if (!Number.isInteger(o.steps) || o.steps < 0)
    throw new Error(`steps must be a non-negative integer, got ${o.steps}`);
  const lr: unknown = o.learningRate;
  if (!(typeof lr === 'function' || (typeof lr === 'number' && Number.isFinite(lr) && lr >= 0)))
    throw new Error(`train: learningRate must be a number ≥ 0 or a function of the step, got ${String(lr)}`);
  const opt = makeOptimizer(o);
  const leaveLoop = enterLoop();
  try {
    return await runSteps(o, opt);
  } finally {
    leaveLoop();
    o.stepper?.release(); // the model's variables get the last deferred steps
    if (typeof o.optimizer !== 'object') opt.dispose();
  }
}

/** Every field of the four ways, for the one place that tells them apart at run time (JavaScript callers). */
type Loose = Common &
  Partial<Omit<TrainModel<LanguageModel>, 'lossOptions'> & TrainLoss & TrainGradients & TrainFused> & {
    lossOptions?: object;
  };

/** The options with `params` and either `loss`, `gradients` or a fused step settled. */
interface Settled extends Loose {
  params: tf.Variable[];
  /** The fused step the loop runs, if any (from `fusedStep`, or the model's). */
  stepper: FusedStep | null;
}

function settle(o: Loose): Settled {
  const ways = [o.loss, o.gradients, o.model, o.fusedStep].filter((w) => w !== undefined).length;
  if (ways !== 1)
    throw new Error('train: give exactly one of `loss`, `gradients`, and `model` or `fusedStep` (with `batch`)');
  if (o.fusedStep) {
    if (!o.batch) throw new Error('train: `fusedStep` needs `batch` (the batch of each step)');
    if (o.params || (typeof o.optimizer === 'object' && !FusedStep.updates(o.optimizer)))
      throw new Error('train: `fusedStep` trains its own parameters with SGD or Adam, without `params`');
    return { ...o, params: o.fusedStep.params(), stepper: o.fusedStep };
  }
  if (!o.model) {
    if (!o.params) throw new Error('train: `params` is required with `loss` or `gradients`');
    return { ...o, params: o.params, stepper: null };
  }
  const { model, batch } = o;
  if (!batch) throw new Error('train: `model` needs `batch` (the batch of each step)');
  const all = model.params();
  const params = o.params ?? all;
  const everything = params.length === all.length && params.every((p, i) => p === all[i]);
  const known = o.optimizer === undefined || typeof o.optimizer === 'string' || FusedStep.updates(o.optimizer);
  const fusedStep = o.fused !== false && everything && known ? FusedStep.for(model, o.lossOptions) : null;
  const loss = (i: number) => {
    const { X, Y } = batchTensors(batch(i), model.reads);
    return model.loss(X, Y, { training: true, ...o.lossOptions });
  };
  return { ...o, params, stepper: fusedStep, loss };
}

function setRate(opt: TrainOptimizer, lr: number): void {
  if (opt.learningRate === lr) return;
  if (typeof opt.setLearningRate === 'function') opt.setLearningRate(lr);
  else opt.learningRate = lr;
}

async function runSteps(o: Settled, opt: TrainOptimizer): Promise<TrainResult> {
  const losses = new Float32Array(o.steps);
  const line = new LiveLine();
  const label = o.label ? o.label + ' ' : '';
  const progressMs = o.progressMs ?? 500;
  const fused = o.stepper !== null;
  const every = o.onStepEvery ?? 1;
  if (!Number.isInteger(every) || every < 1)
    throw new Error(`train: onStepEvery must be a whole number of steps ≥ 1, got ${o.onStepEvery}`);
  const t0 = performance.now();
  let lastShown = t0;
  let lastYield = t0;
  let lr = lrAt(o.learningRate, 0);
  // an optimizer made elsewhere starts at its own rate: the schedule's first value is the first step's
  setRate(opt, lr);
  const status = (i: number, now: number) => {
    const sps = i / ((now - t0) / 1000);
    const recent = losses.subarray(Math.max(0, i - 100), i);
    const avg = recent.reduce((a, b) => a + b, 0) / Math.max(1, recent.length);
    return `${label}step ${i}/${o.steps}  loss ${avg.toFixed(4)}  lr ${lr.toPrecision(3)}  ${sps.toFixed(0)} steps/s  ETA ${formatDuration((o.steps - i) / sps)}`;
  };
  // Leave the cell's synchronous start first: Node itself aborts a notebook cell's synchronous code on
  // SIGINT (with an error), and the loop must be past that point to stop cleanly on an interrupt.
  await yieldToEventLoop();
  if (trainingStopped()) {
    line.done(`${label}not started: training in this cell was interrupted`);
    return { losses: new Float32Array(0), seconds: 0, stepsPerSecond: 0, interrupted: true, fused };
  }
  for (let i = 0; i < o.steps; i++) {
    // Leftover work of a notebook cell that was cut off: stop, silently.
    if (inDeadCell()) throw new Interrupted('training: its cell was interrupted');
    const want = lrAt(o.learningRate, i);
    if (want !== lr) {
      lr = want;
      setRate(opt, lr);
    }
    const v = tf.tidy(() => {
      // deferred: the variables are written at the syncs below, before any code of the caller's runs
      if (o.stepper)
        return o.stepper.step((o.batch as (step: number) => Batch)(i), opt, lr, { defer: true, clip: o.gradClip });
      if (o.gradients || o.gradClip) {
        const r = o.gradients
          ? o.gradients(i)
          : (({ value, grads }) => ({ loss: value, grads }))(
              tf.variableGrads(() => (o.loss as (step: number) => tf.Scalar)(i), o.params),
            );
        opt.applyGradients(o.gradClip ? clipGradNorm(r.grads, o.gradClip) : r.grads);
        return r.loss.dataSync()[0] as number;
      }
      const cost = opt.minimize(() => (o.loss as (step: number) => tf.Scalar)(i), true, o.params);
      return cost ? (cost.dataSync()[0] as number) : NaN;
    });
    losses[i] = v;
    if (!Number.isFinite(v)) throw new Error(`loss became ${v} at step ${i} (learning rate ${lr}): training diverged`);
    const call = o.onStep && (i + 1) % every === 0;
    if (call || o.shouldStop) o.stepper?.sync();
    const hook = call ? o.onStep!(i, v) : undefined;
    if (hook) await hook;
    const interrupted = interruptRequested();
    if (interrupted || o.shouldStop?.()) {
      if (interrupted) {
        acknowledgeInterrupt();
        markTrainingStopped();
      }
      const done = i + 1;
      const seconds = (performance.now() - t0) / 1000;
      line.done(
        `${label}${interrupted ? 'interrupted' : 'stopped'} at step ${done}/${o.steps}: the parameters keep these ${done} steps of training`,
      );
      return { losses: losses.slice(0, done), seconds, stepsPerSecond: done / seconds, interrupted: true, fused };
    }
    const now = performance.now();
    if (progressMs > 0 && now - lastShown > progressMs) {
      line.set(status(i + 1, now));
      lastShown = now;
    }
    if (now - lastYield > 100) {
      o.stepper?.sync(); // timers and messages run during the yield
      await yieldToEventLoop();
      lastYield = performance.now();
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  // the mean of the last 100 steps, or of all of them in a shorter run (which says how many)
  const last = losses.subarray(Math.max(0, o.steps - 100));
  const mean = (last.reduce((a, b) => a + b, 0) / Math.max(1, last.length)).toFixed(4);
  const loss = `last-${last.length} loss ${mean}`;
  // In a notebook the final line is the same on every run (steps and loss: the runner's --check compares
  // printed numbers, and executed copies diff cleanly); the speed showed on the live line while it trained
  // and is in the result (seconds, stepsPerSecond). On a terminal the final line keeps the timing.
  const final = inNotebook()
    ? `${label}${o.steps} steps, ${loss}`
    : `${label}${o.steps} steps in ${formatDuration(seconds)} (${(o.steps / seconds).toFixed(0)} steps/s), ${loss}`;
  if (progressMs > 0) line.done(final);
  return { losses, seconds, stepsPerSecond: o.steps / seconds, interrupted: false, fused };
}
