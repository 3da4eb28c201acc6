import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

function runner(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'run-notebooks.ts'), ...args], { cwd: ROOT, encoding: 'utf8' });
}

test('a throwing cell: the runner names notebook, cell, source and the real error, and exits 1', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sequentia-runner-'));
  const r = runner(['--dir', 'test/fixtures/notebooks-failing', '--out', out]);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /notebooks: 0 passed, 2 failed/);
  // runtime error from lib, raised in the third code cell (fourth cell of the notebook)
  assert.match(r.stderr, /01-throws\.ipynb: cell 4 \(code cell 3\) failed/);
  assert.match(r.stderr, /\| v\.encode\('abz'\);/);
  assert.match(r.stderr, /Error: character 'z' \(U\+007A\) at position 2 of "abz" is not in the vocabulary/);
  // a TypeScript compile error is reported with tslab's message
  assert.match(r.stderr, /02-type-error\.ipynb: cell 2 \(code cell 1\) failed/);
  assert.match(r.stderr, /Type 'string' is not assignable to type 'number'/);
  // the executed copy keeps the outputs of the cells that ran, and the cells after the failure are not run
  const nb = JSON.parse(fs.readFileSync(path.join(out, '01-throws.ipynb'), 'utf8')) as { cells: { outputs?: { text?: string[] }[] }[] };
  assert.match((nb.cells[1]?.outputs?.[0]?.text ?? []).join(''), /vocab size 4/);
  assert.deepEqual(nb.cells[4]?.outputs, []);
});

test('bad flags are rejected with usage and exit 2', () => {
  const r = runner(['--frobnicate']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /Unknown option '--frobnicate'/);
  assert.match(r.stderr, /usage: npm run notebooks/);
  const t = runner(['--timeout', 'soon']);
  assert.equal(t.status, 2);
  assert.match(t.stderr, /--timeout must be a positive whole number/);
  const m = runner(['--only', 'no-such-notebook']);
  assert.equal(m.status, 2);
  assert.match(m.stderr, /no notebooks match/);
});
