/**
 * The one sampling loop, shared by every generator — the counting notebooks' probability table, the
 * lecture's window models, the zoo and the recurrent models. No tensors here, so the counting notebooks
 * need no TensorFlow.js: a model plugs in through a `Stepper` (see generate.ts for the adapters).
 */
import type { Rng } from '../random/rng';
import { throwIfInterrupted } from '../runtime/interrupt';

export interface SampleOptions {
  /**
   * Divides the logits: < 1 sharper, > 1 flatter (default 1). A finite number ≥ 0. 0 (and −0) is the
   * limit, greedy decoding: all probability on the largest logit, the lowest id among equal largest
   * ones. A positive temperature, however small (1e-40, 5e-324), is computed without overflow and gives
   * that limit too: probability 1 on a unique largest logit, 0 elsewhere, never NaN — except that exact
   * ties for the largest share it equally (the limit of softmax as t → 0; only t = 0 picks the lowest id).
   */
  temperature?: number;
  /**
   * Keep only the k most likely tokens before drawing: a positive integer. Logits equal to the k-th
   * largest are all kept. A k larger than the vocabulary is clamped to it (everything kept).
   */
  topK?: number;
}

/** The options checked: TypeError for a value that is not a number, RangeError for one out of range. */
function checkSampleOptions(o: SampleOptions): void {
  const t: unknown = o.temperature;
  if (t !== undefined) {
    if (typeof t !== 'number') throw new TypeError(`temperature must be a number, got ${describe(t)}`);
    if (!Number.isFinite(t) || t < 0)
      throw new RangeError(`temperature must be a finite number ≥ 0 (0: greedy), got ${t}`);
  }
  const k: unknown = o.topK;
  if (k !== undefined) {
    if (typeof k !== 'number') throw new TypeError(`topK must be a number, got ${describe(k)}`);
    if (!(Number.isInteger(k) && k > 0)) throw new RangeError(`topK must be a positive integer, got ${k}`);
  }
}

/** A value for an error message: strings quoted, so '2' and 2 are told apart. */
function describe(v: unknown): string {
  return typeof v === 'string' ? `the string ${JSON.stringify(v)}` : `${typeof v} ${String(v)}`;
}

/**
 * Probabilities from one row of logits, after temperature and top-k. Numerically safe: the largest logit
 * is subtracted before exp, in float64 (the result is float32, as torch's softmax), so no temperature
 * overflows or gives NaN. Logits may hold
 * −Infinity (a token that is never drawn) but not NaN or +Infinity, and not only −Infinity.
 */
export function probsFromLogits(logits: ArrayLike<number>, o: SampleOptions = {}): Float32Array {
  checkSampleOptions(o);
  const n = logits.length;
  if (n === 0) throw new RangeError('logits is empty: there is no token to draw');
  let max = -Infinity;
  let argmax = -1;
  for (let i = 0; i < n; i++) {
    const v = logits[i] as number;
    if (typeof v !== 'number' || Number.isNaN(v) || v === Infinity)
      throw new RangeError(`logits[${i}] is ${String(v)}: logits must be numbers < Infinity (−Infinity: never drawn)`);
    if (v > max) [max, argmax] = [v, i]; // strict: the lowest id wins a tie
  }
  if (argmax < 0) throw new RangeError(`all ${n} logits are −Infinity: no token can be drawn`);
  const t = o.temperature ?? 1;
  const greedy = (): Float32Array => {
    const p = new Float32Array(n);
    p[argmax] = 1;
    return p;
  };
  if (t === 0) return greedy();
  // logits / t rounded to float32 as torch divides a float32 tensor, then the largest subtracted: the
  // same numbers as makemore's sampling. Where a tiny t overflows float32, the difference is taken first.
  const top = Math.fround(max / t);
  const scaled = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = logits[i] as number;
    const f = Math.fround(v / t);
    scaled[i] = Number.isFinite(top) && (Number.isFinite(f) || f === -Infinity) ? f - top : (v - max) / t;
  }
  let keepAbove = -Infinity;
  if (o.topK !== undefined && o.topK < n) keepAbove = Float64Array.from(scaled).sort().reverse()[o.topK - 1] as number;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = (scaled[i] as number) < keepAbove ? 0 : Math.exp(scaled[i] as number);
    scaled[i] = e;
    sum += e; // ≥ 1: the largest logit contributes exp(0)
  }
  return Float32Array.from(scaled, (e) => e / sum);
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
  /** How many sequences: a whole number ≥ 0. */
  count: number;
  /** Tokens drawn per sequence at most: a whole number ≥ 0 (0: empty sequences). */
  maxLength: number;
  /**
   * Rows run together. 1 (the default): one sequence after the other, as the lecture samples; count:
   * all at once, each step drawing row by row, as makemore's generate does. Either way the same seed
   * gives the same sequences.
   */
  batch?: number;
  /** Token ids every row starts from (default [0], the boundary token): integers in [0, vocabulary). */
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

