/**
 * The main job: executes every notebook in notebooks/ in order through Jupyter, writes the executed
 * copies (with outputs) to an output folder, and prints progress and a summary.
 *
 *   npm run notebooks                       # real settings, outputs in out/notebooks
 *   npm run notebooks -- --quick            # shrunken training work (CI)
 *   npm run notebooks -- --only 02 --only 03 --out /tmp/nb --in-place --timeout 600
 *   npm run notebooks -- --only 05 -p steps=50000 -p lr=0.05   # parameters, papermill's way
 *   npm run notebooks -- --quick --check    # compare printed numbers with notebooks/references/*.quick.json
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
import { writeReports, type CellReport, type FailureReport, type NotebookReport, type RunReport } from './report';
import os from 'node:os';
import {
  ParameterError,
  planParameters,
  prepareNotebook,
  stripRun,
  sourceOf,
  type NotebookJson,
  type Plan,
} from './parameters';
import { checkSpec, compareReferences, referencesOf, serializeReferences, type ReferenceFile } from './references';
import { explainDeadKernel } from './kernel-faults';
import { cellName, describeFailure, failureReport, sourceHead, type Failure } from './failures';
import * as paths from './paths';
import { EXIT_OUTPUT_UNWRITTEN, realPath, sameFile, stripBom } from './paths';

const USAGE = `usage: npm run notebooks -- [--quick] [-p NAME=VALUE]... [--check | --update-references] [--out DIR]
                             [--only TEXT]... [--in-place] [--timeout SECONDS] [--bail]
  --quick        the notebooks' quick parameter set (metadata.sequentia.parameter_sets.quick): shrunken
                 training work so every cell runs fast; also sets SEQUENTIA_QUICK=1 for the kernel
  -p NAME=VALUE  set a parameter of the notebook's parameters cell (the code cell tagged 'parameters'),
                 repeatable, over --quick's set: a cell tagged 'injected-parameters' declaring it again
                 goes right after that cell (papermill's way), and the executed copy records every
                 parameter in metadata.sequentia.parameters. VALUE is read as JSON when it parses
                 (50000, 0.05, true, "text"), else as text; it must have the default's type.
                 Also --parameter NAME=VALUE.
  --check        compare the numbers every code cell prints with <dir>/references/<notebook>.<set>.json
                 (set: quick with --quick, else full); a difference fails the notebook naming the cell,
                 the number's position, expected and got. Not with -p.
  --update-references
                 write those reference files from this run (review the diff like code). Not with
                 --check or -p.
  --references DIR  where reference files are (default <dir>/references)
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

reports (in --out, rewritten after every notebook, on a signal and at the end):
  report.xml     JUnit XML: one testcase per notebook in testsuite "notebooks"
  report.json    settings, and per notebook and per code cell: status and seconds

exit codes:
  0    every notebook ran
  1    a notebook failed (a cell's error, an asynchronous error, a timeout, a dead kernel or executor, --check)
  2    usage or bad input (unknown flag, an empty path, malformed notebook, --out that is the notebook
       folder, a file, or not writable (checked before any kernel starts), unknown
       parameter, a value of the wrong type, -p for a notebook without a parameters cell, a
       parameters cell that is not \`const name = literal;\` lines, a missing reference file)
  3    Jupyter is missing and could not be installed
  4    every notebook passed, but a file written at the end (figures, plotly.min.js, report.xml or
       report.json) could not be written, e.g. the disk is full; the message names it; the executed
       notebooks are kept
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
  /** when the running cell started (Date.now()) */
  cellStartedAt: number;
  /** one entry per code cell, updated from the executor's events (the report's per-cell part) */
  cellReports: CellReport[];
  exited: Promise<void>;
}
let running: Running | null = null;

/**
 * A notebook's executor started ahead of its turn: Python, nbclient and the kernel boot (about 3 s)
 * while the notebook before it runs, then it waits for `go`. `cancel` stops it unstarted.
 */
