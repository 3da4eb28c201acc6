/**
 * Train/dev/test splits: the lecture's (Python's shuffle, seed 42, 80/10/10) and makemore's
 * (torch.randperm, seed 3407, the last 1,000 words are the test set).
 */
import { pythonShuffle } from '../random/python-shuffle';
import { TorchGenerator } from '../random/torch-generator';

export interface Split<T> {
  train: T;
  dev: T;
  test: T;
}

/**
 * The lecture's split: `random.seed(seed); random.shuffle(words)`, then the first 80 % train, the next
 * 10 % dev, the rest test (25,626 / 3,203 / 3,204 names with seed 42).
 */
export function lectureSplit(words: readonly string[], seed = 42): Split<string[]> {
  const w = pythonShuffle(words, seed);
  const n1 = Math.floor(0.8 * w.length);
  const n2 = Math.floor(0.9 * w.length);
  return { train: w.slice(0, n1), dev: w.slice(n1, n2), test: w.slice(n2) };
}

/**
 * makemore's split: `torch.manual_seed(seed); rp = torch.randperm(n)`, the last min(1000, 10 %) words of
 * the permutation are the test set, the rest train (31,033 / 1,000 names for names.txt).
 */
export function makemoreSplit(words: readonly string[], seed = 3407): { train: string[]; test: string[] } {
  const perm = new TorchGenerator(seed).randperm(words.length);
  const nTest = Math.min(1000, Math.floor(words.length * 0.1));
  const pick = (from: number, to: number) => Array.from(perm.subarray(from, to), (i) => words[i] as string);
  return { train: pick(0, words.length - nTest), test: pick(words.length - nTest, words.length) };
}
