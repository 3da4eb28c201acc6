/**
 * A whole training step — forward, backward and the optimizer's update — as one pass of our wasm
 * kernels (lib/backend/native: gemm.c, steps.c, kernels.c's adam_step) instead of dozens of tfjs op
 * dispatches with their tape. A model hands over its definition, the chain of lib/nn layers its tfjs
 * forward walks (`chain()`), and the step walks the same layers' fused halves (each defined beside its
 * tfjs forward, lib/fused/frame.ts): forward, the loss, backward in reverse, the update. A model with a
 * layer that has no fused half (dropout while training, say) trains through the ops.
 *
 * The parameters stay in the kernels' memory between steps (the resident region); train() writes them
 * back to the model's variables before any other code can read them (sync), and a variable assigned
 * elsewhere is copied in again before the next step.
 */
import { tf } from '../runtime/tf';
import { Frame, holdResident, setVariable, valuesOf } from '../backend/native/loader';
import type { Adam, FrameParam } from '../train/optimizers';
import type { Batch } from '../data/batches';
import { checkTargets } from '../nn/losses';
import { checkFusedSettings } from '../backend/native/threads';
import { fuseChain, redefinedBelow, StepFrame, type Fusable, type FusedLayer } from './frame';

/**
 * A model's definition as its fused step reads it: the layers from ids to logits (the same objects
 * its tfjs forward runs), and how a batch becomes the ids those layers read.
 */
export interface Chain {
  readonly layers: readonly Fusable[];
  /**
   * The ids the first layer reads for a batch (the model's own arrangement of them: time-major for a
   * recurrent net, each position's window for makemore's MLP) and the targets of the rows it scores.
   */
  rows(b: Batch): { ids: Int32Array; targets: Int32Array };
  /** reg·mean(W²) on a table added to the loss (the bigram net's regularisation). */
  reg?: { table: tf.Variable; weight: number };
}

/** What a fused step trains: a model's parameters, its chain, and what its batches hold. */
export interface Trainable {
  params(): tf.Variable[];
  readonly reads: 'window' | 'sequence';
  readonly blockSize: number;
  readonly vocabSize: number;
  /** The model's definition for a fused step (with its loss options), or null where it has none. */
  chain(lossOptions?: object): Chain | null;
}

interface Plan {
  layers: FusedLayer[];
  rows: Chain['rows'];
  reg: Chain['reg'];
}

type Net = Omit<Trainable, 'chain'>;

/** Where the parameters live between steps: the resident region (loader.ts's holdResident). */
interface Home {
  value: Map<tf.Variable, number>;
  grad: Map<tf.Variable, number>;
  /** Each parameter's tensor data id when its values in the region were last equal to the variable's. */
  ids: unknown[];
  release(): void;
}

const dataIdOf = (v: tf.Variable): unknown => (v as unknown as { dataId: unknown }).dataId;
const padded = (n: number): number => (n * 4 + 15) & ~15;

export class FusedStep {
  private readonly ps: tf.Variable[];
  private home: Home | null = null;
  /** Updates in the region not yet written to the variables (steps run with `defer`). */
  private pending = false;
  private constructor(
    private readonly model: Net,
    private readonly plan: Plan,
  ) {
    this.ps = model.params();
  }

  /** The fused step of `model` (its loss options passed to its chain), or null where a layer has no fused half. */
  static for(model: Trainable, lossOptions?: object): FusedStep | null {
    if (redefinedBelow(model, ['forward', 'logits', 'loss'], 'chain')) return null;
    const chain = model.chain(lossOptions);
    const layers = chain && fuseChain(chain.layers);
    if (!layers) return null;
    checkFusedSettings(); // a bad SEQUENTIA_THREADS or SEQUENTIA_FMA: an error before the first step
    return new FusedStep(model, { layers, rows: chain.rows, reg: chain.reg });
  }

  /** A fused step over parameters outside a model (notebook 10's hand-written net): `net` and its chain. */
  static over(net: Net, chain: Chain): FusedStep {
    const layers = fuseChain(chain.layers);
    if (!layers) throw new Error('fused step: a layer of the chain has no fused half');
    checkFusedSettings();
    return new FusedStep(net, { layers, rows: chain.rows, reg: chain.reg });
  }

  /** The parameters the step updates. */
  params(): tf.Variable[] {
    return this.ps.slice();
  }

