import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cleanup } from '../helpers/cleanup';
import { notebookProblem } from '../../scripts/notebooks/jupyter';
import { TSX } from '../../scripts/node-tsx';

const ROOT = path.resolve(__dirname, '..', '..');
const FAULTS = 'test/fixtures/notebooks-faults';
const LIMITS = 'test/fixtures/notebooks-limits';

function runner(args: string[], env: NodeJS.ProcessEnv = process.env, timeout = 0) {
  return spawnSync(process.execPath, [...TSX, path.join(ROOT, 'scripts', 'notebooks', 'run.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env,
    timeout,
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
      ...TSX,
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
      // TMPDIR: the runner's temporary inputs land in this test's folder, removed even when a test kills it
      env: { ...process.env, SEQUENTIA_TEST_MARK: mark, TMPDIR: dir },
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
  assert.match(r.stdout, /\n {2}4 {4}every notebook passed, but a file written at the end [^]*could not be written/);
});

/** Is a tmpfs mount possible here (root with CAP_SYS_ADMIN)? It gives a real full disk. */
function mountTmpfs(dir: string, size: string): boolean {
  return spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' }).status === 0;
}

test('--out that is a file, under a file, under /proc or read-only: exit 2 naming flag and path, before any kernel', () => {
  const dir = tmp();
  const file = path.join(dir, 'a-file');
  fs.writeFileSync(file, 'not a folder\n');
  const cases: [string, RegExp][] = [
    [file, /^--out \S+a-file is a file, not a folder/m],
    [path.join(file, 'out'), /^--out \S+a-file\/out cannot be written: a part of the path is a file, not a folder \(ENOTDIR\)/m],
    // Node 20's recursive mkdir never returns here: the runner must not hang
    ['/proc/sequentia-test/out', /^--out \/proc\/sequentia-test\/out cannot be written: .*\(ENOENT\)/m],
  ];
  const readOnly = path.join(dir, 'read-only');
  fs.mkdirSync(readOnly, { mode: 0o555 });
  // root writes through chmod 555: only an unprivileged user sees EACCES there
  if (process.getuid?.() !== 0) cases.push([readOnly, /^--out \S+read-only cannot be written: permission denied \(EACCES\)/m]);
  for (const [out, message] of cases) {
    const t0 = Date.now();
    const r = runner(['--dir', FAULTS, '--only', 'ok.ipynb', '--out', out, '--no-figures'], process.env, 30_000);
    assert.equal(r.status, 2, `--out ${out}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.doesNotMatch(r.stdout, /Executing/);
    assert.ok(Date.now() - t0 < 15_000, `refused in ${Date.now() - t0} ms`);
  }
  assert.equal(fs.readFileSync(file, 'utf8'), 'not a folder\n');
  const figures = runner(['--dir', FAULTS, '--only', 'ok.ipynb', '--out', path.join(dir, 'out'), '--figures', path.join(file, 'fig')]);
  assert.equal(figures.status, 2, figures.stdout + figures.stderr);
  assert.match(figures.stderr, /^--figures \S+a-file\/fig cannot be written: .*ENOTDIR/m);
});

test('empty or blank path flags are refused naming the flag, instead of meaning the current folder', () => {
  const out = path.join(tmp(), 'out');
  const given: [string[], string][] = [
    [['--out', ''], 'out'],
    [['--out='], 'out'],
    [['--out', out, '--dir', ' '], 'dir'],
    [['--out', out, '--figures', ''], 'figures'],
    [['--out', out, '--references', '  '], 'references'],
  ];
  for (const [flags, name] of given) {
    const r = runner(['--dir', FAULTS, '--only', 'ok.ipynb', '--no-figures', ...flags]);
    assert.equal(r.status, 2, `${flags.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^--${name} is empty`, 'm'));
    assert.doesNotMatch(r.stdout, /Executing/);
  }
  assert.ok(!fs.existsSync(path.join(ROOT, 'ok.ipynb')), 'nothing was written to the project folder');
});

test('a notebook saved with a UTF-8 byte-order mark runs; JSON errors name file, line and column', () => {
  assert.equal(fs.readFileSync(path.join(ROOT, LIMITS, 'bom.ipynb'))[0], 0xef, 'the fixture starts with a BOM');
  const out = tmp();
  const r = runner(['--dir', LIMITS, '--only', 'bom', '--out', out, '--no-figures']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const nb = JSON.parse(fs.readFileSync(path.join(out, 'bom.ipynb'), 'utf8')) as {
    cells: { outputs?: { text?: string[] }[] }[];
  };
  assert.equal((nb.cells[1]?.outputs?.[0]?.text ?? []).join(''), 'bom ok: 42\n');
  // V8 gives no position for "Unexpected token": the line and column are found anyway
  assert.match(
    notebookProblem('{\n "cells": [\n  {"a": tru}\n ]\n}')!,
    /^not valid JSON \(line 3, column 9\): Unexpected token '\}'/,
  );
  assert.match(notebookProblem('{\n "cells": [}')!, /^not valid JSON \(line 2, column 12\): /);
  const bad = path.join(tmp(), 'nb');
  fs.mkdirSync(bad);
  fs.writeFileSync(path.join(bad, 'x.ipynb'), '\ufeff{\n "cells": [\n  {"cell_type": "code",, }\n ]\n}\n');
  const b = runner(['--dir', bad, '--out', tmp(), '--no-figures']);
  assert.equal(b.status, 2, b.stdout + b.stderr);
  assert.match(b.stderr, /x\.ipynb: not valid JSON \(line 3, column 24\): /);
});

test('a kernel killed by V8 heap limit is reported as out of memory, with the limit and how to raise it', () => {
  const r = runner(['--dir', LIMITS, '--only', 'oom', '--out', tmp(), '--no-figures'], {
    ...process.env,
    NODE_OPTIONS: '--max-old-space-size=192',
  });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /oom\.ipynb: cell 3 \(code cell 2\) failed \(dead kernel\)/);
  assert.match(
    r.stderr,
    /kernel out of memory: V8 reached its heap limit of 192 MB \(--max-old-space-size=192 in NODE_OPTIONS\)/,
  );
  assert.match(r.stderr, /NODE_OPTIONS=--max-old-space-size=1024 npm run notebooks/);
  assert.match(r.stderr, /\(executor: kernel killed by SIGABRT while this cell ran\)/);
});

test('every notebook passed but the report could not be written: exit 4 naming the file, notebooks kept', () => {
  const out = tmp();
  fs.mkdirSync(path.join(out, 'report.json'));
  const r = runner(['--dir', FAULTS, '--only', 'ok.ipynb', '--out', out, '--no-figures']);
  assert.equal(r.status, 4, r.stdout + r.stderr);
  assert.match(r.stdout, /notebooks: 1 passed, 0 failed/);
  assert.match(r.stderr, /every notebook passed, but the run could not write:\n {2}report: could not write \S+\/report\.json: /);
  assert.match(r.stderr, /the executed notebooks are kept in \S+ \(exit 4\)/);
  assert.ok(fs.existsSync(path.join(out, 'ok.ipynb')));
});

test(
  'a full disk at the end (plotly.min.js for the figures): exit 4 naming the file and ENOSPC, notebooks kept',
  { skip: !fs.existsSync('/usr/bin/chromium') && 'needs Chromium' },
  (t) => {
    const dir = tmp();
    if (!mountTmpfs(dir, '1m')) return t.skip('cannot mount a small tmpfs here (needs root with CAP_SYS_ADMIN)');
    try {
      const out = path.join(dir, 'out');
      const r = runner(['--dir', FAULTS, '--only', 'ok.ipynb', '--out', out]);
      assert.equal(r.status, 4, r.stdout + r.stderr);
      assert.match(r.stdout, /notebooks: 1 passed, 0 failed/);
      assert.match(
        r.stderr,
        /figures: could not write \S+\/out\/figures\/plotly\.min\.js: no space left on device \(ENOSPC\)/,
      );
      assert.match(r.stderr, /\(exit 4\)/);
      assert.ok(fs.existsSync(path.join(out, 'ok.ipynb')));
    } finally {
      spawnSync('umount', [dir]);
    }
  },
);

test('the executor: a kernel that never answers is started a second time, then reported as a startup failure naming why', () => {
  const dir = tmp();
  const spec = path.join(dir, 'kernels', 'silent');
  fs.mkdirSync(spec, { recursive: true });
  // a "kernel" that takes its connection file and never answers
  fs.writeFileSync(
    path.join(spec, 'kernel.json'),
    JSON.stringify({
      argv: ['/usr/bin/python3', '-c', 'import time; time.sleep(60)', '{connection_file}'],
      display_name: 'silent',
      language: 'typescript',
    }),
  );
  const t0 = Date.now();
  const py = spawnSync(
    '/usr/bin/python3',
    [
      path.join(ROOT, 'scripts', 'notebooks', 'execute_notebook.py'),
      path.join(ROOT, 'test/fixtures/notebooks-failing/01-throws.ipynb'),
      path.join(dir, 'out.ipynb'),
      '--kernel',
      'silent',
      '--cwd',
      ROOT,
      '--startup-timeout',
      '2',
    ],
    { encoding: 'utf8', env: { ...process.env, JUPYTER_PATH: dir, JUPYTER_DATA_DIR: dir } },
  );
  assert.equal(py.status, 1, py.stderr);
  const events = py.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; failed?: { kind: string; error: string } });
  assert.equal(events.filter((e) => e.event === 'kernel-started').length, 2, 'two starts');
  assert.match(py.stderr, /the kernel did not answer .*; starting another/);
  const done = events.at(-1)!;
  assert.equal(done.event, 'done');
  assert.equal(done.failed?.kind, 'kernel startup');
  assert.match(done.failed!.error, /didn't respond in 2 seconds/);
  assert.ok(Date.now() - t0 < 30_000, 'no 120 s wait');
});
