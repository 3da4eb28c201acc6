import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadWords, readText } from '../../lib/data/files';
import { Vocab, LOWERCASE } from '../../lib/data/vocab';
import { cleanup } from '../helpers/cleanup';

const tmp = cleanup('sequentia-data-').tmp();
function file(name: string, text: string): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, text);
  return p;
}

test('names.txt: 32,033 names, shortest 2, longest 15', () => {
  const words = loadWords('data/names.txt', { alphabet: LOWERCASE });
  assert.equal(words.length, 32033);
  assert.deepEqual(words.slice(0, 3), ['emma', 'olivia', 'ava']);
  assert.equal(Math.min(...words.map((w) => w.length)), 2);
  assert.equal(Math.max(...words.map((w) => w.length)), 15);
});

test('vocabulary: boundary at 0, then a–z', () => {
  const v = Vocab.fromWords(loadWords('data/names.txt'));
  assert.equal(v.size, 27);
  assert.equal(v.itos[0], '.');
  assert.equal(v.stoi('a'), 1);
  assert.equal(v.stoi('z'), 26);
  assert.deepEqual(v.encode('emma'), [5, 13, 13, 1]);
  assert.equal(v.decode([5, 13, 13, 1, 0]), 'emma.');
});

test('missing and empty files fail clearly', () => {
  assert.throws(() => loadWords(path.join(tmp, 'nope.txt')), /data file not found: .*nope\.txt/);
  assert.throws(() => loadWords(file('empty.txt', '')), /data file is empty/);
  assert.throws(() => loadWords(file('blank.txt', '\n  \n\n')), /data file is empty/);
});

test('a character outside the vocabulary names file, line, column and character', () => {
  const p = file('bad.txt', 'anna\nbob\nzoë\n');
  assert.throws(
    () => loadWords(p, { alphabet: LOWERCASE }),
    (e: Error) => {
      assert.match(e.message, /bad\.txt:3: character 'ë' \(U\+00EB\) at column 3 of 'zoë'/);
      return true;
    },
  );
  const v = Vocab.fromWords(['abc']);
  assert.throws(() => v.encode('abx'), /'x' \(U\+0078\) at position 2/);
  assert.throws(() => v.decode([99]), /index 99 is outside the vocabulary/);
});

test('CRLF, a BOM and surrounding blanks are handled', () => {
  const p = file('crlf.txt', '\ufeffanna\r\n bob \r\n\r\ncarl');
  assert.deepEqual(loadWords(p), ['anna', 'bob', 'carl']);
  assert.equal(readText(p).startsWith('anna'), true);
});
