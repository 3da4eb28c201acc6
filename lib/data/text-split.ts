/**
 * "Let's build GPT"'s data set-up (notebook 12): one text, a vocabulary of every character in it, the
 * first 90 % of the encoded characters for training and the rest for validation (no shuffle: the
 * validation text is the end of the play collection), and every block of a split in order, for a loss
 * without sampling noise (training draws random blocks: corpus.ts's randomWindowBatch, the lecture's get_batch).
 */
import { loadCorpus, type Corpus } from './corpus';
import type { Sequences } from './sequences';

export interface TextSplit {
  corpus: Corpus;
  /** The first ⌊0.9 · n⌋ characters (the lecture's n = int(0.9*len(data))). */
  train: Corpus;
  val: Corpus;
}

/**
 * tiny-shakespeare (karpathy/char-rnn's input.txt: 1,115,394 characters, 65 distinct), split 90/10.
 * Every character is one code unit here, so text positions and token positions agree.
 */
export function tinyShakespeare(file = 'data/tinyshakespeare.txt'): TextSplit {
  const corpus = loadCorpus(file);
  const n = Math.floor(0.9 * corpus.encoded.length);
  const part = (a: number, b: number): Corpus => ({
    text: corpus.text.slice(a, b),
    vocab: corpus.vocab,
    encoded: corpus.encoded.subarray(a, b),
  });
  return { corpus, train: part(0, n), val: part(n, corpus.encoded.length) };
}

/**
 * `part` cut into consecutive blocks of `blockSize` (the remainder that cannot fill one, and its last
 * target, left out), as sequences a model is scored on: all of them, or `maxBlocks` spread evenly over
 * the part. Each position's context is its place in its block, as in training.
 */
export function textBlocks(part: Corpus, blockSize: number, maxBlocks = 0): Sequences {
  if (!Number.isInteger(blockSize) || blockSize < 1)
    throw new Error(`block size must be a whole number ≥ 1, got ${blockSize}`);
  if (!Number.isInteger(maxBlocks) || maxBlocks < 0)
    throw new Error(`maxBlocks must be a whole number ≥ 0 (0: every block), got ${maxBlocks}`);
  const all = Math.floor((part.encoded.length - 1) / blockSize);
  if (all < 1) throw new Error(`a text of ${part.encoded.length} characters holds no block of ${blockSize} + 1`);
  const n = maxBlocks > 0 ? Math.min(all, maxBlocks) : all;
  const X = new Int32Array(n * blockSize);
  const Y = new Int32Array(n * blockSize);
  for (let k = 0; k < n; k++) {
    const s = Math.floor((k * all) / n) * blockSize;
    X.set(part.encoded.subarray(s, s + blockSize), k * blockSize);
    Y.set(part.encoded.subarray(s + 1, s + blockSize + 1), k * blockSize);
  }
  return { X, Y, n, blockSize };
}
