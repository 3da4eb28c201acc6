/**
 * The main job: executes every notebook in notebooks/ in order through Jupyter, writes the executed
 * copies (with outputs) to an output folder, and prints progress and a summary.
 *
 *   npm run notebooks                       # real settings, outputs in out/notebooks
 *   npm run notebooks -- --quick            # shrunken training work (CI)
 *   npm run notebooks -- --only 02 --only 03 --out /tmp/nb --in-place --timeout 600
 *
 * A failing cell makes the run exit 1 naming the notebook, the cell, its source and the real error.
 * Faults are reported the same way and never leave a process behind: the executor and the kernel each
 * run in their own process group; a dead executor, a dead kernel, an asynchronous error, a timeout or a
 * signal to this runner all end with both groups gone and a non-zero exit (codes in USAGE).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { parseFlags } from '../cli/flags';
import { ensureJupyter, ensureKernelspec, KERNEL_NAME, KERNELS_DIR, notebookProblem, ROOT } from './jupyter';
import { exportFigures } from '../cli/figures';
import { findChromium, CHROMIUM_HINT } from '../../lib/viz/export';

const USAGE = `usage: npm run notebooks -- [--quick] [--out DIR] [--only TEXT]... [--in-place] [--timeout SECONDS] [--bail]
  --quick        shrink training work so every cell runs fast (sets SEQUENTIA_QUICK=1)
  --out DIR      where executed notebooks go (default out/notebooks)
  --only TEXT    run only notebooks whose file name contains TEXT (repeatable)
  --in-place     also copy each notebook that passed back into the notebook folder (--out itself
                 must not be the notebook folder)
  --timeout S    per-cell time limit in seconds (default 3600); on expiry the kernel is interrupted
                 and the cell fails (timeout)
  --bail         stop at the first failing notebook
  --dir DIR      folder of notebooks to run (default notebooks)
  --no-figures   skip the figure export (by default every figure is exported to <out>/figures
                 and a static PNG is embedded in each executed notebook; needs Chromium)
  --figures DIR  where exported figures go (default <out>/figures)

exit codes:
  0    every notebook ran
  1    a notebook failed (a cell's error, an asynchronous error, a timeout, a dead kernel or executor)
  2    usage or bad input (unknown flag, malformed notebook, --out that is the notebook folder)
  3    Jupyter is missing and could not be installed
  129, 130, 143  stopped by SIGHUP, SIGINT (Ctrl-C) or SIGTERM; the executor and kernel are killed`;

interface CellEvent {
  event: 'cell';
  index: number;
  code_index: number;
  n: number;
  ok: boolean;
  seconds: number;
}
interface CellStartEvent {
  event: 'cell-start';
  index: number;
  code_index: number;
  n: number;
}
/** index null: not a cell's fault (the kernel did not start, or an asynchronous error from nowhere). */
interface Failure {
  index: number | null;
  code_index: number | null;
  kind: string;
  error: string;
  source: string;
  reported_in?: { index: number; code_index: number } | null;
}
interface DoneEvent {
  event: 'done';
  ok: boolean;
  seconds: number;
  failed: null | Failure;
}
type Event =
  | CellEvent
  | CellStartEvent
  | DoneEvent
  | { event: 'kernel'; seconds: number }
  | { event: 'kernel-started'; pid: number | null; pgid: number | null; connection_file: string | null };

/** The executor now running: what a signal handler must kill and what a crash report must name. */
interface Running {
  child: ChildProcess;
  kernelPgid: number | null;
  connectionFile: string | null;
  nbPath: string;
  cell: CellStartEvent | null;
  exited: Promise<void>;
}
let running: Running | null = null;

interface Result {
  name: string;
  cells: number;
  ok: boolean;
  seconds: number;
  failure?: string;
  badInput?: boolean;
}

