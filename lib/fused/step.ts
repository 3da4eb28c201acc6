/**
 * A whole training step — forward, backward and the optimizer's update — as one pass of our wasm
 * kernels (lib/backend/native: gemm.c, steps.c, kernels.c's adam_step) instead of dozens of tfjs op
 * dispatches with their tape. It computes what `model.loss(X, Y, { training: true })` and its gradients
 * compute, in the same order of operations (test/fused checks losses and gradients against the ops);
 * the notebooks teach the ops, and train() runs this when it knows the model.
 *
 * Covered: the lecture's bigram net and MLP, Sequential stacks of Embedding, FlattenConsecutive, Linear,
 * BatchNorm1d (or notebook 11's buggy BatchNormDim0) and Tanh (notebooks 04–06 and 11), makemore's bigram, MLP, bag of words, WaveNet and
 * transformer (without dropout), and the RNN, GRU and LSTM language models (notebooks 07–09). Anything
 * else is `null` here and trains through the ops.
 *
 * Each step copies the parameters into the kernels' memory, runs, and writes the updated values back
 * to the model's variables, so the model stays the one source of truth (checkpoints, evaluation and the
 * op path see every step).
 */
import { tf } from '../runtime/tf';
import { Frame, holdResident, setVariable, valuesOf } from '../backend/native/loader';
import type { Adam, FrameParam } from '../train/optimizers';
import { MLP } from '../models/lecture/mlp';
import { BigramNet } from '../models/lecture/bigram-net';
import { Sequential } from '../models/lecture/sequential';
import { Bigram } from '../models/zoo/bigram';
import { MakemoreMLP } from '../models/zoo/mlp';
import { BagOfWords } from '../models/zoo/bow';
import { WaveNet } from '../models/zoo/wavenet';
import { RecurrentLM } from '../models/recurrent';
import { Transformer } from '../models/zoo/transformer';
import { BatchNorm1d, Embedding, FlattenConsecutive, Linear, Tanh, type Layer, type LayerNorm } from '../nn/layers';
import { BatchNormDim0 } from '../nn/batchnorm-dim0';
import type { LanguageModel } from '../models/language-model';
import type { Params } from '../models/lecture/backprop';
import type { Batch } from '../data/batches';
import { checkTargets } from '../nn/losses';
import {
  FusedActivation,
  FusedAddPositions,
  FusedAttention,
  FusedLayerNorm,
  FusedContextLinear,
  FusedGather,
  FusedGRU,
  FusedBatchNorm,
  FusedBatchNormDim0,
  FusedCausalMean,
  FusedFlatten,
  FusedLinear,
  FusedRecurrence,
  FusedResidual,
  StepFrame,
  type FusedInput,
  type FusedLayer,
} from './layers';

/** What the step knows of a model: the embedding at the bottom, the layers above, the loss's extras. */
interface Plan {
  input: FusedInput;
  /** The table's row ids for a batch, `positions` per scored row, and the scored rows' targets. */
  ids: (b: Batch) => { ids: Int32Array; targets: Int32Array };
  positions: number;
  layers: FusedLayer[];
  /** The bigram net's `reg`·mean(W²) on its table. */
  reg: number;
}

function fusedLayers(layers: Layer[]): FusedLayer[] | null {
  const out: FusedLayer[] = [];
  for (const l of layers) {
    // exact classes only: a subclass (a notebook's variation of a layer) may compute something else
    if (l.constructor === Linear) out.push(new FusedLinear((l as Linear).W, (l as Linear).b));
    else if (l.constructor === Tanh) out.push(new FusedActivation('tanh'));
    else if (l.constructor === BatchNorm1d) out.push(new FusedBatchNorm(l as BatchNorm1d));
    else if (l.constructor === BatchNormDim0) out.push(new FusedBatchNormDim0(l as BatchNormDim0));
    else if (l.constructor === FlattenConsecutive) out.push(new FusedFlatten((l as FlattenConsecutive).n));
    else return null;
  }
  return out;
}

const linear = (l: Linear) => new FusedLinear(l.W, l.b);
const asIs = (b: Batch) => ({ ids: b.X, targets: b.Y });

/** Sequences [rows, T] as [T, rows]: ids and targets time-major. */
function timeMajor(b: Batch): { ids: Int32Array; targets: Int32Array } {
  const T = b.X.length / b.rows;
  const ids = new Int32Array(b.X.length);
  const targets = new Int32Array(b.Y.length);
  for (let r = 0; r < b.rows; r++)
    for (let t = 0; t < T; t++) {
      ids[t * b.rows + r] = b.X[r * T + t]!;
      targets[t * b.rows + r] = b.Y[r * T + t]!;
    }
  return { ids, targets };
}

