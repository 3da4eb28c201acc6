/**
 * Python's random.shuffle, so the lecture's `random.seed(42); random.shuffle(words)` split is exact.
 */
import { MT19937 } from './mt19937';

/** Returns a copy of `items` shuffled exactly as CPython 3 does after `random.seed(seed)` (int seed). */
export function pythonShuffle<T>(items: readonly T[], seed: number | bigint): T[] {
  let n = BigInt(seed);
  if (n < 0n) n = -n;
  const key: number[] = [];
  while (n > 0n) {
    key.push(Number(n & 0xffffffffn));
    n >>= 32n;
  }
  const mt = MT19937.fromArray(key);
  const randbelow = (m: number): number => {
    const k = Math.floor(Math.log2(m)) + 1; // m.bit_length()
    let r: number;
    do r = mt.next() >>> (32 - k);
    while (r >= m);
    return r;
  };
  const x = items.slice();
  for (let i = x.length - 1; i >= 1; i--) {
    const j = randbelow(i + 1);
    const t = x[i] as T;
    x[i] = x[j] as T;
    x[j] = t;
  }
  return x;
}
