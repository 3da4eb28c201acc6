/**
 * The named data set-ups notebooks, CLIs and the benchmark share.
 */
import { loadWords } from './files';
import { LOWERCASE, Vocab } from './vocab';
import { buildWindows, type Windows } from './windows';
import { lectureSplit, type Split } from './splits';

export interface LectureData {
  words: string[];
  vocab: Vocab;
  split: Split<string[]>;
  windows: Split<Windows>;
}

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