  /** Whether a fused step can apply `optimizer`'s update: tf.train.sgd, or lib's Adam and AdamW. */
  static updates(optimizer: tf.Optimizer): boolean {
    return isAdam(optimizer) || optimizer.getClassName() === tf.SGDOptimizer.className;
  }

  /**
   * One step on `batch` (windows and their targets, or sequences with −1 targets ignored): the
   * optimizer's update, where `optimizer` is tf.train.sgd (p ← p − lr·g, with `lr`) or lib's Adam(W)
   * (its own state and learning rate). Returns the batch's loss before the update. The parameters stay
   * in the kernels' memory between steps; with `defer`, the model's variables (and BatchNorm's running
   * statistics) get the new values only at `sync()` — train() syncs before anything else can read them.
   * With `clip`, the gradients' global norm is clipped to it first (torch.nn.utils.clip_grad_norm_).
   */
  step(batch: Batch, optimizer: tf.Optimizer, lr: number, opts: { defer?: boolean; clip?: number } = {}): number {
    if (!FusedStep.updates(optimizer))
      throw new Error('fused step: the optimizer must be tf.train.sgd or lib/train/optimizers’ Adam');
    const f = this.frame(batch);
    const loss = this.forwardBackward(f, batch);
    const entries: FrameParam[] = this.ps.map((p) => ({ variable: p, at: f.value.get(p)!, grad: f.grad.get(p)! }));
    if (opts.clip !== undefined) clipGradNorm(f, entries, opts.clip);
    if (isAdam(optimizer)) optimizer.updateInFrame(f, entries);
    else for (const e of entries) f.k.sgd_step(e.at, e.grad, e.variable.size, lr);
    for (const l of this.plan.layers) l.commit?.(f);
    this.pending = true;
    if (!opts.defer) this.sync();
    return loss;
  }

  /** Writes the updates of deferred steps to the model's variables (nothing to do when there are none). */
  sync(): void {
    const h = this.home;
    if (!this.pending || !h) return;
    const f = new Frame();
    this.ps.forEach((p, i) => {
      setVariable(p, f, h.value.get(p)!);
      h.ids[i] = dataIdOf(p);
    });
    for (const l of this.plan.layers) l.writeBack?.(f);
    this.pending = false;
  }

  /** sync(), then gives the kernels' memory the parameters held back (the next step copies them in again). */
  release(): void {
    this.sync();
    this.home?.release();
    this.home = null;
  }

  /**
   * The batch's mean loss, forward only, with the parameters the steps left (evaluation: nanoGPT's
   * estimate_loss; the layers run as in training, so only a model without dropout has a fused step).
   */
  loss(batch: Batch): number {
    const f = this.frame(batch);
    const { ids, targets } = this.plan.rows(batch);
    let x = { at: f.putInt(ids.length, ids), rows: ids.length, width: 1 };
    const y = f.putInt(targets.length, targets);
    f.examples = targets.length;
    for (const l of this.plan.layers) x = l.forward(f, x);
    return f.k.cross_entropy(x.at, y, f.act(x.rows, x.width).at, x.rows, x.width);
  }

  /** The loss and every parameter's gradient by variable name, without updating anything (for tests). */
  gradients(batch: Batch): { loss: number; grads: Record<string, Float32Array> } {
    const f = this.frame(batch);
    const loss = this.forwardBackward(f, batch);
    return { loss, grads: Object.fromEntries(this.ps.map((p) => [p.name, f.take(f.grad.get(p)!, p.size)])) };
  }

  /**
   * The parameters in the resident region: placed there at the first step (or after another holder took
   * the region), and copied in again from any variable assigned since (its data id changed).
   */
  private resident(): Home {
    if (!this.home) {
      const bytes = this.ps.reduce((s, p) => s + 2 * padded(p.size), 0);
      const region = holdResident(bytes, () => {
        this.sync(); // another holder takes the region: write back what it holds first
        this.home = null;
      });
      const [value, grad] = [new Map<tf.Variable, number>(), new Map<tf.Variable, number>()];
      let at = region.at;
      for (const p of this.ps) {
        value.set(p, at);
        grad.set(p, at + padded(p.size));
        at += 2 * padded(p.size);
      }
      this.home = { value, grad, ids: this.ps.map(() => null), release: region.release };
    }
    const h = this.home;
    const f = new Frame();
    this.ps.forEach((p, i) => {
      if (h.ids[i] === dataIdOf(p)) return;
      f.view(h.value.get(p)!, p.size).set(valuesOf(p));
      h.ids[i] = dataIdOf(p);
    });
    return h;
  }

