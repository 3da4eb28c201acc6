/**
 * `npm test` (scripts/test/run.ts): every test file runs, the CI jobs are the ones the README promises,
 * and bad arguments are refused before any job starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { JOBS } from '../scripts/test/run';
import { TSX } from '../scripts/node-tsx';

const ROOT = path.resolve(__dirname, '..');

/** Every *.test.ts anywhere under test/, found without the runner's own walk. */
function allTestFiles(dir = 'test'): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) return allTestFiles(p);
    return e.name.endsWith('.test.ts') ? [p] : [];
  });
}

test('the unit job runs every test file under test/ once, this one included, the longest first', () => {
  const unit = JOBS.find((j) => j.name === 'unit');
  const files = unit?.command.filter((a) => a.endsWith('.test.ts')) ?? [];
  assert.deepEqual([...files].sort(), allTestFiles().sort());
  assert.equal(new Set(files).size, files.length);
  // the list names only files that exist (run.ts throws on import otherwise); the longest four:
  assert.deepEqual(files.slice(0, 4), [
    'test/notebooks/runner.test.ts',
    'test/cli/lifecycle.test.ts',
    'test/cli/flags-and-faults.test.ts',
    'test/notebooks/browser.test.ts',
  ]);
  assert.ok(files.includes('test/test-runner.test.ts') && files.includes('test/backend/wasm/matmul.test.ts'));
});

test('the jobs: static checks, unit tests, every notebook and solution in quick mode with --check, the figure check after the notebooks', () => {
  const byName = new Map(JOBS.map((j) => [j.name, j]));
  assert.deepEqual(
    [...byName.keys()].sort(),
    [
      'eslint',
      'figures',
      'notebooks',
      'prettier',
      'solutions',
      'tools',
      'typecheck',
      'unit',
      ...(process.env.SEQUENTIA_SMOKE_NODE ? ['smoke'] : []),
    ].sort(),
  );
  for (const name of ['notebooks', 'solutions']) {
    const args = byName.get(name)!.command;
    assert.ok(args.includes('--quick') && args.includes('--check'), name);
    assert.ok(!args.includes('--only') && !args.includes('--bail'), `${name} runs every notebook`);
  }
  assert.ok(byName.get('solutions')!.command.includes('notebooks/solutions'));
  assert.deepEqual(byName.get('figures')!.after, ['notebooks']);
  for (const j of JOBS) for (const d of j.after) assert.ok(byName.has(d), `${j.name} waits for ${d}, a job`);
});

test('SEQUENTIA_SMOKE_NODE adds the smoke pass on that Node as the last job; without it there is none', () => {
  const jobs = (smoke: string | undefined) => {
    const env: NodeJS.ProcessEnv = { ...process.env, SEQUENTIA_SMOKE_NODE: smoke };
    if (smoke === undefined) delete env.SEQUENTIA_SMOKE_NODE;
    const r = spawnSync(process.execPath, [...TSX, 'scripts/test/run.ts', '--help'], {
      cwd: ROOT,
      encoding: 'utf8',
      env,
    });
    assert.equal(r.status, 0, r.stderr);
    return /jobs: (.*)/.exec(r.stdout)?.[1];
  };
  assert.equal(jobs(undefined), 'tools, unit, notebooks, figures, solutions, typecheck, eslint, prettier');
  assert.equal(jobs('/usr/bin/node'), 'tools, unit, notebooks, figures, solutions, typecheck, eslint, prettier, smoke');
  const script = fs.readFileSync(path.join(ROOT, 'scripts/test/smoke.sh'), 'utf8');
  // it runs in a copy of the tree, with the kernelspec of that Node there, and the copy goes at exit
  for (const part of ['git ls-files', 'kernel.mjs install-local', "trap 'rm -rf", 'run.ts --quick --check'])
    assert.ok(script.includes(part), part);
});

test('npm test -- --only with an unknown job, or a stray argument: exit 2 naming it, no job started', () => {
  const run = (args: string[]) =>
    spawnSync(process.execPath, [...TSX, 'scripts/test/run.ts', ...args], { cwd: ROOT, encoding: 'utf8' });
  const bad = run(['--only', 'units']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--only: no job 'units'/);
  assert.match(bad.stderr, /jobs: tools, unit, notebooks/);
  assert.equal(bad.stdout, '');
  const stray = run(['--quick']);
  assert.equal(stray.status, 2);
  assert.match(stray.stderr, /unknown argument '--quick'/);
  const slots = spawnSync(process.execPath, [...TSX, 'scripts/test/run.ts'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, SEQUENTIA_TEST_SLOTS: '0' },
  });
  assert.equal(slots.status, 2);
  assert.match(slots.stderr, /SEQUENTIA_TEST_SLOTS must be a whole number ≥ 1, got '0'/);
});
