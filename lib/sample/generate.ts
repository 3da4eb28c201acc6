/**
 * Generation from recurrent models, one character at a time with carried state: names (start at the
 * boundary token, stop when it returns) and free text continuing a seed string.
 */
import { tf } from '../runtime/tf';
import type { Vocab } from '../data/vocab';
import type { Rng } from '../random/rng';
import { probsFromLogits, checkSampleOptions, type SampleOptions } from './windows';
import { drawSequence } from './draw';
import { throwIfInterrupted } from '../runtime/interrupt';
import { RecurrentLM, type RecurrentState } from '../models/recurrent';
import type { LanguageModel } from '../models/language-model';

function disposeState(s: RecurrentState): void {
  tf.dispose([s.h, ...(s.c ? [s.c] : [])]);
}

function stepOnce(
  model: RecurrentLM,
  token: number,
  state: RecurrentState,
): { logits: Float32Array; state: RecurrentState } {
  const out = tf.tidy(() => {
    const r = model.step(tf.tensor1d([token], 'int32'), state);
    return { logits: r.logits, state: { h: tf.keep(r.state.h), ...(r.state.c ? { c: tf.keep(r.state.c) } : {}) } };
  });
  const logits = out.logits.dataSync() as Float32Array;
  out.logits.dispose();
  return { logits, state: out.state };
}

/** Continues `seed` for `length` characters. Every seed character must be in the vocabulary. */
export function generateText(
  model: RecurrentLM,
  vocab: Vocab,
  seed: string,
  length: number,
  rng: Rng,
  opts: SampleOptions = {},
): string {
  checkSampleOptions(opts);
  if (seed.length === 0) throw new Error('the seed string is empty: give at least one character');
  const ids = vocab.encode(seed);
  let state = model.initialState(1);
  let logits: Float32Array = new Float32Array(0);
  for (const id of ids) {
    const r = stepOnce(model, id, state);
    disposeState(state);
    state = r.state;
    logits = r.logits;
  }
  let text = seed;
  for (let k = 0; k < length; k++) {
    throwIfInterrupted('text generation');
    const next = rng.multinomial(probsFromLogits(logits, opts), 1, true)[0] as number;
    text += vocab.itos[next];
    const r = stepOnce(model, next, state);
    disposeState(state);
    state = r.state;
    logits = r.logits;
  }
  disposeState(state);
  return text;
}

/** Samples words: start from token 0, stop when it comes back (or at `maxLength`). */
export function generateWords(
  model: RecurrentLM,
  vocab: Vocab,
  count: number,
  rng: Rng,
  opts: SampleOptions = {},
): string[] {
  checkSampleOptions(opts);
  return Array.from({ length: count }, () => {
    let state = model.initialState(1);
    const { ids } = drawSequence(
      (prev) => {
        const r = stepOnce(model, prev, state);
        disposeState(state);
        state = r.state;
        return probsFromLogits(r.logits, opts);
      },
      rng,
      opts.maxLength ?? model.config.blockSize,
    );
    disposeState(state);
    return vocab.decode(ids);
  });
}

/**
 * makemore's `generate` for any model of the zoo: feed the sequence so far (cropped to the block
 * size), take the last position's logits, apply temperature and top-k, draw, append. Returns
 * `count` rows of `maxNewTokens` ids, starting after a 0 token.
 */
export function generate(
  model: LanguageModel,
  blockSize: number,
  count: number,
  maxNewTokens: number,
  rng: Rng,
  opts: SampleOptions = {},
): number[][] {
  checkSampleOptions(opts);
  const rows: number[][] = Array.from({ length: count }, () => [0]);
  for (let s = 0; s < maxNewTokens; s++) {
    throwIfInterrupted('generation');
    const ctx = rows.map((r) => r.slice(-blockSize));
    const T = (ctx[0] as number[]).length;
    const last = tf.tidy(() => {
      const logits = model.forward(tf.tensor2d(ctx.flat(), [count, T], 'int32')).logits;
      return logits.slice([0, T - 1, 0], [count, 1, -1]).reshape([count, -1]);
    });
    const V = last.shape[1] as number;
    const vals = last.dataSync();
    last.dispose();
    for (let b = 0; b < count; b++) {
      const next = rng.multinomial(probsFromLogits(vals.subarray(b * V, (b + 1) * V), opts), 1, true)[0] as number;
      (rows[b] as number[]).push(next);
    }
  }
  return rows.map((r) => r.slice(1));
}

/** Decodes generated rows into words, cutting each at its first 0 (end token). */
export function rowsToWords(rows: number[][], vocab: Vocab): string[] {
  return rows.map((r) => {
    const end = r.indexOf(0);
    return vocab.decode(end < 0 ? r : r.slice(0, end));
  });
}
