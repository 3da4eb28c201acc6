/**
 * Optimizers. SGD is tf.train.sgd; Adam and AdamW are ours: one fused update per parameter (a loop in
 * our wasm kernels) instead of ~15 tensor ops per parameter (docs/performance.md). The moments live in
 * Float32Arrays, so they can be saved with a checkpoint and a resumed run continues exactly.
 */
import { tf } from '../runtime/tf';
import { Frame, setVariable, valuesOf } from '../backend/native/loader';

export type OptimizerName = 'sgd' | 'adam' | 'adamw';

export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Decoupled weight decay (AdamW, as torch.optim.AdamW: p ← p·(1 − lr·wd) before the Adam step). */
  weightDecay?: number;
  /**
   * Names of the variables weight decay leaves alone (torch's second parameter group with decay 0):
   * minGPT decays only Linear weights, not biases, LayerNorm or embeddings. Absent: every one decays.
   */
  noDecay?: ReadonlySet<string>;
}

/** A parameter in a Frame: its variable, and the byte offsets of its values and its gradient. */
export interface FrameParam {
  variable: tf.Variable;
  at: number;
  grad: number;
}

/** Adam's state by variable name: the step count and both moments, for checkpoints. */
export interface AdamState {
  step: number;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
}

/**
 * torch.optim.Adam / AdamW, same formula and order of operations:
 * m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε).
 * In float32, as torch does.
 */
export class Adam extends tf.Optimizer {
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  readonly noDecay: ReadonlySet<string>;
  private step = 0;
  private m = new Map<string, Float32Array>();
  private v = new Map<string, Float32Array>();

  constructor(learningRate: number, opts: AdamOptions = {}) {
    super();
    this.learningRate = learningRate;
    this.beta1 = opts.beta1 ?? ADAM_DEFAULTS.beta1;
    this.beta2 = opts.beta2 ?? ADAM_DEFAULTS.beta2;
    this.epsilon = opts.epsilon ?? ADAM_DEFAULTS.epsilon;
    this.weightDecay = opts.weightDecay ?? 0;
    this.noDecay = opts.noDecay ?? new Set();
  }

  override applyGradients(grads: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[]): void {
    const list = Array.isArray(grads) ? grads : Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
    const f = new Frame();
    const entries: FrameParam[] = [];
    for (const { name, tensor: grad } of list) {
      const variable = tf.engine().registeredVariables[name];
      if (!variable || grad == null) continue;
      entries.push({ variable, at: f.put(variable.size, valuesOf(variable)), grad: f.put(grad.size, valuesOf(grad)) });
    }
    this.updateInFrame(f, entries);
    for (const e of entries) setVariable(e.variable, f, e.at);
  }

  /**
   * One step for parameters whose values and gradients are in frame `f` (lib/fused's steps keep them
   * there): the values are updated in the frame, one pass of our wasm kernel (kernels.c: adam_step) each;
   * the moments stay here.
   */
  updateInFrame(f: Frame, entries: FrameParam[]): void {
    this.step++;
    const { beta1: b1, beta2: b2, epsilon: eps, learningRate: lr } = this;
    const stepSize = lr / (1 - b1 ** this.step);
    const bc2Sqrt = Math.sqrt(1 - b2 ** this.step);
    const decay = 1 - lr * this.weightDecay;
    for (const { variable, at, grad } of entries) {
      const { name, size: n } = variable;
      let m = this.m.get(name);
      let v = this.v.get(name);
      if (!m || !v) {
        m = new Float32Array(n);
        v = new Float32Array(n);
        this.m.set(name, m);
        this.v.set(name, v);
      }
      const pm = f.put(n, m);
      const pv = f.put(n, v);
      f.k.adam_step(at, grad, pm, pv, n, b1, b2, stepSize, bc2Sqrt, eps, this.noDecay.has(name) ? 1 : decay);
      m.set(f.view(pm, n));
      v.set(f.view(pv, n));
    }
    this.incrementIterations();
  }

  /** A copy of the state (step count and moments by variable name). */
  state(): AdamState {
    const copy = (mp: Map<string, Float32Array>) => Object.fromEntries([...mp].map(([k, a]) => [k, a.slice()]));
    return { step: this.step, m: copy(this.m), v: copy(this.v) };
  }

  /** Restores a state saved by `state()`; moment shapes are checked against the variables. */
  loadState(s: AdamState): void {
    for (const [name, a] of Object.entries(s.m)) {
      const variable = tf.engine().registeredVariables[name];
      if (variable && variable.size !== a.length)
        throw new Error(`optimizer state for '${name}' has ${a.length} values, the variable ${variable.size}`);
    }
    this.step = s.step;
    this.m = new Map(Object.entries(s.m).map(([k, a]) => [k, a.slice()]));
    this.v = new Map(Object.entries(s.v).map(([k, a]) => [k, a.slice()]));
  }

  override dispose(): void {
    this.m.clear();
    this.v.clear();
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      weightDecay: this.weightDecay,
    };
  }
}

export type TrainOptimizer = tf.Optimizer & { learningRate: number; setLearningRate?: (lr: number) => void };

/**
 * torch.optim's defaults for what is not given: Adam β (0.9, 0.999), ε 1e-8; AdamW the same and weight
 * decay 0.01. A trainer with other values passes them (makemore: β2 0.99, from its option table).
 */
const ADAM_DEFAULTS = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const;
const ADAMW_WEIGHT_DECAY = 0.01;

/** sgd, adam (no weight decay) or adamw (decoupled weight decay), with torch's defaults where `opts` gives none. */
export function createOptimizer(name: OptimizerName, learningRate: number, opts: AdamOptions = {}): TrainOptimizer {
  const adam = {
    beta1: opts.beta1 ?? ADAM_DEFAULTS.beta1,
    beta2: opts.beta2 ?? ADAM_DEFAULTS.beta2,
    epsilon: opts.epsilon ?? ADAM_DEFAULTS.epsilon,
    noDecay: opts.noDecay,
  };
  switch (name) {
    case 'sgd':
      return tf.train.sgd(learningRate) as unknown as TrainOptimizer;
    case 'adam':
      return new Adam(learningRate, { ...adam, weightDecay: 0 });
    case 'adamw':
      return new Adam(learningRate, { ...adam, weightDecay: opts.weightDecay ?? ADAMW_WEIGHT_DECAY });
    default:
      throw new Error(`unknown optimizer '${String(name)}' (sgd, adam, adamw)`);
  }
}
