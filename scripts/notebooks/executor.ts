/**
 * The executor: runs one notebook through Jupyter (scripts/notebooks/execute_notebook.py, nbclient and
 * the tslab kernel) and turns what it reports — its JSON event lines, its exit, its stderr — into the
 * notebook's result: per-cell status and seconds, and a failure naming the cell and the real cause.
 *
 * The executor and the kernel each run in their own process group; whatever way the executor ends,
 * both groups are gone when the result is known.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { KERNEL_NAME, ROOT } from './jupyter';
import type { CellReport, FailureReport } from './report';
import { explainDeadKernel } from './kernel-faults';
import { cellName, describeFailure, failureReport, sourceHead, type Failure } from './failures';
import type { Notebook } from './plan';

/** A notebook's code cells as the reports list them before any has run. */
export function notRunCells(nb: Notebook): CellReport[] {
  return nb.code.map((index, k) => ({
    cell: index + 1,
    code_cell: k + 1,
    status: 'not run',
    seconds: null,
    head: (nb.cells[index] ?? '').split('\n')[0]!.slice(0, 100),
  }));
}

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
export interface Running {
  child: ChildProcess;
  kernelPgid: number | null;
  connectionFile: string | null;
  nbPath: string;
  cell: CellStartEvent | null;
  /** when its turn came (Date.now()) */
  startedAt: number;
  /** when the running cell started (Date.now()) */
  cellStartedAt: number;
  /** one entry per code cell, updated from the executor's events (the report's per-cell part) */
  cellReports: CellReport[];
  exited: Promise<void>;
}

/**
 * A notebook's executor started ahead of its turn: Python, nbclient and the kernel boot (about 3 s)
 * while the notebook before it runs, then it waits for `go`. `cancel` stops it unstarted.
 */
export interface Launch {
  go(): Promise<Result>;
  cancel(): void;
}

export interface Result {
  name: string;
  cells: number;
  ok: boolean;
  seconds: number;
  failure?: string;
  badInput?: boolean;
  cellReports: CellReport[];
  failureReport?: FailureReport;
}

/** Seconds as the runner prints them: 4.2s, 3m07s. */
export function formatSeconds(s: number): string {
  if (s < 59.95) return `${s.toFixed(1)}s`;
  const whole = Math.round(s); // 419.6 s is 7m00s, not 6m60s
  return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
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

/**
 * Starts the executor of a notebook, waiting for its turn. `onTurn` hears when it starts running
 * (the executor a signal must stop) and when it has ended (null).
 */
export function launch(
  python: string,
  nb: Notebook,
  outPath: string,
  env: NodeJS.ProcessEnv,
  timeout: number,
  onTurn: (r: Running | null) => void,
): Launch {
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
    startedAt: 0,
    cellStartedAt: 0,
    cellReports: notRunCells(nb),
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
        console.log(`      cell ${ev.code_index + 1}/${ev.n} ${ev.ok ? 'ok' : 'FAILED'} in ${formatSeconds(ev.seconds)}`);
    } else if (ev.event === 'done') {
      r.cell = null;
      done = ev;
    }
  });
  return {
    go: () => {
      r.startedAt = Date.now();
      onTurn(r);
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
    onTurn(null);
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

/**
 * Stops a running executor and its kernel now (on a signal to the runner): SIGTERM lets the executor
 * kill its kernel and remove the connection file; after 1.5 s both groups get SIGKILL to make sure.
 */
export async function stopRunning(r: Running): Promise<void> {
  killGroup(r.child.pid, 'SIGTERM');
  await Promise.race([r.exited, delay(1500)]);
  killGroup(r.child.pid, 'SIGKILL');
  killGroup(r.kernelPgid, 'SIGKILL');
}
