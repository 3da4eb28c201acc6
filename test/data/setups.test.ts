// lib/data/setups: the lecture's split and windows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lectureData } from '../../lib/data/setups';
import { buildWindows } from '../../lib/data/windows';

process.env.SEQUENTIA_QUIET_BACKEND = '1';
const data = lectureData(3);

test('the lecture split and windows: 25,626 / 3,203 / 3,204 names, 182,625 / 22,655 / 22,866 examples', () => {
  assert.deepEqual([data.split.train.length, data.split.dev.length, data.split.test.length], [25626, 3203, 3204]);
  assert.deepEqual([data.windows.train.n, data.windows.dev.n, data.windows.test.n], [182625, 22655, 22866]);
  const w = buildWindows(['emma'], data.vocab, 3);
  assert.deepEqual(Array.from(w.X), [0, 0, 0, 0, 0, 5, 0, 5, 13, 5, 13, 13, 13, 13, 1]);
  assert.deepEqual(Array.from(w.Y), [5, 13, 13, 1, 0]);
  assert.equal(buildWindows(data.words, data.vocab, 1).n, 228146);
});