function parse() {
  try {
    const { values: v } = parseFlags(
      process.argv.slice(2),
      ['out', 'only', 'timeout', 'dir', 'figures'],
      ['quick', 'in-place', 'bail', 'no-figures', 'help'],
      ['only'],
    );
    return {
      quick: v.quick === true,
      out: (v.out as string | undefined) ?? path.join('out', 'notebooks'),
      only: v.only as string[] | undefined,
      'in-place': v['in-place'] === true,
      timeout: (v.timeout as string | undefined) ?? '3600',
      bail: v.bail === true,
      dir: (v.dir as string | undefined) ?? 'notebooks',
      'no-figures': v['no-figures'] === true,
      figures: v.figures as string | undefined,
      help: v.help === true,
    };
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

function fmt(s: number): string {
  return s >= 60 ? `${Math.floor(s / 60)}m${(s % 60).toFixed(0).padStart(2, '0')}s` : `${s.toFixed(1)}s`;
}

const sourceHead = (src: string): string =>
  src
    .split('\n')
    .slice(0, 6)
    .map((l) => `    | ${l}`)
    .join('\n');
const cellName = (index: number, codeIndex: number): string => `cell ${index + 1} (code cell ${codeIndex + 1})`;

function describeFailure(nbPath: string, f: Failure): string {
  const err = f.error
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
  if (f.index === null || f.code_index === null) return `${nbPath}: failed (${f.kind})\n  error:\n${err}`;
  const where = f.reported_in ? `, reported while ${cellName(f.reported_in.index, f.reported_in.code_index)} ran` : '';
  return `${nbPath}: ${cellName(f.index, f.code_index)} failed (${f.kind}${where})\n  source:\n${sourceHead(f.source)}\n  error:\n${err}`;
}

/** Sends sig to a whole process group; false when it is already gone. */
function killGroup(pgid: number | null | undefined, sig: NodeJS.Signals): boolean {
  if (!pgid || pgid <= 1) return false;
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false;
  }
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const lastLines = (text: string, n: number): string => text.trim().split('\n').slice(-n).join('\n');

/** Where the executor was: 'while running cell 3 (code cell 2)' and that cell's source, or the phase. */
function whereRunning(r: Running, kernelStarted: boolean, cells: string[]): { where: string; source: string } {
  if (!r.cell) return { where: kernelStarted ? 'while starting the kernel' : 'before the kernel started', source: '' };
  return {
    where: `while running ${cellName(r.cell.index, r.cell.code_index)}`,
    source: `\n  source:\n${sourceHead(cells[r.cell.index] ?? '')}`,
  };
}

async function executeOne(
  python: string,
  nb: Notebook,
  outPath: string,
  env: NodeJS.ProcessEnv,
  timeout: number,
): Promise<Result> {
  const name = path.basename(nb.path);
  const rel = path.relative(ROOT, nb.path);
  // detached: the executor leads its own process group, so a signal meant for it (or for its
  // children) is sent to the group. stdin is a pipe we never write to: its EOF tells the executor's
  // watchdog that this runner is gone, even after a SIGKILL.
  const child = spawn(
    python,
    [
      path.join(ROOT, 'scripts', 'notebooks', 'execute_notebook.py'),
      nb.path,
      outPath,
      '--kernel',
      KERNEL_NAME,
      '--cwd',
      ROOT,
      '--timeout',
      String(timeout),
      '--watch-stdin',
    ],
    {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    },
  );
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', (error) => resolve({ code: null, signal: null, error }));
  });
  // The kernel inherits the executor's stdout and stderr, so their EOF says nothing about the executor.
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const r: Running = {
    child,
    kernelPgid: null,
    connectionFile: null,
    nbPath: rel,
    cell: null,
    exited: exit.then(() => undefined),
  };
  running = r;
  let kernelStarted = false;
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-64_000);
  });
  let done: DoneEvent | null = null;
  let cells = 0;
  const lines = readline.createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    let ev: Event;
    try {
      ev = JSON.parse(line) as Event;
    } catch {
      return;
    }
    if (ev.event === 'kernel-started') {
      r.kernelPgid = ev.pgid ?? ev.pid;
      r.connectionFile = ev.connection_file;
      kernelStarted = true;
    } else if (ev.event === 'cell-start') {
      r.cell = ev;
    } else if (ev.event === 'cell') {
      cells = ev.n;
      if (ev.seconds >= 5 || !ev.ok)
        console.log(`      cell ${ev.code_index + 1}/${ev.n} ${ev.ok ? 'ok' : 'FAILED'} in ${fmt(ev.seconds)}`);
    } else if (ev.event === 'done') {
      r.cell = null;
      done = ev;
    }
  });
  const ex = await exit;
  // Lines already written are delivered promptly; don't wait on a pipe a stray kernel may hold open.
  await Promise.race([closed, delay(500)]);
  // Whatever the executor left (a kernel after its crash, processes a notebook started) dies with it.
  const kernelKilled = killGroup(r.kernelPgid, 'SIGKILL');
  const finished = done as DoneEvent | null; // assigned by the line handler
  if (!finished && r.connectionFile) fs.rmSync(r.connectionFile, { force: true }); // the executor could not tidy up
  lines.close();
  child.stdin!.destroy();
  child.stdout!.destroy();
  child.stderr!.destroy();
  running = null;
  if (finished) {
    if (finished.failed)
      return { name, cells, ok: false, seconds: finished.seconds, failure: describeFailure(rel, finished.failed) };
    return { name, cells, ok: true, seconds: finished.seconds };
  }
  if (ex.code === 2) return { name, cells, ok: false, seconds: 0, failure: lastLines(stderr, 1), badInput: true };
  const how = ex.error
    ? `could not start (${ex.error.message})`
    : ex.signal
      ? `killed by ${ex.signal}`
      : `exited with code ${ex.code} before finishing`;
  const kernel = kernelKilled ? `; its kernel (process group ${r.kernelPgid}) was killed` : '';
  const tail = lastLines(stderr, 20);
  const log = tail
    ? `\n  executor and kernel stderr (last lines):\n${tail
        .split('\n')
        .map((l) => `    ${l}`)
        .join('\n')}`
    : '';
  const { where, source } = whereRunning(r, kernelStarted, nb.cells);
  return { name, cells, ok: false, seconds: 0, failure: `${rel}: executor ${how} ${where}${kernel}${source}${log}` };
}

