/**
 * The one sampling loop, shared by every generator — the counting notebooks' probability table, the
 * lecture's window models, the zoo and the recurrent models. No tensors here, so the counting notebooks
 * need no TensorFlow.js: a model plugs in through a `Stepper` (see generate.ts for the adapters).
 */
import type { Rng } from '../random/rng';
import { throwIfInterrupted } from '../runtime/interrupt';

export interface SampleOptions {
  /** Divides the logits: < 1 sharper, > 1 flatter. Must be > 0. */
  temperature?: number;
  /** Keep only the k most likely tokens before drawing. */
  topK?: number;
}

function checkSampleOptions(o: SampleOptions): void {
  if (o.temperature !== undefined && !(o.temperature > 0))
    throw new Error(`temperature must be > 0, got ${o.temperature}`);
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK > 0))
    throw new Error(`topK must be a positive integer, got ${o.topK}`);
}

/** Probabilities from one row of logits, after temperature and top-k (float32, as torch's softmax). */
export function probsFromLogits(logits: ArrayLike<number>, o: SampleOptions = {}): Float32Array {
  const t = o.temperature ?? 1;
  const scaled = Array.from(logits, (v) => Math.fround(v / t));
  if (o.topK !== undefined && o.topK < scaled.length) {
    const kth = [...scaled].sort((a, b) => b - a)[o.topK - 1] as number;
    for (let i = 0; i < scaled.length; i++) if ((scaled[i] as number) < kth) scaled[i] = -Infinity;
  }
  const max = Math.max(...scaled);
  const e = scaled.map((v) => Math.exp(v - max));
  const s = e.reduce((a, b) => a + b, 0);
  return Float32Array.from(e, (v) => v / s);
}

/**
 * A model seen by the loop: given the tokens just drawn (one per row; null on the first call, when the
 * rows hold only the prefix), the distribution over each row's next token, rows × vocabulary, flat.
 */
export interface Stepper {
  /** 'probabilities' are drawn from as they are; 'logits' go through temperature and top-k first. */
  readonly gives: 'probabilities' | 'logits';
  next(drawn: readonly number[] | null): Float32Array;
  dispose(): void;
}

/** Opens a stepper for `rows` rows that all start from `prefix`. */
export type StepperFactory = (rows: number, prefix: readonly number[]) => Stepper;

export interface DrawOptions extends SampleOptions {
  /** How many sequences. */
  count: number;
  /** Tokens drawn per sequence at most. */
  maxLength: number;
  /**
   * Rows run together. 1 (the default): one sequence after the other, as the lecture samples; count:
   * all at once, each step drawing row by row, as makemore's generate does. Either way the same seed
   * gives the same sequences.
   */
  batch?: number;
  /** Token ids every row starts from (default [0], the boundary token). */
  prefix?: readonly number[];
  /** Stop a row when it draws the boundary token 0 (default true); makemore draws a fixed length. */
  stopAtBoundary?: boolean;
}

export interface Drawn {
  /** Each row's drawn tokens (prefix not included, the final boundary not included). */
  ids: number[][];
  /** Whether each row ended by drawing the boundary token. */
  ended: boolean[];
}

export function draw(open: StepperFactory, rng: Rng, o: DrawOptions): Drawn {
  checkSampleOptions(o);
  const { count, maxLength } = o;
  const batch = o.batch ?? 1;
  if (!(Number.isInteger(count) && count >= 0)) throw new Error(`count must be a whole number ≥ 0, got ${count}`);
  if (!(Number.isInteger(batch) && batch > 0)) throw new Error(`batch must be a positive integer, got ${batch}`);
  const prefix = o.prefix ?? [0];
  const stop = o.stopAtBoundary ?? true;
  const ids: number[][] = [];
  const ended: boolean[] = [];
  for (let first = 0; first < count; first += batch) {
    const rows = Math.min(batch, count - first);
    const out: number[][] = Array.from({ length: rows }, () => []);
    const done: boolean[] = new Array<boolean>(rows).fill(false);
    const stepper = open(rows, prefix);
    try {
      let drawn: number[] | null = null;
      for (let step = 0; step < maxLength && done.includes(false); step++) {
        throwIfInterrupted('sampling');
        const dist = stepper.next(drawn);
        const V = dist.length / rows;
        drawn = [];
        for (let r = 0; r < rows; r++) {
          if (done[r]) {
            drawn.push(0);
            continue;
          }
          const row = dist.subarray(r * V, (r + 1) * V);
          const probs = stepper.gives === 'logits' ? probsFromLogits(row, o) : row;
          const token = rng.multinomial(probs, 1, true)[0] as number;
          drawn.push(token);
          if (stop && token === 0) done[r] = true;
          else (out[r] as number[]).push(token);
        }
      }
    } finally {
      stepper.dispose();
    }
    ids.push(...out);
    ended.push(...done);
  }
  return { ids, ended };
}