/** makemore's MLP context: for each position t, the ids at t, t−1, …, t−bs+1 (blank V before the start). */
function contexts(b: Batch, bs: number, V: number): Int32Array {
  const T = b.X.length / b.rows;
  const ctx = new Int32Array(b.X.length * bs);
  for (let r = 0; r < b.rows; r++)
    for (let t = 0; t < T; t++)
      for (let k = 0; k < bs; k++) ctx[(r * T + t) * bs + k] = t - k >= 0 ? b.X[r * T + t - k]! : V;
  return ctx;
}

function plan(model: LanguageModel, reg: number): Plan | null {
  const c = model.constructor;
  if (reg !== 0 && c !== BigramNet) return null;
  const base = { ids: asIs, positions: 1, reg };
  const gather = (table: tf.Variable) => new FusedGather(table);
  if (c === BigramNet) return { ...base, input: gather((model as BigramNet).W), layers: [] };
  if (c === MLP) {
    const m = model as MLP;
    const T = m.config.blockSize;
    const layers = [
      new FusedFlatten(T),
      new FusedLinear(m.W1, m.b1),
      new FusedActivation('tanh'),
      new FusedLinear(m.W2, m.b2),
    ];
    return { ...base, input: gather(m.C), positions: T, layers };
  }
  if (c === Sequential) return sequential(model as Sequential, base);
  if (c === Bigram) return { ...base, input: gather((model as Bigram).table), layers: [] };
  if (c === MakemoreMLP) {
    const m = model as MakemoreMLP;
    const bs = m.config.blockSize;
    const input = new FusedContextLinear(m.wte, m.hidden.W, m.hidden.b, bs);
    const ids = (b: Batch) => ({ ids: contexts(b, bs, m.config.vocabSize), targets: b.Y });
    return { ...base, input, ids, positions: bs, layers: [new FusedActivation('tanh'), linear(m.head)] };
  }
  if (c === BagOfWords) {
    const m = model as BagOfWords;
    const mlp = new FusedResidual([linear(m.fc), new FusedActivation('tanh'), linear(m.proj)]);
    const layers = [new FusedAddPositions(m.wpe), new FusedCausalMean(), mlp, linear(m.head)];
    return { ...base, input: gather(m.wte), layers };
  }
  if (c === RecurrentLM) {
    const m = model as RecurrentLM;
    const { cell, nHidden: H } = m.config;
    if (H % 4 !== 0) return null;
    // time-major, as RecurrentLM runs it: step t's rows are contiguous
    const recurrence = cell === 'gru' ? new FusedGRU(m.Wh, m.start) : new FusedRecurrence(cell, m.Wh, m.start);
    const layers = [new FusedLinear(m.Wx, m.b), recurrence, new FusedLinear(m.lmW, m.lmB)];
    return { ...base, input: gather(m.wte), ids: timeMajor, layers };
  }
  if (c === Transformer) {
    const m = model as Transformer;
    if ((m.config.dropout ?? 0) > 0 || m.config.blockSize > 64) return null; // dropout: the ops; T ≤ 64: attn kernels
    const ln = (l: LayerNorm) => new FusedLayerNorm(l);
    const blocks = m.blocks.flatMap((b) => [
      new FusedResidual([ln(b.ln1), linear(b.attn), new FusedAttention(b.nHead), linear(b.attnProj)]),
      new FusedResidual([ln(b.ln2), linear(b.fc), new FusedActivation('gelu'), linear(b.proj)]),
    ]);
    const layers = [new FusedAddPositions(m.wpe), ...blocks, ln(m.lnF), linear(m.head)];
    return { ...base, input: gather(m.wte), layers };
  }
  if (c === WaveNet) {
    const m = model as WaveNet;
    const net = sequential(m.net, base);
    return net && { ...net, ids: (b: Batch) => m.scoredWindows(b) };
  }
  return null;
}

