/**
 * Exercises of notebook 01 (counting with a dictionary): trigram counts, and a train/dev/test split.
 * No TensorFlow.js here, directly or indirectly: notebook 01 must not load it.
 */
import { grade, expect, type Verdict } from './check';

/** The trigrams of one name, padded with two '.' before and one after: emma → ..e .em emm mma ma. */
export function referenceTrigrams(word: string): string[] {
  const chs = ['.', '.', ...word, '.'];
  const out: string[] = [];
  for (let i = 0; i + 2 < chs.length; i++) out.push(`${chs[i]}${chs[i + 1]}${chs[i + 2]}`);
  return out;
}

function referenceTrigramCounts(words: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const w of words) for (const t of referenceTrigrams(w)) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

function asCounts(got: unknown, call: string): Map<string, number> {
  expect(
    got instanceof Map || (typeof got === 'object' && got !== null),
    `${call} returned ${got === undefined ? 'undefined' : typeof got}, not a Map from trigram to count`,
  );
  const entries = got instanceof Map ? [...(got as Map<unknown, unknown>)] : Object.entries(got as object);
  const m = new Map<string, number>();
  for (const [k, v] of entries) {
    expect(typeof k === 'string', `${call}: key ${String(k)} is not a string of three characters`);
    expect(
      [...k].length === 3,
      `${call}: key ${JSON.stringify(k)} has ${[...k].length} characters, not 3 (a trigram is two characters of context and the next one)`,
    );
    expect(
      typeof v === 'number' && Number.isInteger(v) && v > 0,
      `${call}: the count of ${JSON.stringify(k)} is ${String(v)}, not a positive integer`,
    );
    m.set(k, v);
  }
  return m;
}

function compareCounts(got: Map<string, number>, want: Map<string, number>, call: string): void {
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  for (const [k, n] of want) {
    const g = got.get(k);
    expect(
      g !== undefined,
      `${call}: trigram ${JSON.stringify(k)} is missing (it occurs ${n} time${n === 1 ? '' : 's'}); ` +
        `pad each name with two '.' before it and one after it`,
    );
    expect(g === n, `${call}: trigram ${JSON.stringify(k)} has count ${g}, expected ${n}`);
  }
  for (const [k, n] of got)
    expect(want.has(k), `${call}: trigram ${JSON.stringify(k)} (count ${n}) never occurs in these names`);
  expect(total(got) === total(want), `${call}: counts add up to ${total(got)}, expected ${total(want)}`);
}

/**
 * 01 · Exercise 1: `countTrigrams(words)` counts every trigram (two '.' before each name, one after) into a
 * Map; graded on "emma", then on all the names against a recount.
 */
export function checkTrigramCounts(
  countTrigrams: ((words: string[]) => Map<string, number>) | undefined,
  words: readonly string[],
): Verdict {
  return grade('01·1 trigram counts', countTrigrams, (f) => {
    const small = asCounts(f(['emma']), "countTrigrams(['emma'])");
    const want = referenceTrigramCounts(['emma']);
    const list = (m: Map<string, number>) => [...m.keys()].join(' ');
    expect(
      small.size === want.size && [...want].every(([k, n]) => small.get(k) === n),
      `countTrigrams(['emma']) gave ${list(small) || 'nothing'}; expected ${list(want)} (once each: ` +
        `two '.' before the name, one after it)`,
    );
    const all = asCounts(f([...words]), 'countTrigrams(words)');
    const ref = referenceTrigramCounts(words);
    compareCounts(all, ref, 'countTrigrams(words)');
    const top = [...ref].sort((a, b) => b[1] - a[1])[0] as [string, number];
    return `${ref.size} distinct trigrams, ${[...ref.values()].reduce((a, b) => a + b, 0)} in all; the most common is ${JSON.stringify(top[0])} (${top[1]})`;
  });
}

function multiset(xs: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

export interface WordSplit {
  train: string[];
  dev: string[];
  test: string[];
}

/**
 * 01 · Exercise 2: `splitWords(words)` shuffles with a seed and splits 80/10/10; checks the sizes, that every
 * name is used exactly once, that the order was shuffled and that two calls agree.
 */
export function checkSplit(
  splitWords: ((words: string[]) => WordSplit) | undefined,
  words: readonly string[],
): Verdict {
  return grade('01·2 train/dev/test split', splitWords, (f) => {
    const s = f([...words]);
    expect(
      typeof s === 'object' && s !== null && ['train', 'dev', 'test'].every((k) => Array.isArray((s as never)[k])),
      `splitWords returned ${JSON.stringify(s)?.slice(0, 80)}, not { train, dev, test } (three arrays of names)`,
    );
    const n = words.length;
    const want = { train: Math.floor(0.8 * n), dev: Math.floor(0.9 * n) - Math.floor(0.8 * n) };
    const sizes = `${s.train.length} / ${s.dev.length} / ${s.test.length}`;
    expect(
      Math.abs(s.train.length - want.train) <= 1 && Math.abs(s.dev.length - want.dev) <= 1,
      `sizes ${sizes}: expected 80 % / 10 % / 10 % of ${n}, i.e. ${want.train} / ${want.dev} / ${n - want.train - want.dev} (±1)`,
    );
    const have = multiset([...s.train, ...s.dev, ...s.test]);
    const all = multiset(words);
    for (const [w, c] of all) {
      const g = have.get(w) ?? 0;
      expect(
        g === c,
        g < c
          ? `${JSON.stringify(w)} appears ${c}× in the names but ${g}× in your three parts: every name must go to exactly one part`
          : `${JSON.stringify(w)} appears ${g}× in your three parts but ${c}× in the names: a name was used twice`,
      );
    }
    for (const w of have.keys()) expect(all.has(w), `${JSON.stringify(w)} is in your split but not in the names`);
    // names.txt is sorted by popularity: an unshuffled split puts every rare name in dev and test
    const head = new Set(words.slice(0, want.train));
    const inHead = s.train.filter((w) => head.has(w)).length / Math.max(1, s.train.length);
    expect(
      inHead < 0.9,
      `${(100 * inHead).toFixed(0)} % of train are the first 80 % of the file: shuffle before splitting ` +
        `(names.txt is ordered by popularity, so dev and test would hold only rare names)`,
    );
    const again = f([...words]);
    const same = ['train', 'dev', 'test'].every((k) => {
      const a = (s as never as Record<string, string[]>)[k] as string[];
      const b = (again as never as Record<string, string[]>)[k] as string[];
      return a.length === b.length && a.every((w, i) => w === b[i]);
    });
    expect(
      same,
      'two calls gave different splits: seed the shuffle (e.g. lectureSplit, or TorchGenerator(42).randperm) ' +
        'so that dev and test stay the same from run to run',
    );
    return `${sizes} names, each used once, shuffled, the same on every call`;
  });
}
