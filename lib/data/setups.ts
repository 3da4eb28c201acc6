/**
 * The named data set-ups that notebooks, CLIs and the benchmark share, each defined once.
 */
import { loadWords } from './files';
import { LOWERCASE, Vocab } from './vocab';
import { buildWindows, type Windows } from './windows';
import { lectureSplit, makemoreSplit, type Split } from './splits';
import { buildSequences, sequenceBlockSize, type Sequences } from './sequences';

export interface LectureData {
  words: string[];
  vocab: Vocab;
  split: Split<string[]>;
  windows: Split<Windows>;
}

/**
 * The lecture's set-up (notebooks 03 and 05-07): names.txt, the 27-character vocabulary, Python's
 * shuffle with seed 42 split 80/10/10, and (context → next character) windows of `blockSize`.
 */
export function lectureData(blockSize = 3, file = 'data/names.txt', seed = 42): LectureData {
  const words = loadWords(file, { alphabet: LOWERCASE });
  const vocab = Vocab.fromWords(words);
  const split = lectureSplit(words, seed);
  const windows = {
    train: buildWindows(split.train, vocab, blockSize),
    dev: buildWindows(split.dev, vocab, blockSize),
    test: buildWindows(split.test, vocab, blockSize),
  };
  return { words, vocab, split, windows };
}

export interface MakemoreData {
  vocab: Vocab;
  blockSize: number;
  split: { train: string[]; test: string[] };
  train: Sequences;
  test: Sequences;
}

/**
 * makemore's set-up (notebook 09, `npm run makemore`, the benchmark): the vocabulary of the words, block
 * size = longest word + 1, torch.randperm(seed 3407) with the last 10 % (at most 1,000) as the test set.
 * A resumed run passes its checkpoint's vocabulary and block size.
 */
export function makemoreData(
  words: readonly string[],
  o: { vocab?: Vocab; blockSize?: number; seed?: number } = {},
): MakemoreData {
  const vocab = o.vocab ?? Vocab.fromWords(words);
  const blockSize = o.blockSize ?? sequenceBlockSize(words);
  const split = makemoreSplit(words, o.seed ?? 3407);
  return {
    vocab,
    blockSize,
    split,
    train: buildSequences(split.train, vocab, blockSize),
    test: buildSequences(split.test, vocab, blockSize),
  };
}
