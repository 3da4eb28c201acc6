/**
 * A text corpus for character-level generation (The Mysterious Island): the book sliced out of its
 * Project Gutenberg wrapper, a vocabulary of every character it uses, and random training windows.
 */
import { readText } from './files';
import { Vocab } from './vocab';
import { tf } from '../runtime/tf';
import type { Rng } from '../random/rng';
import { batchTensors, type Batch } from './batches';

export interface Corpus {
  text: string;
  vocab: Vocab;
  encoded: Int32Array;
}

/**
 * Reads a corpus; with `start`/`end` markers keeps text from the first `start` up to (not including)
 * `end`, as the book's generator does. Line endings are normalised to \n. readText refuses what is not a
 * regular UTF-8 text file of at most `maxBytes` (default 256 MiB).
 */
export function loadCorpus(
  file: string,
  opts: { start?: string; end?: string; maxBytes?: number } = {},
): Corpus {
  let text = readText(file, { maxBytes: opts.maxBytes }).replace(/\r\n/g, '\n');
  if (opts.start !== undefined) {
    const s = text.indexOf(opts.start);
    if (s < 0) throw new Error(`${file}: start marker ${JSON.stringify(opts.start)} not found`);
    text = text.slice(s);
  }
  if (opts.end !== undefined) {
    const e = text.indexOf(opts.end);
    if (e < 0) throw new Error(`${file}: end marker ${JSON.stringify(opts.end)} not found`);
    text = text.slice(0, e);
  }
  if (text.length === 0) throw new Error(`${file}: the corpus is empty after slicing`);
  const vocab = new Vocab(text, null);
  return { text, vocab, encoded: Int32Array.from(vocab.encode(text)) };
}

/**
 * The Mysterious Island as the book slices it: 1,112,350 characters, 80 distinct. (Python's text mode,
 * which the book reads with, turns the file's CRLF into \n; so do we.)
 */
export function loadMysteriousIsland(file = 'data/mysterious-island.txt'): Corpus {
  let text = readText(file).replace(/\r\n/g, '\n');
  const s = text.indexOf('THE MYSTERIOUS ISLAND');
  const e = text.indexOf('End of the Project Gutenberg');
  if (s < 0 || e < 0) throw new Error(`${file}: not the Gutenberg text of The Mysterious Island (markers not found)`);
  text = text.slice(s, e);
  const vocab = new Vocab(text, null);
  return { text, vocab, encoded: Int32Array.from(vocab.encode(text)) };
}

/** `batch` windows of `seqLen` + 1 characters at random offsets: inputs and targets shifted by one. */
export function randomWindowBatch(c: Corpus, rng: Rng, batch: number, seqLen: number): Batch {
  const maxStart = c.encoded.length - seqLen - 1;
  if (maxStart < 0)
    throw new Error(`corpus of ${c.encoded.length} characters is shorter than one window of ${seqLen + 1}`);
  const starts = rng.randint(0, maxStart + 1, batch);
  const X = new Int32Array(batch * seqLen);
  const Y = new Int32Array(batch * seqLen);
  for (let k = 0; k < batch; k++) {
    const s = starts[k] as number;
    X.set(c.encoded.subarray(s, s + seqLen), k * seqLen);
    Y.set(c.encoded.subarray(s + 1, s + seqLen + 1), k * seqLen);
  }
  return { X, Y, rows: batch };
}

/** randomWindowBatch as tensors [batch, seqLen]. */
export function randomWindows(c: Corpus, rng: Rng, batch: number, seqLen: number): { X: tf.Tensor2D; Y: tf.Tensor2D } {
  return batchTensors(randomWindowBatch(c, rng, batch, seqLen), 'sequence') as { X: tf.Tensor2D; Y: tf.Tensor2D };
}
