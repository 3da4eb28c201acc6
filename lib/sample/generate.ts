/**
 * Sampling from any language model through the one draw loop (sample/draw.ts), with one adapter per way of
 * reading context:
 *  - window models (the lecture's): the last `blockSize` tokens, boundary-padded, → the next token;
 *  - sequence models (the zoo): the sequence so far, cropped to the block size, re-run each step;
 *  - stateful models (RNN, GRU, LSTM): one token per step, carrying the hidden state.
 */
import { tf } from '../runtime/tf';
import type { Vocab } from '../data/vocab';
import type { Rng } from '../random/rng';
import { isStateful, type LanguageModel, type RecurrentState, type Stateful } from '../models/language-model';
import {
  drawBatches,
  type DrawOptions,
  type Drawn,
  type SampleOptions,
  type Stepper,
  type StepperFactory,
} from './draw';

/** How long a window model's sample may grow (it stops at the boundary token long before). */
const WINDOW_MAX_LENGTH = 50;

/** The last row of logits per sequence as one flat array (and the tensors freed). */
function hostLogits(f: () => tf.Tensor): Float32Array {
  const t = tf.tidy(f);
  const values = t.dataSync() as Float32Array;
  t.dispose();
  return values;
}

function windowStepper(model: LanguageModel, rows: number, prefix: readonly number[]): Stepper {
  const T = model.blockSize;
  // the boundary token pads the context before the start; the prefix is shifted in after it
  const contexts = Array.from({ length: rows }, () => [...new Array<number>(T).fill(0), ...prefix].slice(-T));
  return {
    gives: 'logits',
    next(drawn) {
      if (drawn)
        drawn.forEach((id, r) => {
          const c = contexts[r] as number[];
          c.shift();
          c.push(id);
        });
      return hostLogits(() => model.forward(tf.tensor2d(contexts.flat(), [rows, T], 'int32')).logits);
    },
    dispose() {},
  };
}

function sequenceStepper(model: LanguageModel, rows: number, prefix: readonly number[]): Stepper {
  const seqs = Array.from({ length: rows }, () => [...prefix]);
  return {
    gives: 'logits',
    next(drawn) {
      if (drawn) drawn.forEach((id, r) => (seqs[r] as number[]).push(id));
      const ctx = seqs.map((s) => s.slice(-model.blockSize));
      const T = (ctx[0] as number[]).length;
      return hostLogits(() => {
        const logits = model.forward(tf.tensor2d(ctx.flat(), [rows, T], 'int32')).logits;
        return logits.slice([0, T - 1, 0], [rows, 1, -1]).reshape([rows, -1]);
      });
    },
    dispose() {},
  };
}

function statefulStepper(model: Stateful, rows: number, prefix: readonly number[]): Stepper {
  let state: RecurrentState = model.initialState(rows);
  let logits: tf.Tensor2D | null = null;
  const feed = (tokens: readonly number[]) => {
    const next = tf.tidy(() => {
      const r = model.step(tf.tensor1d(tokens as number[], 'int32'), state);
      return { logits: r.logits, h: r.state.h, c: r.state.c };
    });
    tf.dispose([state.h, ...(state.c ? [state.c] : []), ...(logits ? [logits] : [])]);
    state = next.c ? { h: next.h, c: next.c } : { h: next.h };
    logits = next.logits;
  };
  return {
    gives: 'logits',
    next(drawn) {
      if (drawn) feed(drawn);
      else for (const id of prefix) feed(new Array<number>(rows).fill(id));
      return (logits as tf.Tensor2D).dataSync() as Float32Array;
    },
    dispose() {
      tf.dispose([state.h, ...(state.c ? [state.c] : []), ...(logits ? [logits] : [])]);
    },
  };
}

/** The adapter that lets the draw loop run `model`. */
export function stepperFor(model: LanguageModel): StepperFactory {
  if (isStateful(model)) return (rows, prefix) => statefulStepper(model, rows, prefix);
  if (model.reads === 'window') return (rows, prefix) => windowStepper(model, rows, prefix);
  return (rows, prefix) => sequenceStepper(model, rows, prefix);
}

