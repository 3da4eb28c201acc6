// lib/exercises/counting: notebook 01's checks accept a right answer, name what is wrong in typical wrong ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTrigramCounts, checkSplit } from '../../lib/exercises/counting';
import { loadWords } from '../../lib/data/files';
import { LOWERCASE } from '../../lib/data/vocab';
import { lectureSplit } from '../../lib/data/splits';

const words = loadWords('data/names.txt', { alphabet: LOWERCASE });

const trigrams = (pad: string, end: string) => (ws: string[]) => {
  const m = new Map<string, number>();
  for (const w of ws) {
    const chs = [...pad, ...w, ...end];
    for (let i = 0; i + 2 < chs.length; i++) {
      const t = chs.slice(i, i + 3).join('');
      m.set(t, (m.get(t) ?? 0) + 1);
    }
  }
  return m;
};

test('checkTrigramCounts accepts a right count and reports an unanswered exercise', () => {
  const v = checkTrigramCounts(trigrams('..', '.'), words);
  assert.equal(v.status, 'passed', v.message);
  assert.match(v.message, /228146 in all/);
  assert.equal(checkTrigramCounts(undefined, words).status, 'unanswered');
});

test('checkTrigramCounts names the padding slip on "emma", and a wrong count by its trigram', () => {
  const one = checkTrigramCounts(trigrams('.', '.'), words);
  assert.equal(one.status, 'failed');
  assert.match(one.message, /gave \.em emm mma ma\.; expected \.\.e \.em emm mma ma\./);
  const noEnd = checkTrigramCounts(trigrams('..', ''), words);
  assert.match(noEnd.message, /gave \.\.e \.em emm mma; expected/);
  // right on one name, but the loop skips the last name of the list
  const skipsLast = checkTrigramCounts((ws) => trigrams('..', '.')(ws.length > 1 ? ws.slice(0, -1) : ws), words);
  assert.equal(skipsLast.status, 'failed');
  assert.match(
    skipsLast.message,
    /countTrigrams\(words\): trigram "[a-z.]{3}" (has count \d+, expected \d+|is missing)/,
  );
  const bigrams = checkTrigramCounts(() => new Map([['em', 1]]), words);
  assert.match(bigrams.message, /key "em" has 2 characters, not 3/);
});

test('checkSplit accepts a seeded 80/10/10 shuffle', () => {
  const v = checkSplit((ws) => lectureSplit(ws, 42), words);
  assert.equal(v.status, 'passed', v.message);
  assert.match(v.message, /25626 \/ 3203 \/ 3204/);
  assert.equal(checkSplit(undefined, words).status, 'unanswered');
});

test('checkSplit rejects an unshuffled split, an unseeded one, wrong sizes and a name used twice', () => {
  const cut = (ws: string[], a = 0.8, b = 0.9) => ({
    train: ws.slice(0, Math.floor(a * ws.length)),
    dev: ws.slice(Math.floor(a * ws.length), Math.floor(b * ws.length)),
    test: ws.slice(Math.floor(b * ws.length)),
  });
  assert.match(checkSplit((ws) => cut(ws), words).message, /100 % of train are the first 80 % of the file: shuffle/);
  const random = checkSplit((ws) => {
    const s = [...ws].sort(() => Math.random() - 0.5);
    return cut(s);
  }, words);
  assert.match(random.message, /two calls gave different splits: seed the shuffle/);
  assert.match(
    checkSplit(
      (ws) => cut(lectureSplit(ws).train.concat(lectureSplit(ws).dev, lectureSplit(ws).test), 0.7, 0.85),
      words,
    ).message,
    /sizes 22423 \/ 4805 \/ 4805: expected 80 % \/ 10 % \/ 10 % of 32033, i\.e\. 25626 \/ 3203 \/ 3204/,
  );
  const twice = checkSplit((ws) => {
    const s = lectureSplit(ws);
    return { train: s.train, dev: s.dev, test: [...s.test.slice(0, -1), s.train[0]!] };
  }, words);
  assert.match(twice.message, /appears \d× in the (names|three parts) but \d× in (your three parts|the names)/);
});
