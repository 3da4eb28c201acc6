/**
 * Looking inside a network while it trains (the "MLP done right" lecture): activation statistics per
 * layer, weight-gradient statistics, and the update-to-data ratio of every weight matrix per step.
 */
import { tf } from '../runtime/tf';
import { crossEntropy } from '../nn/losses';
import { LiveLine } from '../runtime/display';
import { yieldToEventLoop } from './loop';
import { Sequential } from '../models/lecture/sequential';
import { Linear, Tanh } from '../nn/layers';

export interface TensorStats {
  name: string;
  mean: number;
  std: number;
  /** Up to `maxValues` values, for a histogram. */
  values: Float32Array;
}

function stats(name: string, t: tf.Tensor, maxValues = 20000): TensorStats & { saturated: number } {
  const v = t.dataSync() as Float32Array;
  let s = 0;
  let s2 = 0;
  let sat = 0;
  for (const x of v) {
    s += x;
    s2 += x * x;
    if (Math.abs(x) > 0.97) sat++;
  }
  const mean = s / v.length;
  return {
    name,
    mean,
    std: Math.sqrt(Math.max(0, s2 / v.length - mean * mean)),
    values: v.slice(0, maxValues),
    saturated: sat / v.length,
  };
}

/**
 * A layer's name in every table and legend of the diagnostics: its index in the model and its kind, as
 * the lecture prints them (`layer %d (%10s)`): "layer 2 (Tanh)", "layer 15 (Linear)".
 */
const layerName = (i: number, kind: string) => `layer ${i} (${kind})`;

/** Output statistics of every Tanh layer for one batch (training-mode forward); `saturated` = |t| > 0.97. */
export function tanhActivations(model: Sequential, X: tf.Tensor2D): (TensorStats & { saturated: number })[] {
  const kept: tf.Tensor[] = [];
  tf.tidy(() => {
    model.forward(X, undefined, { training: true, keep: kept });
  });
  const out = model.layers.flatMap((l, i) =>
    l instanceof Tanh ? [stats(layerName(i, 'Tanh'), kept[i] as tf.Tensor)] : [],
  );
  tf.dispose(kept);
  return out;
}

/** Gradient statistics of every Linear weight for one batch, with the grad:data ratio std(g)/std(W). */
export function weightGradients(
  model: Sequential,
  X: tf.Tensor2D,
  Y: tf.Tensor1D,
): (TensorStats & { ratio: number; shape: number[] })[] {
  const linears = model.layers.map((l, i) => [l, i] as const).filter(([l]) => l instanceof Linear) as [
    Linear,
    number,
  ][];
  const { grads, value } = tf.variableGrads(
    () => crossEntropy(model.forward(X, undefined, { training: true }).logits, Y),
    linears.map(([l]) => l.W),
  );
  const out = linears.map(([l, i]) => {
    const g = grads[l.W.name] as tf.Tensor;
    const s = stats(layerName(i, 'Linear'), g);
    const wStd = tf.tidy(() => tf.moments(l.W).variance.sqrt().dataSync()[0] as number);
    return { name: s.name, mean: s.mean, std: s.std, values: s.values, ratio: s.std / wStd, shape: l.W.shape };
  });
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

export interface DiagnosticRun {
  losses: Float32Array;
  /** ud[k][step] = log10(lr·std(grad)/std(W)) for the k-th Linear weight. */
  ud: Float32Array[];
  /** The k-th Linear's name, as weightGradients names it ("layer 15 (Linear)"). */
  names: string[];
}

/** Plain SGD for `steps` steps that also records every Linear weight's update-to-data ratio. */
export async function trainWithUpdateRatios(
  model: Sequential,
  batch: () => { X: tf.Tensor2D; Y: tf.Tensor1D },
  steps: number,
  lr: number,
): Promise<DiagnosticRun> {
  const params = model.params();
  const linears = model.layers.flatMap((l, i) =>
    l instanceof Linear ? [{ W: l.W, name: layerName(i, 'Linear') }] : [],
  );
  const weights = linears.map((l) => l.W);
  const losses = new Float32Array(steps);
  const ud = weights.map(() => new Float32Array(steps));
  const line = new LiveLine();
  for (let i = 0; i < steps; i++) {
    const row = tf.tidy(() => {
      const { X, Y } = batch();
      const { value, grads } = tf.variableGrads(
        () => crossEntropy(model.forward(X, undefined, { training: true }).logits, Y),
        params,
      );
      const ratios = weights.map((w) => {
        const g = grads[w.name] as tf.Tensor;
        return tf.moments(g).variance.sqrt().mul(lr).div(tf.moments(w).variance.sqrt()).log().div(Math.LN10);
      });
      for (const p of params) p.assign(p.sub((grads[p.name] as tf.Tensor).mul(lr)));
      return tf.concat([value.reshape([1]), ...ratios.map((r) => r.reshape([1]))]);
    });
    const v = row.dataSync();
    row.dispose();
    losses[i] = v[0] as number;
    weights.forEach((_, k) => {
      (ud[k] as Float32Array)[i] = v[k + 1] as number;
    });
    if (i % 50 === 0) {
      line.set(`diagnostic run: step ${i}/${steps} loss ${(v[0] as number).toFixed(4)}`);
      await yieldToEventLoop();
    }
  }
  line.done(`diagnostic run: ${steps} steps, last loss ${(losses[steps - 1] ?? NaN).toFixed(4)}`);
  return { losses, ud, names: linears.map((l) => l.name) };
}