/** A whole number ≥ `min` for option `name`, or a TypeError/RangeError naming it and the value. */
function checkInteger(name: string, v: unknown, min: number): void {
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number, got ${describe(v)}`);
  if (!(Number.isInteger(v) && v >= min))
    throw new RangeError(`${name} must be a whole number ≥ ${min}, got ${Object.is(v, -0) ? '-0' : v}`);
}

/**
 * Every option checked before anything is drawn (no stepper opened, no number taken from the generator);
 * prefix ids against `vocabSize` where the caller knows it.
 */
function checkDrawOptions(o: DrawOptions, vocabSize?: number): void {
  checkSampleOptions(o);
  checkInteger('count', o.count, 0);
  checkInteger('maxLength', o.maxLength, 0);
  if (o.batch !== undefined) checkInteger('batch', o.batch, 1);
  if (o.stopAtBoundary !== undefined && typeof o.stopAtBoundary !== 'boolean')
    throw new TypeError(`stopAtBoundary must be true or false, got ${describe(o.stopAtBoundary)}`);
  if (o.prefix !== undefined) {
    if (!Array.isArray(o.prefix))
      throw new TypeError(`prefix must be an array of token ids, got ${describe(o.prefix)}`);
    if (o.prefix.length === 0) throw new RangeError('prefix is empty: give at least one token id (the boundary is 0)');
    o.prefix.forEach((id: unknown, i) => {
      if (typeof id !== 'number') throw new TypeError(`prefix[${i}] must be a token id, got ${describe(id)}`);
      const range = vocabSize === undefined ? '≥ 0' : `in [0, ${vocabSize})`;
      if (!Number.isInteger(id) || id < 0 || (vocabSize !== undefined && id >= vocabSize))
        throw new RangeError(`prefix[${i}] is ${id}: a token id must be an integer ${range}`);
    });
  }
}

/**
 * The draw loop one batch of rows at a time: yields each batch's rows as soon as they are drawn, so a
 * caller that prints or counts them keeps one batch in memory however large `count` is (and a stepper's
 * tensors are freed at the end of its batch, or when the caller stops early). The options are checked
 * when this is called, not at the first `next()`. Draws exactly what `draw` draws, in the same order.
 */
export function drawBatches(open: StepperFactory, rng: Rng, o: DrawOptions, vocabSize?: number): Generator<Drawn> {
  checkDrawOptions(o, vocabSize);
  return batches(open, rng, o);
}

function* batches(open: StepperFactory, rng: Rng, o: DrawOptions): Generator<Drawn> {
  const { count, maxLength } = o;
  const batch = o.batch ?? 1;
  const prefix = o.prefix ?? [0];
  const stop = o.stopAtBoundary ?? true;
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
    yield { ids: out, ended: done };
  }
}

/** Every row at once (see drawBatches to take them batch by batch). */
export function draw(open: StepperFactory, rng: Rng, o: DrawOptions, vocabSize?: number): Drawn {
  const ids: number[][] = [];
  const ended: boolean[] = [];
  for (const b of drawBatches(open, rng, o, vocabSize)) {
    ids.push(...b.ids);
    ended.push(...b.ended);
  }
  return { ids, ended };
}