interface Notebook {
  path: string;
  cells: string[];
}

/** Reads and checks every selected notebook before any kernel starts; exits 2 listing the bad ones. */
function loadNotebooks(nbDir: string, names: string[]): Notebook[] {
  const bad: string[] = [];
  const good: Notebook[] = [];
  for (const name of names) {
    const file = path.join(nbDir, name);
    const rel = path.relative(ROOT, file) || file;
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      bad.push(`${rel}: cannot read: ${(e as Error).message}`);
      continue;
    }
    const problem = notebookProblem(text);
    if (problem) {
      bad.push(`${rel}: ${problem}`);
      continue;
    }
    const cells = (JSON.parse(text) as { cells: { source: string | string[] }[] }).cells;
    good.push({ path: file, cells: cells.map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source)) });
  }
  if (bad.length > 0) {
    for (const b of bad) console.error(b);
    process.exit(2);
  }
  return good;
}

/** Real path of p, or of its longest existing ancestor plus the rest (--out may not exist yet). */
function realPath(p: string): string {
  const rest: string[] = [];
  let cur = path.resolve(p);
  while (!fs.existsSync(cur) && path.dirname(cur) !== cur) {
    rest.unshift(path.basename(cur));
    cur = path.dirname(cur);
  }
  return path.join(fs.realpathSync(cur), ...rest);
}