  private frame(b: Batch): StepFrame {
    const window = this.model.reads === 'window';
    const ok = window
      ? b.X.length === b.rows * this.model.blockSize && b.Y.length === b.rows
      : b.X.length === b.Y.length && b.X.length % b.rows === 0;
    if (!ok || b.rows <= 0)
      throw new Error(`fused step: a batch of ${b.rows} rows has ${b.X.length} ids in X and ${b.Y.length} targets`);
    // the kernels index tables with these ids unchecked: one out of range would read another row, silently
    const V = this.model.vocabSize;
    const shape = window ? [b.rows] : [b.rows, b.Y.length / b.rows];
    checkTargets(b.Y, shape, V, window ? undefined : -1);
    for (let i = 0; i < b.X.length; i++) {
      const id = b.X[i] as number;
      if (!(id >= 0 && id < V))
        throw new RangeError(
          `fused step: input id ${id} at position ${i} of the batch is outside the vocabulary [0, ${V})`,
        );
    }
    const h = this.resident();
    const f = new StepFrame(h.value, h.grad, window ? 1 : b.X.length / b.rows);
    for (const p of this.ps) f.view(h.grad.get(p)!, p.size).fill(0); // a layer may leave part unwritten (wpe past T)
    return f;
  }

  private forwardBackward(f: StepFrame, b: Batch): number {
    const { layers, reg } = this.plan;
    const { ids, targets } = this.plan.rows(b);
    if (targets.length === 0 || ids.length % targets.length !== 0)
      throw new Error(`fused step: ${ids.length} ids for ${targets.length} targets`);
    let x = { at: f.putInt(ids.length, ids), rows: ids.length, width: 1 };
    const y = f.putInt(targets.length, targets);
    f.examples = targets.length;
    const penalty = () => (reg && reg.weight > 0 ? regularise(f, reg.table, reg.weight) : 0);
    const whole = layers.length === 1 ? layers[0]!.tableLoss?.(f, x, y) : undefined;
    if (whole !== undefined && whole !== null) return whole + penalty();
    for (const l of layers) x = l.forward(f, x);
    if (x.rows !== targets.length)
      throw new Error(`fused step: ${x.rows} rows of logits for ${targets.length} targets`);
    let dy = f.act(x.rows, x.width);
    const loss = f.k.cross_entropy(x.at, y, dy.at, x.rows, x.width);
    for (let i = layers.length - 1; i >= 0; i--) dy = layers[i]!.backward(f, dy);
    return loss + penalty();
  }
}

// tf.Optimizer answers `instanceof` for every optimizer (its Symbol.hasInstance checks for methods).
function isAdam(o: tf.Optimizer): o is Adam {
  return typeof (o as Partial<Adam>).updateInFrame === 'function';
}

/**
 * torch.nn.utils.clip_grad_norm_: every gradient times min(1, maxNorm / (‖all gradients‖₂ + 1e-6)). The
 * squares are summed in double, in order, across the parameters (kernels.c's sum_squares).
 */
function clipGradNorm(f: StepFrame, entries: readonly FrameParam[], maxNorm: number): void {
  if (!(maxNorm > 0)) throw new Error(`fused step: the gradient clip must be a number > 0, got ${maxNorm}`);
  let sq = 0;
  for (const e of entries) sq = f.k.sum_squares(sq, e.grad, e.variable.size);
  const coef = Math.fround(maxNorm / (Math.sqrt(sq) + 1e-6));
  if (coef >= 1) return;
  for (const e of entries) f.k.scale_inplace(e.grad, e.variable.size, coef);
}

/** reg·mean(W²), returned, and its gradient 2·reg·W / |W| added to W's. */
function regularise(f: StepFrame, W: tf.Variable, reg: number): number {
  const w = f.view(f.value.get(W)!, W.size);
  const g = f.view(f.grad.get(W)!, W.size);
  const c = Math.fround((2 * reg) / W.size);
  let sq = 0;
  for (let i = 0; i < w.length; i++) {
    sq += w[i]! * w[i]!;
    g[i] = g[i]! + Math.fround(c * w[i]!);
  }
  return Math.fround((reg * sq) / W.size);
}