/** A Sequential: its own table flattened (notebook 06's form), or an Embedding layer first (notebook 11's). */
function sequential(s: Sequential, base: Pick<Plan, 'ids' | 'positions' | 'reg'>): Plan | null {
  if (s.C) {
    const layers = fusedLayers(s.layers);
    return (
      layers && {
        ...base,
        input: new FusedGather(s.C),
        positions: s.blockSize,
        layers: [new FusedFlatten(s.blockSize), ...layers],
      }
    );
  }
  const [first, flatten, linear, ...rest] = s.layers;
  if (first?.constructor !== Embedding) return null;
  const table = (first as Embedding).weight;
  if (flatten?.constructor === FlattenConsecutive && linear?.constructor === Linear) {
    // the embedding, its first flatten and Linear as one product per position of the group (WaveNet's
    // pairs): the table's 27 rows times W, instead of every gathered copy
    const { W, b } = linear as Linear;
    const input = new FusedContextLinear(table, W, b, (flatten as FlattenConsecutive).n);
    const layers = fusedLayers(rest);
    return layers && { ...base, input, positions: s.blockSize, layers };
  }
  const layers = fusedLayers(s.layers.slice(1));
  return layers && { ...base, input: new FusedGather(table), positions: s.blockSize, layers };
}

export interface FusedStepOptions {
  /** The bigram net's regularisation (BigramNet's `reg` loss option). */
  reg?: number;
}

/** What a fused step trains: its parameters, and what its batches hold (windows, or sequences). */
type Net = Pick<LanguageModel, 'params' | 'reads' | 'blockSize' | 'vocabSize'>;

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

  /** The fused step of `model`, or null when lib/fused does not cover it (train with the ops). */
  static for(model: LanguageModel, opts: FusedStepOptions = {}): FusedStep | null {
    const p = plan(model, opts.reg ?? 0);
    return p && new FusedStep(model, p);
  }

  /**
   * Notebook 10's hand-written net (lib/models/lecture/backprop.ts, manualGradients): C, Linear,
   * BatchNorm with Bessel's n − 1 in the batch variance and no running statistics, tanh, Linear.
   */
  static forHandWritten(p: Params<tf.Variable>, blockSize: number): FusedStep {
    const net: Net = {
      params: () => [p.C, p.W1, p.b1, p.W2, p.b2, p.bngain, p.bnbias],
      reads: 'window',
      blockSize,
      vocabSize: p.C.shape[0] as number,
    };
    const layers = [
      new FusedFlatten(blockSize),
      new FusedLinear(p.W1, p.b1),
      new FusedBatchNorm({ gamma: p.bngain, beta: p.bnbias, eps: 1e-5, bessel: true }),
      new FusedActivation('tanh'),
      new FusedLinear(p.W2, p.b2),
    ];
    return new FusedStep(net, { input: new FusedGather(p.C), ids: asIs, positions: blockSize, layers, reg: 0 });
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
   */
  step(batch: Batch, optimizer: tf.Optimizer, lr: number, opts: { defer?: boolean } = {}): number {
    if (!FusedStep.updates(optimizer))
      throw new Error('fused step: the optimizer must be tf.train.sgd or lib/train/optimizers’ Adam');
    const f = this.frame(batch);
    const loss = this.forwardBackward(f, batch);
    const entries: FrameParam[] = this.ps.map((p) => ({ variable: p, at: f.value.get(p)!, grad: f.grad.get(p)! }));
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
    const { input, positions, layers, reg } = this.plan;
    const { table } = input;
    const { ids, targets } = this.plan.ids(b);
    const [V, D] = table.shape as [number, number];
    if (ids.length !== targets.length * positions) throw new Error('fused step: ids and targets disagree');
    const at = f.putInt(ids.length, ids);
    const y = f.putInt(targets.length, targets);
    f.examples = targets.length;
    if (layers.length === 0 && input instanceof FusedGather && D <= 64) {
      // the bigram models: the logits are the table's rows, read in place
      const loss = f.k.table_cross_entropy(f.value.get(table)!, at, y, f.grad.get(table)!, ids.length, D, V);
      return reg > 0 ? loss + regularise(f, table, reg) : loss;
    }
    let x = input.forward(f, at, ids.length);
    for (const l of layers) x = l.forward(f, x);
    let dy = f.act(x.rows, x.width);
    let loss = f.k.cross_entropy(x.at, y, dy.at, x.rows, x.width);
    for (let i = layers.length - 1; i >= 0; i--) dy = layers[i]!.backward(f, dy);
    input.backward(f, dy);
    if (reg > 0) loss += regularise(f, table, reg);
    return loss;
  }
}

// tf.Optimizer answers `instanceof` for every optimizer (its Symbol.hasInstance checks for methods).
function isAdam(o: tf.Optimizer): o is Adam {
  return typeof (o as Partial<Adam>).updateInFrame === 'function';
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