/** The same file (also through a symlink or a hard link)? */
function sameFile(a: string, b: string): boolean {
  try {
    const sa = fs.statSync(a);
    const sb = fs.statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

let stopping = false;
/** Ctrl-C, kill or a closed terminal: stop the executor and the kernel now, not at the cell timeout. */
function onSignal(sig: NodeJS.Signals): void {
  if (stopping) return; // a second Ctrl-C: already on it, and done within 1.5 s
  stopping = true;
  const code = SIGNAL_EXIT[sig] ?? 1;
  const r = running;
  if (!r) process.exit(code);
  process.stderr.write(
    `\nrunner: ${sig} while running ${r.nbPath}${r.cell ? ` ${cellName(r.cell.index, r.cell.code_index)}` : ''}: stopping the executor and the kernel\n`,
  );
  // SIGTERM lets the executor kill its kernel and remove the connection file; then make sure.
  killGroup(r.child.pid, 'SIGTERM');
  void Promise.race([r.exited, delay(1500)]).then(() => {
    killGroup(r.child.pid, 'SIGKILL');
    killGroup(r.kernelPgid, 'SIGKILL');
    process.exit(code);
  });
}

async function main(): Promise<void> {
  const args = parse();
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const timeout = Number(args.timeout);
  if (!Number.isInteger(timeout) || timeout <= 0) {
    console.error(`--timeout must be a positive whole number of seconds, got '${args.timeout}'\n${USAGE}`);
    process.exit(2);
  }

  const nbDir = path.resolve(ROOT, args.dir!);
  if (!fs.existsSync(nbDir)) {
    console.error(`notebook folder not found: ${args.dir}`);
    process.exit(2);
  }
  let names = fs
    .readdirSync(nbDir)
    .filter((f) => f.endsWith('.ipynb'))
    .sort();
  if (args.only?.length) names = names.filter((f) => args.only!.some((o) => f.includes(o)));
  if (names.length === 0) {
    console.error(`no notebooks match ${JSON.stringify(args.only ?? [])} in ${args.dir}`);
    process.exit(2);
  }

  // The executed copies must never land on the sources, however --out is spelled.
  const outDir = path.resolve(ROOT, args.out!);
  if (
    realPath(outDir) === fs.realpathSync(nbDir) ||
    names.some((n) => sameFile(path.join(outDir, n), path.join(nbDir, n)))
  ) {
    console.error(
      `--out ${args.out} is the notebook folder ${path.relative(ROOT, nbDir) || '.'}: the executed copies would overwrite the source notebooks.\n` +
        `Choose another --out (default out/notebooks); to store outputs in the sources on purpose, add --in-place, which copies each notebook that passed back into ${path.relative(ROOT, nbDir) || '.'}.`,
    );
    process.exit(2);
  }
  const notebooks = loadNotebooks(nbDir, names);

  const python = ensureJupyter();
  ensureKernelspec();
  fs.mkdirSync(outDir, { recursive: true });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JUPYTER_PATH: [KERNELS_DIR, process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter),
    SEQUENTIA_QUICK: args.quick ? '1' : (process.env.SEQUENTIA_QUICK ?? ''),
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
  };
  console.log(
    `Executing ${notebooks.length} notebook(s) with kernel '${KERNEL_NAME}' (${args.quick ? 'quick mode' : 'full settings'}) → ${path.relative(ROOT, outDir) || '.'}`,
  );
  const started = Date.now();
  const results: Result[] = [];
  for (const [i, nb] of notebooks.entries()) {
    const name = path.basename(nb.path);
    console.log(`[${i + 1}/${notebooks.length}] ${name}  (elapsed ${fmt((Date.now() - started) / 1000)})`);
    const outPath = path.join(outDir, name);
    const r = await executeOne(
      python,
      nb,
      outPath,
      { ...env, SEQUENTIA_NOTEBOOK: name.replace(/\.ipynb$/, '') },
      timeout,
    );
    if (r.badInput) {
      console.error(r.failure);
      process.exit(2);
    }
    results.push(r);
    console.log(`      ${r.ok ? 'ok' : 'FAILED'}: ${r.cells} code cells in ${fmt(r.seconds)}`);
    if (r.ok && args['in-place']) fs.copyFileSync(outPath, nb.path);
    if (!r.ok && args.bail) break;
  }

  if (!args['no-figures']) {
    const ok = results.filter((r) => r.ok).map((r) => path.join(outDir, r.name));
    const figDir = path.resolve(ROOT, args.figures ?? path.join(outDir, 'figures'));
    if (!findChromium()) {
      console.log(`figures: not exported, and executed notebooks carry no static PNG. ${CHROMIUM_HINT}`);
    } else if (ok.length > 0) {
      try {
        const rep = await exportFigures(ok, figDir, { embed: true, log: (s) => console.log(`      ${s}`) });
        const per = rep.figures.map((f) => f.ms).sort((a, b) => a - b);
        console.log(
          `figures: ${rep.figures.length} exported to ${path.relative(ROOT, figDir)}/index.html (browser start ${rep.browserStartMs.toFixed(0)} ms, median ${(per[Math.floor(per.length / 2)] ?? 0).toFixed(0)} ms per figure); PNGs embedded in the executed notebooks`,
        );
      } catch (e) {
        results.push({
          name: 'figure export',
          cells: 0,
          ok: false,
          seconds: 0,
          failure: `figure export failed: ${(e as Error).message}`,
        });
      }
    }
  }

  const w = Math.max(8, ...results.map((r) => r.name.length));
  console.log(`\n${'notebook'.padEnd(w)}  cells  status  time`);
  for (const r of results)
    console.log(
      `${r.name.padEnd(w)}  ${String(r.cells).padStart(5)}  ${(r.ok ? 'ok' : 'FAILED').padEnd(6)}  ${fmt(r.seconds)}`,
    );
  const failed = results.filter((r) => !r.ok);
  console.log(`total ${fmt((Date.now() - started) / 1000)}`);
  for (const r of failed) console.error(`\n${r.failure}\n`);
  console.log(`notebooks: ${results.length - failed.length} passed, ${failed.length} failed`);
  if (failed.length > 0) process.exit(1);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