interface Launch {
  go(): Promise<Result>;
  cancel(): void;
}
/** The executor waiting for its turn: a signal or an early exit of the runner stops it too. */
let standby: Launch | null = null;

interface Result {
  name: string;
  cells: number;
  ok: boolean;
  seconds: number;
  failure?: string;
  badInput?: boolean;
  cellReports: CellReport[];
  failureReport?: FailureReport;
}

/** `-p X` and `-pX` are --parameter X (parseFlags knows long flags only). */
function expandShortFlags(argv: readonly string[]): string[] {
  return argv.flatMap((a) => (a === '-p' ? ['--parameter'] : a.startsWith('-p') && a.length > 2 && !a.startsWith('--') ? [`--parameter=${a.slice(2)}`] : [a]));
}

function parse() {
  try {
    const { values: v } = parseFlags(
      expandShortFlags(process.argv.slice(2)),
      ['out', 'only', 'timeout', 'dir', 'figures', 'parameter', 'references'],
      ['quick', 'in-place', 'bail', 'no-figures', 'help', 'check', 'update-references'],
      ['only', 'parameter'],
      ['out', 'dir', 'figures', 'references'],
    );
    return {
      quick: v.quick === true,
      parameters: (v.parameter as string[] | undefined) ?? [],
      check: v.check === true,
      'update-references': v['update-references'] === true,
      references: v.references as string | undefined,
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

function launch(python: string, nb: Notebook, outPath: string, env: NodeJS.ProcessEnv, timeout: number): Launch {
  const name = path.basename(nb.path);
  const rel = path.relative(ROOT, nb.path);
  // detached: the executor leads its own process group, so a signal meant for it (or for its
  // children) is sent to the group. stdin is a pipe that carries one line, `go`: its EOF tells the
  // executor's watchdog that this runner is gone, even after a SIGKILL.
  const child = spawn(
    python,
    [
      path.join(ROOT, 'scripts', 'notebooks', 'execute_notebook.py'),
      nb.input,
      outPath,
      '--kernel',
      KERNEL_NAME,
      '--cwd',
      ROOT,
      '--timeout',
      String(timeout),
      '--watch-stdin',
      '--wait-go',
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
    cellStartedAt: 0,
    cellReports: nb.code.map((index, k) => ({
      cell: index + 1,
      code_cell: k + 1,
      status: 'not run',
      seconds: null,
      head: (nb.cells[index] ?? '').split('\n')[0]!.slice(0, 100),
    })),
    exited: exit.then(() => undefined),
  };
  const cellReports = r.cellReports;
  child.stdin!.on('error', () => {}); // `go` to an executor that already ended (its kernel did not start)
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
      r.cellStartedAt = Date.now();
    } else if (ev.event === 'cell') {
      cells = ev.n;
      const c = cellReports[ev.code_index];
      if (c) Object.assign(c, { status: ev.ok ? 'passed' : 'failed', seconds: ev.seconds });
      if (ev.seconds >= 5 || !ev.ok)
        console.log(`      cell ${ev.code_index + 1}/${ev.n} ${ev.ok ? 'ok' : 'FAILED'} in ${fmt(ev.seconds)}`);
    } else if (ev.event === 'done') {
      r.cell = null;
      done = ev;
    }
  });
  return {
    go: () => {
      running = r;
      child.stdin!.write('go\n');
      return finish();
    },
    cancel: () => {
      // SIGTERM: the executor kills its kernel and removes the connection file; a kernel it had not
      // reported yet exits by itself once the executor is gone (tslab-kernel.cjs's orphan check).
      killGroup(child.pid, 'SIGTERM');
      killGroup(r.kernelPgid, 'SIGKILL');
      child.stdin!.destroy();
    },
  };

  async function finish(): Promise<Result> {
  const ex = await exit;
  // Lines already written are delivered promptly; don't wait on a pipe a stray kernel may hold open.
  await Promise.race([closed, delay(500)]);
  // Whatever the executor left (a kernel after its crash, processes a notebook started) dies with it.
  const kernelKilled = killGroup(r.kernelPgid, 'SIGKILL');
  const finished = done as DoneEvent | null; // assigned by the line handler
  const runningCell = r.cell as CellStartEvent | null; // assigned by the line handler
  const runningSeconds = (Date.now() - r.cellStartedAt) / 1000;
  if (!finished && r.connectionFile) fs.rmSync(r.connectionFile, { force: true }); // the executor could not tidy up
  lines.close();
  child.stdin!.destroy();
  child.stdout!.destroy();
  child.stderr!.destroy();
  running = null;
  if (finished) {
    if (finished.failed) {
      const f = finished.failed;
      if (f.kind === 'dead kernel') f.error = explainDeadKernel(f.error, stderr, env);
      // The cell at fault failed, also when the error showed up later (an asynchronous error).
      const culprit = f.code_index === null ? undefined : cellReports[f.code_index];
      if (culprit) culprit.status = 'failed';
      const text = describeFailure(rel, f);
      return {
        name,
        cells,
        ok: false,
        seconds: finished.seconds,
        failure: text,
        cellReports,
        failureReport: failureReport(f.kind, f.index, f.code_index, f.error, f.source, text),
      };
    }
    return { name, cells, ok: true, seconds: finished.seconds, cellReports };
  }
  if (ex.code === 2) {
    const failure = lastLines(stderr, 1);
    return {
      name,
      cells,
      ok: false,
      seconds: 0,
      failure,
      badInput: true,
      cellReports,
      failureReport: failureReport('bad input', null, null, failure, '', failure),
    };
  }
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
  const text = `${rel}: executor ${how} ${where}${kernel}${source}${log}`;
  const c = runningCell ? cellReports[runningCell.code_index] : undefined;
  if (c) Object.assign(c, { status: 'failed', seconds: Math.round(runningSeconds * 1000) / 1000 });
  return {
    name,
    cells,
    ok: false,
    seconds: 0,
    failure: text,
    cellReports,
    failureReport: failureReport(
      'executor',
      runningCell?.index ?? null,
      runningCell?.code_index ?? null,
      `executor ${how} ${where}${kernel}${log}`,
      runningCell ? (nb.cells[runningCell.index] ?? '') : '',
      text,
    ),
  };
  }
}

interface Notebook {
  path: string;
  /** the cells' sources as executed (with the injected parameters cell, if any) */
  cells: string[];
  /** indices of the code cells (in the executed copy) */
  code: number[];
  /** what runs: the notebook with its parameters injected, ids filled in and the run's metadata */
  prepared: NotebookJson;
  /** the file the executor reads (a temporary copy of `prepared`) */
  input: string;
  plan: Plan;
}

interface Options {
  set: string;
  assignments: string[];
  /** where reference files are read or written, null: neither --check nor --update-references */
  references: string | null;
  check: boolean;
}

/** Reference file of a notebook for a parameter set: <references>/<name>.<set>.json. */
const referencePath = (dir: string, nbPath: string, set: string): string =>
  path.join(dir, `${path.basename(nbPath).replace(/\.ipynb$/, '')}.${set}.json`);

let inputDir: string | null = null;
function removeInputs(): void {
  if (inputDir) fs.rmSync(inputDir, { recursive: true, force: true });
  inputDir = null;
}

/**
 * Reads and checks every selected notebook before any kernel starts (JSON, parameters, -p values,
 * check settings, reference files for --check); exits 2 listing the bad ones, one line each.
 */
function loadNotebooks(nbDir: string, names: string[], opts: Options): Notebook[] {
  const bad: string[] = [];
  const good: Notebook[] = [];
  for (const name of names) {
    const file = path.join(nbDir, name);
    const rel = path.relative(ROOT, file) || file;
    let text: string;
    try {
      text = stripBom(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      bad.push(`${rel}: cannot read: ${(e as Error).message}`);
      continue;
    }
    const problem = notebookProblem(text);
    if (problem) {
      bad.push(`${rel}: ${problem}`);
      continue;
    }
    const json = JSON.parse(text) as NotebookJson;
    let plan: Plan;
    try {
      plan = planParameters(json, rel, opts.set, opts.assignments);
    } catch (e) {
      if (!(e instanceof ParameterError)) throw e;
      bad.push(e.message);
      continue;
    }
    const prepared = prepareNotebook(json, plan);
    const specProblem = prepared.cells.flatMap((c, i) => {
      try {
        checkSpec(c);
        return [];
      } catch (e) {
        return [`${rel}: cell ${i + 1} (id ${c.id}): ${(e as Error).message}`];
      }
    });
    if (specProblem.length > 0) {
      bad.push(specProblem[0]!);
      continue;
    }
    if (opts.check && opts.references) {
      const ref = referencePath(opts.references, file, plan.set);
      if (!fs.existsSync(ref)) {
        bad.push(
          `${rel}: --check: no reference file ${path.relative(ROOT, ref) || ref}; write it with --update-references${plan.set === 'full' ? '' : ` --${plan.set}`} and review it`,
        );
        continue;
      }
    }
    good.push({
      path: file,
      cells: prepared.cells.map(sourceOf),
      code: prepared.cells.flatMap((c, i) => (c.cell_type === 'code' ? [i] : [])),
      prepared,
      input: '',
      plan,
    });
  }
  if (bad.length > 0) {
    for (const b of bad) console.error(b);
    process.exit(2);
  }
  inputDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sequentia-run-'));
  for (const nb of good) {
    nb.input = path.join(inputDir, path.basename(nb.path));
    fs.writeFileSync(nb.input, JSON.stringify(nb.prepared, null, 1) + '\n');
  }
  return good;
}

/**
 * --check / --update-references for a notebook that ran: null when fine (or written), else the
 * failure text naming notebook, cell, position, expected and got, and its report.
 */
function checkOutputs(
  nb: Notebook,
  outPath: string,
  refDir: string,
  mode: 'check' | 'update',
): { text: string; report: FailureReport } | { written: string } | null {
  const rel = path.relative(ROOT, nb.path);
  const executed = JSON.parse(fs.readFileSync(outPath, 'utf8')) as NotebookJson;
  const file = referencePath(refDir, nb.path, nb.plan.set);
  if (mode === 'update') {
    const refs = referencesOf(executed, rel, nb.plan.set, nb.plan.values);
    fs.mkdirSync(refDir, { recursive: true });
    fs.writeFileSync(file, serializeReferences(refs));
    return { written: path.relative(ROOT, file) || file };
  }
  const ref = JSON.parse(fs.readFileSync(file, 'utf8')) as ReferenceFile;
  const diffs = compareReferences(executed, ref);
  if (diffs.length === 0) return null;
  const lines = diffs.map(
    (d) => `  ${d.code_cell ? cellName(d.cell - 1, d.code_cell - 1) : `cell ${d.cell}`}, id ${d.id}: ${d.message}`,
  );
  const text = `${rel}: output check failed against ${path.relative(ROOT, file)} (${diffs.length} cell(s) differ)\n${lines.join('\n')}`;
  const first = diffs[0]!;
  const source = first.code_cell ? (nb.cells[first.cell - 1] ?? '') : '';
  return {
    text,
    report: {
      kind: 'check',
      cell: first.cell,
      code_cell: first.code_cell || null,
      message: `${first.code_cell ? cellName(first.cell - 1, first.code_cell - 1) : `cell ${first.cell}`} (id ${first.id}) output check failed: ${first.message}`.slice(0, 400),
      error: lines.join('\n'),
      source_head: source.split('\n').slice(0, 6).join('\n'),
      text,
    },
  };
}

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

let stopping = false;
/** Ctrl-C, kill or a closed terminal: stop the executor and the kernel now, not at the cell timeout. */
function onSignal(sig: NodeJS.Signals): void {
  if (stopping) return; // a second Ctrl-C: already on it, and done within 1.5 s
  stopping = true;
  const code = SIGNAL_EXIT[sig] ?? 1;
  standby?.cancel();
  standby = null;
  const r = running;
  reportInterrupted(sig, r);
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

/** The run's report as known so far, and where it goes (set once --out exists). */
let report: RunReport | null = null;
let reportDir: string | null = null;
let reportStarted = 0;

/** Files the run could not write (figures, reports): said at once, and at the end exit 4 if all passed. */
const unwritten = new Map<string, string>();
/** Rewrites report.xml and report.json; a failure to write is said, never fatal. */
function saveReport(): void {
  if (!report || !reportDir) return;
  report.seconds = Math.round((Date.now() - reportStarted) / 10) / 100;
  try {
    writeReports(reportDir, report);
    unwritten.delete('report');
  } catch (e) {
    const text = paths.unwrittenMessage('report', paths.fileOfError(e, path.join(reportDir, 'report.json')), e);
    if (unwritten.get('report') !== text) console.error(text);
    unwritten.set('report', text);
  }
}

/** A notebook's entry from its result. */
function notebookReport(entry: NotebookReport, r: Result): void {
  entry.status = r.ok ? 'passed' : 'failed';
  entry.seconds = r.seconds;
  entry.cells = r.cellReports;
  delete entry.reason;
  if (r.failureReport) entry.failure = r.failureReport;
}

/** On a signal: the running notebook is interrupted, the ones after it skipped; written at once. */
function reportInterrupted(sig: NodeJS.Signals, r: Running | null): void {
  if (!report) return;
  const name = r ? path.basename(r.nbPath) : null;
  const cell = r?.cell ?? null;
  report.status = 'interrupted';
  report.interrupted = { signal: sig, notebook: name, cell: cell ? cell.index + 1 : null };
  for (const nb of report.notebooks) {
    if (nb.status !== 'pending') continue;
    if (r && nb.name === name) {
      const cells = r.cellReports;
      const c = cell ? cells[cell.code_index] : undefined;
      if (c) Object.assign(c, { status: 'interrupted', seconds: Math.round(Date.now() - r.cellStartedAt) / 1000 });
      const where = cell ? ` while running ${cellName(cell.index, cell.code_index)}` : '';
      const message = `stopped by ${sig}${where}`;
      Object.assign(nb, {
        status: 'interrupted',
        cells,
        seconds: Math.round(Date.now() - notebookStartedAt) / 1000,
        failure: {
          kind: 'interrupted',
          cell: cell ? cell.index + 1 : null,
          code_cell: cell ? cell.code_index + 1 : null,
          message,
          error: `the runner received ${sig}; the executor and the kernel were killed`,
          source_head: cell ? (r.cellReports[cell.code_index]?.head ?? '') : '',
          text: `${r.nbPath}: ${message}`,
        },
      });
      delete nb.reason;
    } else {
      nb.status = 'skipped';
      nb.reason = `not run: the run was stopped by ${sig}`;
    }
  }
  if (report.figures.status === 'pending') report.figures = { status: 'interrupted', reason: `stopped by ${sig}` };
  saveReport();
}
let notebookStartedAt = 0;

async function main(): Promise<void> {
  const args = parse();
  if (args.help) {
    console.log(USAGE);
    return;
  }
  if (args.check && args['update-references']) {
    console.error(`--check and --update-references do not go together: check against the references, or write them\n${USAGE}`);
    process.exit(2);
  }
  if ((args.check || args['update-references']) && args.parameters.length > 0) {
    console.error(
      `--${args.check ? 'check' : 'update-references'} with -p: references belong to a named parameter set (full, or --quick), not to ad-hoc values`,
    );
    process.exit(2);
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
  const refDir = path.resolve(ROOT, args.references ?? path.join(args.dir!, 'references'));
  const notebooks = loadNotebooks(nbDir, names, {
    set: args.quick ? 'quick' : 'full',
    assignments: args.parameters,
    references: args.check || args['update-references'] ? refDir : null,
    check: args.check,
  });
  process.on('exit', removeInputs);
  // after the notebooks and parameters are checked (a bad one leaves nothing behind), before any kernel
  const figuresDir = args.figures !== undefined && !args['no-figures'] ? path.resolve(ROOT, args.figures) : null;
  for (const [flag, shown, dir] of [['out', args.out!, outDir], ...(figuresDir ? [['figures', args.figures!, figuresDir]] : [])]) {
    const problem = paths.unwritableFolder(flag!, shown!, dir!);
    if (problem) {
      console.error(problem);
      process.exit(2);
    }
  }

  const python = ensureJupyter();
  ensureKernelspec();
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
  reportStarted = started;
  reportDir = outDir;
  report = {
    suite: 'notebooks',
    status: 'running',
    started: new Date(started).toISOString(),
    seconds: 0,
    settings: {
      quick: args.quick || env.SEQUENTIA_QUICK === '1',
      timeout,
      only: args.only ?? [],
      dir: args.dir!,
      out: args.out!,
      bail: args.bail,
      in_place: args['in-place'],
      figures: !args['no-figures'],
      kernel: KERNEL_NAME,
      node: process.version,
      backend: process.env.SEQUENTIA_BACKEND ?? null,
      parameter_set: args.quick ? 'quick' : 'full',
      parameters: args.parameters,
      check: args.check,
      update_references: args['update-references'],
    },
    figures: args['no-figures'] ? { status: 'skipped', reason: '--no-figures' } : { status: 'pending' },
    notebooks: notebooks.map((nb) => ({
      name: path.basename(nb.path),
      path: path.relative(ROOT, nb.path),
      parameter_set: nb.plan.set,
      parameters: nb.plan.values,
      status: 'pending',
      seconds: 0,
      cells: nb.code.map((index, k) => ({
        cell: index + 1,
        code_cell: k + 1,
        status: 'not run',
        seconds: null,
        head: (nb.cells[index] ?? '').split('\n')[0]!.slice(0, 100),
      })),
      reason: 'not run yet: the run was still going when this report was written',
    })),
  };
  saveReport();
  const results: Result[] = [];
  let checkMs = 0;
  const launchAt = (i: number): Launch | null => {
    const nb = notebooks[i];
    if (!nb) return null;
    const name = path.basename(nb.path);
    const env1 = { ...env, SEQUENTIA_NOTEBOOK: name.replace(/\.ipynb$/, '') };
    return launch(python, nb, path.join(outDir, name), env1, timeout);
  };
  process.on('exit', () => standby?.cancel());
  standby = launchAt(0);
  for (const [i, nb] of notebooks.entries()) {
    const name = path.basename(nb.path);
    console.log(`[${i + 1}/${notebooks.length}] ${name}  (elapsed ${fmt((Date.now() - started) / 1000)})`);
    notebookStartedAt = Date.now();
    const outPath = path.join(outDir, name);
    const current = standby!;
    // The next notebook's kernel boots while this one runs (one core is mostly idle meanwhile).
    standby = launchAt(i + 1);
    const r = await current.go();
    if (!r.ok && r.seconds === 0) r.seconds = Math.round(Date.now() - notebookStartedAt) / 1000;
    if (r.ok && (args.check || args['update-references'])) {
      const t0 = performance.now();
      const c = checkOutputs(nb, outPath, refDir, args.check ? 'check' : 'update');
      checkMs += performance.now() - t0;
      if (c && 'written' in c) console.log(`      references: ${c.written}`);
      else if (c) Object.assign(r, { ok: false, failure: c.text, failureReport: c.report });
      else console.log(`      check: every printed number matches ${path.relative(ROOT, referencePath(refDir, nb.path, nb.plan.set))}`);
    }
    const entry = report.notebooks[i]!;
    notebookReport(entry, r);
    if (r.badInput) {
      report.status = 'failed';
      for (const later of report.notebooks.slice(i + 1))
        Object.assign(later, { status: 'skipped', reason: `not run: ${name} is not a valid notebook` });
      report.figures = { status: 'skipped', reason: 'bad input' };
      saveReport();
      console.error(r.failure);
      process.exit(2);
    }
    results.push(r);
    saveReport();
    console.log(`      ${r.ok ? 'ok' : 'FAILED'}: ${r.cells} code cells in ${fmt(r.seconds)}`);
    if (r.ok && args['in-place'])
      fs.writeFileSync(
        nb.path,
        JSON.stringify(stripRun(JSON.parse(fs.readFileSync(outPath, 'utf8')) as NotebookJson), null, 1) + '\n',
      );
    if (!r.ok && args.bail) {
      standby?.cancel();
      standby = null;
      for (const later of report.notebooks.slice(i + 1))
        Object.assign(later, { status: 'skipped', reason: `not run: --bail stopped the run after ${name} failed` });
      break;
    }
  }

  if (!args['no-figures']) {
    const ok = results.filter((r) => r.ok).map((r) => path.join(outDir, r.name));
    const figDir = path.resolve(ROOT, args.figures ?? path.join(outDir, 'figures'));
    if (!findChromium()) {
      console.log(`figures: not exported, and executed notebooks carry no static PNG. ${CHROMIUM_HINT}`);
      report.figures = { status: 'skipped', reason: 'Chromium not found' };
    } else if (ok.length === 0) {
      report.figures = { status: 'skipped', reason: 'no notebook passed' };
    } else {
      try {
        const rep = await exportFigures(ok, figDir, { embed: true, log: (s) => console.log(`      ${s}`) });
        report.figures = { status: 'exported', count: rep.figures.length, dir: path.relative(ROOT, figDir) };
        const per = rep.figures.map((f) => f.ms).sort((a, b) => a - b);
        console.log(
          `figures: ${rep.figures.length} exported to ${path.relative(ROOT, figDir)}/index.html (browser start ${rep.browserStartMs.toFixed(0)} ms, median ${(per[Math.floor(per.length / 2)] ?? 0).toFixed(0)} ms per figure); PNGs embedded in the executed notebooks`,
        );
      } catch (e) {
        // A file that could not be written (disk full, permissions) is not a notebook that failed.
        const err = e as NodeJS.ErrnoException;
        const io = Boolean(err.syscall && err.code);
        const text = io ? paths.unwrittenMessage('figures', paths.fileOfError(e, figDir), e) : `figure export failed: ${err.message}`;
        if (io) console.error(text);
        if (io) unwritten.set('figures', text);
        else results.push({ name: 'figure export', cells: 0, ok: false, seconds: 0, failure: text, cellReports: [] });
        report.figures = { status: 'failed', reason: text };
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
  if (args.check || args['update-references'])
    console.log(`${args.check ? 'output check' : 'references written'}: ${(checkMs / 1000).toFixed(2)} s of the total`);
  for (const r of failed) console.error(`\n${r.failure}\n`);
  report.status = failed.length > 0 ? 'failed' : 'passed';
  saveReport();
  console.log(
    `reports: ${path.relative(ROOT, path.join(outDir, 'report.xml'))} (JUnit), ${path.relative(ROOT, path.join(outDir, 'report.json'))}`,
  );
  console.log(`notebooks: ${results.length - failed.length} passed, ${failed.length} failed`);
  if (failed.length > 0) process.exit(1);
  if (unwritten.size > 0) {
    console.error(
      `\nevery notebook passed, but the run could not write:\n${[...unwritten.values()].map((t) => `  ${t}`).join('\n')}\n` +
        `the executed notebooks are kept in ${path.relative(ROOT, outDir) || '.'} (exit ${EXIT_OUTPUT_UNWRITTEN})`,
    );
    process.exit(EXIT_OUTPUT_UNWRITTEN);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  if (report && report.status === 'running') {
    report.status = 'failed';
    saveReport();
  }
  process.exit(1);
});
