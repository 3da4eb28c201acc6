import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cleanup } from '../helpers/cleanup';

const ROOT = path.resolve(__dirname, '..', '..');
const FAULTS = 'test/fixtures/notebooks-faults';

function runner(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'notebooks', 'run.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env,
  });
}

const { tmp, started } = cleanup('sequentia-runner-');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Alive and not a zombie (a killed kernel reparented to a non-reaping init stays as one). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The child of `parent` whose command line contains `needle`. */
function childWith(parent: number, needle: string): number | undefined {
  return childrenWith(parent, needle)[0];
}

/** Every child of `parent` whose command line contains `needle`. */
function childrenWith(parent: number, needle: string): number[] {
  const found: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent && fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle)) found.push(Number(d));
    } catch {
      /* exited meanwhile */
    }
  }
  return found;
}

/** Milliseconds until every pid is gone; fails after `limitMs`. */
async function goneWithin(pids: number[], limitMs: number): Promise<number> {
  const t0 = Date.now();
  while (pids.some(alive)) {
    if (Date.now() - t0 > limitMs) assert.fail(`still running after ${limitMs} ms: ${pids.filter(alive).join(', ')}`);
    await sleep(50);
  }
  return Date.now() - t0;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Starts the runner on sleep.ipynb (and the notebooks `also` names, which come after it) and waits until
 * its second code cell (a one-minute sleep) runs: that cell writes the kernel's PID to the file named by
 * SEQUENTIA_TEST_MARK.
 */
async function startSleeping(also: string[] = []) {
  const dir = tmp();
  const mark = path.join(dir, 'kernel.pid');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(ROOT, 'scripts', 'notebooks', 'run.ts'),
      '--dir',
      FAULTS,
      '--only',
      'sleep',
      ...also.flatMap((a) => ['--only', a]),
      '--out',
      path.join(dir, 'out'),
      '--no-figures',
    ],
    {
      cwd: ROOT,
      env: { ...process.env, SEQUENTIA_TEST_MARK: mark },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  started.add(child.pid!);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exit = new Promise<Exit & { at: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const t0 = Date.now();
  while (!(fs.existsSync(mark) && fs.readFileSync(mark, 'utf8').length > 0)) {
    if (Date.now() - t0 > 60_000) assert.fail(`the sleeping cell never started:\n${stdout}\n${stderr}`);
    await sleep(50);
  }
  const kernel = Number(fs.readFileSync(mark, 'utf8'));
  const executor = childWith(child.pid!, 'sleep.ipynb');
  assert.ok(executor, 'executor process not found');
  started.add(executor);
  started.add(kernel);
  assert.ok(alive(kernel), 'kernel not running');
  return { runner: child.pid!, executor, kernel, exit, out: () => stdout, err: () => stderr };
}

/** Resolves with the exit, or fails after `limitMs`. */
async function exitWithin(
  p: Promise<Exit & { at: number }>,
  from: number,
  limitMs: number,
): Promise<Exit & { ms: number }> {
  const r = await Promise.race([p, sleep(limitMs).then(() => null)]);
  if (!r) assert.fail(`no exit within ${limitMs} ms`);
  return { ...r, ms: r.at - from };
}

test('a throwing cell: the runner names notebook, cell, source and the real error, and exits 1', () => {
  const out = tmp();
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
  const nb = JSON.parse(fs.readFileSync(path.join(out, '01-throws.ipynb'), 'utf8')) as {
    cells: { outputs?: { text?: string[] }[] }[];
  };
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

test('executor SIGKILLed mid-cell: the runner names notebook, cell and cause within seconds, kills the kernel, exits 1', async () => {
  const p = await startSleeping();
  const t0 = Date.now();
  process.kill(p.executor, 'SIGKILL');
  const r = await exitWithin(p.exit, t0, 10_000);
  assert.equal(r.code, 1, p.out() + p.err());
  assert.match(
    p.err(),
    /notebooks-faults\/sleep\.ipynb: executor killed by SIGKILL while running cell 3 \(code cell 2\)/,
  );
  assert.match(p.err(), /\| await new Promise\(\(r\) => setTimeout\(r, 60000\)\);/);
  const gone = await goneWithin([p.kernel], 3000);
  console.log(`executor SIGKILL → runner exit in ${r.ms} ms, kernel gone ${gone} ms later`);
});

test('kernel SIGKILLed mid-cell: reported as a dead kernel with its cause, exit 1 within seconds', async () => {
  const p = await startSleeping();
  const t0 = Date.now();
  process.kill(p.kernel, 'SIGKILL');
  const r = await exitWithin(p.exit, t0, 10_000);
  assert.equal(r.code, 1, p.out() + p.err());
  assert.match(p.err(), /sleep\.ipynb: cell 3 \(code cell 2\) failed \(dead kernel\)/);
  assert.match(p.err(), /kernel killed by SIGKILL/);
  await goneWithin([p.executor, p.kernel], 3000);
  console.log(`kernel SIGKILL → runner exit in ${r.ms} ms`);
});

test('SIGTERM to the runner: executor and kernel are killed and the runner exits 143 at once', async () => {
  const p = await startSleeping();
  const t0 = Date.now();
  process.kill(p.runner, 'SIGTERM');
  const r = await exitWithin(p.exit, t0, 5000);
  assert.equal(r.code, 143, p.out() + p.err());
  assert.match(p.err(), /SIGTERM while running .*sleep\.ipynb cell 3 \(code cell 2\)/);
  const gone = await goneWithin([p.executor, p.kernel], 3000);
  console.log(`runner SIGTERM → runner exit in ${r.ms} ms, executor and kernel gone ${gone} ms later`);
});

test("SIGKILL to the runner: the executor's watchdog kills the kernel and exits", async () => {
  const p = await startSleeping();
  const t0 = Date.now();
  process.kill(p.runner, 'SIGKILL');
  await exitWithin(p.exit, t0, 5000);
  const gone = await goneWithin([p.executor, p.kernel], 5000);
  console.log(`runner SIGKILL → executor and kernel gone in ${Date.now() - t0} ms (${gone} ms after the runner)`);
});

/** The executor of the notebook after sleep.ipynb, waiting for its turn, once its kernel has started. */
async function waitingExecutor(runner: number, name: string): Promise<{ executor: number; kernel: number }> {
  const t0 = Date.now();
  for (;;) {
    const executor = childWith(runner, name);
    const kernel = executor && childWith(executor, 'tslab-kernel.cjs');
    if (executor && kernel) return { executor, kernel };
    if (Date.now() - t0 > 30_000) assert.fail(`no executor and kernel for ${name} waiting`);
    await sleep(100);
  }
}

for (const sig of ['SIGTERM', 'SIGKILL'] as const)
  test(`the next notebook's kernel, started while sleep.ipynb runs, dies with the runner on ${sig}`, async () => {
    const p = await startSleeping(['timeout']);
    const next = await waitingExecutor(p.runner, 'timeout.ipynb');
    started.add(next.executor);
    started.add(next.kernel);
    assert.equal(childrenWith(p.runner, 'execute_notebook.py').length, 2, 'two executors: the running one and the next');
    const t0 = Date.now();
    process.kill(p.runner, sig);
    await exitWithin(p.exit, t0, 5000);
    const gone = await goneWithin([p.executor, p.kernel, next.executor, next.kernel], 5000);
    console.log(`runner ${sig} → both executors and both kernels gone in ${Date.now() - t0} ms (${gone} ms after the runner)`);
  });

test('a cell past --timeout: the kernel is interrupted (the waiting loop stops) and the cell fails as a timeout', () => {
  const out = tmp();
  const t0 = Date.now();
  const r = runner(['--dir', FAULTS, '--only', 'timeout', '--out', out, '--no-figures', '--timeout', '3']);
  const ms = Date.now() - t0;
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /timeout\.ipynb: cell 3 \(code cell 2\) failed \(timeout\)/);
  assert.match(r.stderr, /the cell ran longer than --timeout 3 s; the kernel was interrupted/);
  // the cell saw the interrupt and said so before the run ended: the interrupt reached the kernel
  const nb = JSON.parse(fs.readFileSync(path.join(out, 'timeout.ipynb'), 'utf8')) as {
    cells: { outputs?: { text?: string[] }[] }[];
  };
  assert.match(
    (nb.cells[2]?.outputs ?? []).map((o) => (o.text ?? []).join('')).join(''),
    /stopped by the interrupt after \d+ ms/,
  );
  assert.ok(ms < 20_000, `took ${ms} ms`);
});

test('asynchronous errors fail the cell that caused them, also after the last cell', () => {
  const out = tmp();
  const r = runner(['--dir', FAULTS, '--only', 'async-', '--out', out, '--no-figures']);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /notebooks: 0 passed, 3 failed/);
  // the kernel's marker line, printed under a later cell, blames the cell it names
  assert.match(
    r.stderr,
    /async-marker\.ipynb: cell 2 \(code cell 1\) failed \(asynchronous error, reported while cell 3 \(code cell 2\) ran\)\n {2}source:\n {4}\| console\.log\('the culprit'\);\n {2}error:\n {4}uncaught exception: Error: boom from a timer/,
  );
  const nb = JSON.parse(fs.readFileSync(path.join(out, 'async-marker.ipynb'), 'utf8')) as {
    cells: { outputs?: unknown[] }[];
  };
  assert.deepEqual(nb.cells[3]?.outputs, [], 'the run stops at the cell where the error showed');
  // end to end with the kernel launcher: a timer that throws after its cell returned
  assert.match(
    r.stderr,
    /async-throw\.ipynb: cell 2 \(code cell 1\) failed \(asynchronous error(, reported while cell 3 \(code cell 2\) ran)?\)\n {2}source:\n {4}\| setTimeout\(\(\) => \{ throw new Error\('boom'\); \}, 10\);\n {2}error:\n[^]*Error: boom/,
  );
  // a rejection after the last cell finished is caught by the final check
  assert.match(
    r.stderr,
    /async-last\.ipynb: cell 3 \(code cell 2\) failed \(asynchronous error\)[^]*Error: late rejection/,
  );
});

test('malformed notebooks: one line each naming the file, exit 2, no kernel started', () => {
  const t0 = Date.now();
  const r = runner(['--dir', 'test/fixtures/notebooks-malformed', '--out', tmp()]);
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout, /Executing/);
  assert.doesNotMatch(r.stderr, /Traceback/);
  const lines = r.stderr.trim().split('\n');
  assert.deepEqual(
    lines.map((l) => l.split(':')[0]),
    [1, 2, 3, 4, 5]
      .map((i) => fs.readdirSync(path.join(ROOT, 'test/fixtures/notebooks-malformed')).sort()[i - 1])
      .map((f) => `test/fixtures/notebooks-malformed/${f}`),
  );
  assert.match(lines[0]!, /01-not-json\.ipynb: not valid JSON \(line 3, column \d+\): /);
  assert.match(lines[1]!, /02-not-a-notebook\.ipynb: not a notebook: no 'nbformat' field$/);
  assert.match(lines[2]!, /03-no-cells\.ipynb: not a notebook: no 'cells' list$/);
  assert.match(
    lines[3]!,
    /04-bad-cell\.ipynb: not a valid notebook: cells\[1\]\.cell_type must be 'code', 'markdown' or 'raw', got string "typescript"$/,
  );
  assert.match(lines[4]!, /05-no-outputs\.ipynb: not a valid notebook: cells\[1\] \(code cell\) has no 'outputs'$/);
  assert.ok(Date.now() - t0 < 10_000);
  // the executor, given one anyway, also answers in one line and exit 2
  const py = spawnSync(
    '/usr/bin/python3',
    [
      path.join(ROOT, 'scripts', 'notebooks', 'execute_notebook.py'),
      path.join(ROOT, 'test/fixtures/notebooks-malformed/04-bad-cell.ipynb'),
      path.join(tmp(), 'x.ipynb'),
      '--kernel',
      'sequentia-ts',
      '--cwd',
      ROOT,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(py.status, 2, py.stderr);
  assert.equal(py.stderr.trim().split('\n').length, 1, py.stderr);
  assert.match(py.stderr, /04-bad-cell\.ipynb: not a valid notebook: /);
});

test('--out that is the notebook folder (any spelling, or a symlink) is refused before anything runs', () => {
  const src = path.join(ROOT, FAULTS, 'ok.ipynb');
  const before = fs.readFileSync(src, 'utf8');
  const link = path.join(tmp(), 'link');
  fs.symlinkSync(path.join(ROOT, FAULTS), link);
  for (const out of [FAULTS, `./${FAULTS}/`, path.join(ROOT, FAULTS), link]) {
    const r = runner(['--dir', FAULTS, '--only', 'ok.ipynb', '--out', out, '--no-figures']);
    assert.equal(r.status, 2, `--out ${out}: ${r.stdout}${r.stderr}`);
    assert.match(
      r.stderr,
      /is the notebook folder test\/fixtures\/notebooks-faults: the executed copies would overwrite the source notebooks/,
    );
    assert.match(r.stderr, /--in-place/);
    assert.doesNotMatch(r.stdout, /Executing/);
  }
  assert.equal(fs.readFileSync(src, 'utf8'), before);
});

test(
  'a passing notebook exits 0; figures go inside --out by default',
  { skip: !fs.existsSync('/usr/bin/chromium') && 'needs Chromium' },
  () => {
    const dir = tmp();
    const out = path.join(dir, 'nb');
    const r = runner(['--dir', FAULTS, '--only', 'ok.ipynb', '--out', out]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.ok(fs.existsSync(path.join(out, 'figures', 'index.html')), r.stdout);
    assert.ok(!fs.existsSync(path.join(dir, 'figures')));
  },
);

test('--help documents the exit codes', () => {
  const r = runner(['--help']);
  assert.equal(r.status, 0);
  assert.match(
    r.stdout,
    /exit codes:\n {2}0 {4}every notebook ran\n {2}1 {4}a notebook failed[^\n]*\n {2}2 {4}usage or bad input[^\n]*\n[^]*129, 130, 143 {2}stopped by SIGHUP, SIGINT \(Ctrl-C\) or SIGTERM/,
  );
});