export interface GenerateOptions extends SampleOptions {
  /** How many sequences (default 1): a whole number ≥ 0. */
  count?: number;
  /**
   * Tokens drawn per sequence at most. Default: a sequence model's block size (the longest sequence it
   * was trained on); 50 for a window model, whose block size is only its context. A whole number ≥ 0.
   */
  maxLength?: number;
  /** Sequences run together (default 1: one after the other; see sample/draw.ts). */
  batch?: number;
  /** Stop a sequence at the boundary token (default true). */
  stopAtBoundary?: boolean;
  /** Token ids to start from (default [0], the boundary token): integers in [0, model.vocabSize). */
  prefix?: readonly number[];
}

/** The draw loop's options for `model`: its defaults filled in (checked by drawBatches). */
function drawOptions(model: LanguageModel, o: GenerateOptions): DrawOptions {
  const maxLength = o.maxLength ?? (model.reads === 'window' ? WINDOW_MAX_LENGTH : model.blockSize);
  return { ...o, count: o.count ?? 1, maxLength };
}

/**
 * Token ids drawn from `model` batch by batch (`batch` rows each, the last one shorter): memory and
 * tensors stay those of one batch however large `count` is, and the rows are exactly `generate`'s for
 * the same generator and options. Options are checked when this is called (prefix ids against the
 * model's vocabulary). Stopping early (break) frees the batch's tensors.
 */
export function generateStream(model: LanguageModel, rng: Rng, o: GenerateOptions = {}): Generator<number[][]> {
  const batches = checkedBatches(model, rng, o);
  return (function* () {
    for (const b of batches) yield b.ids;
  })();
}

/** drawBatches for `model`, checked now rather than at the generator's first next(). */
function checkedBatches(model: LanguageModel, rng: Rng, o: GenerateOptions): Generator<Drawn> {
  return drawBatches(stepperFor(model), rng, drawOptions(model, o), model.vocabSize);
}

/** Token ids drawn from `model`, one row per sequence (prefix and final boundary not included). */
export function generate(model: LanguageModel, rng: Rng, o: GenerateOptions = {}): number[][] {
  const rows: number[][] = [];
  for (const b of checkedBatches(model, rng, o)) rows.push(...b.ids);
  return rows;
}

/** A drawn row as a word: cut at the first boundary (a fixed-length draw, stopAtBoundary: false, has them). */
function toWord(vocab: Vocab, ids: number[]): string {
  const end = ids.indexOf(0);
  return vocab.decode(end < 0 ? ids : ids.slice(0, end));
}

/** Words (names) from `model`: each starts after the boundary token and ends when it comes back. */
export function generateWords(model: LanguageModel, vocab: Vocab, rng: Rng, o: GenerateOptions = {}): string[] {
  return generate(model, rng, o).map((ids) => toWord(vocab, ids));
}

/**
 * generateWords batch by batch: yields each batch's words (`batch` of them, default 1) as soon as they
 * are drawn — the same words, in the same order, as generateWords with the same generator and options,
 * with memory that does not grow with `count` (makemore --sample-only --num-samples 200000). The options
 * are checked when this is called.
 */
export function generateWordsStream(
  model: LanguageModel,
  vocab: Vocab,
  rng: Rng,
  o: GenerateOptions = {},
): Generator<string[]> {
  const batches = checkedBatches(model, rng, o);
  return (function* () {
    for (const b of batches) yield b.ids.map((ids) => toWord(vocab, ids));
  })();
}

/** Continues `seed` for `length` characters (no boundary token: free text). */
export function generateText(
  model: LanguageModel,
  vocab: Vocab,
  seed: string,
  length: number,
  rng: Rng,
  o: SampleOptions = {},
): string {
  if (typeof seed !== 'string') throw new TypeError(`the seed must be a string, got ${typeof seed}`);
  if (seed.length === 0) throw new Error('the seed string is empty: give at least one character');
  const prefix = vocab.encode(seed);
  const [ids] = generate(model, rng, { ...o, prefix, maxLength: length, stopAtBoundary: false });
  return seed + vocab.decode(ids as number[]);
}
