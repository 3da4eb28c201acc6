/**
 * What a run reports: report.xml and report.json kept up to date as notebooks finish (and on a
 * signal), the files it could not write, and what is printed at the end — the table of notebooks, the
 * failures, where the reports are — with the exit code that follows from them.
 */
import path from 'node:path';
import { KERNEL_NAME, ROOT } from './jupyter';
import { writeReports, type NotebookReport, type RunReport } from './report';
import { cellName } from './failures';
import { formatSeconds, notRunCells, type Result, type Running } from './executor';
import type { Notebook } from './plan';
import * as paths from './paths';
import { EXIT_OUTPUT_UNWRITTEN } from './paths';

/** What the report's settings record of the flags. */
export interface RunSettings {
  quick: boolean;
  timeout: number;
  only: string[];
  dir: string;
  out: string;
  bail: boolean;
  inPlace: boolean;
  figures: boolean;
  parameters: string[];
  check: boolean;
  updateReferences: boolean;
}

/** The run's report as known so far and where it goes; rewritten after every change of note. */
export class RunLog {
  readonly report: RunReport;
  /** files the run could not write (figures, reports): said at once, and at the end exit 4 if all passed */
  readonly unwritten = new Map<string, string>();
  private readonly started: number;

  constructor(
    private readonly dir: string,
    settings: RunSettings,
    notebooks: Notebook[],
    env: NodeJS.ProcessEnv,
  ) {
    this.started = Date.now();
    const set = settings.quick ? 'quick' : 'full';
    this.report = {
      suite: 'notebooks',
      status: 'running',
      started: new Date(this.started).toISOString(),
      seconds: 0,
      settings: {
        quick: settings.quick || env.SEQUENTIA_QUICK === '1',
        timeout: settings.timeout,
        only: settings.only,
        dir: settings.dir,
        out: settings.out,
        bail: settings.bail,
        in_place: settings.inPlace,
        figures: settings.figures,
        kernel: KERNEL_NAME,
        node: process.version,
        backend: process.env.SEQUENTIA_BACKEND ?? null,
        parameter_set: set,
        parameters: settings.parameters,
        check: settings.check,
        update_references: settings.updateReferences,
      },
      figures: settings.figures ? { status: 'pending' } : { status: 'skipped', reason: '--no-figures' },
      notebooks: notebooks.map((nb) => ({
        name: path.basename(nb.path),
        path: path.relative(ROOT, nb.path),
        parameter_set: nb.plan.set,
        parameters: nb.plan.values,
        status: 'pending',
        seconds: 0,
        cells: notRunCells(nb),
        reason: 'not run yet: the run was still going when this report was written',
      })),
    };
  }

  /** Seconds since the run started. */
  elapsed(): number {
    return (Date.now() - this.started) / 1000;
  }

  /** Rewrites report.xml and report.json; a failure to write is said, never fatal. */
  save(): void {
    this.report.seconds = Math.round((Date.now() - this.started) / 10) / 100;
    try {
      writeReports(this.dir, this.report);
      this.unwritten.delete('report');
    } catch (e) {
      const text = paths.unwrittenMessage('report', paths.fileOfError(e, path.join(this.dir, 'report.json')), e);
      if (this.unwritten.get('report') !== text) console.error(text);
      this.unwritten.set('report', text);
    }
  }

  /** Notebook i's entry from its result. */
  notebookDone(i: number, r: Result): void {
    const entry = this.report.notebooks[i]!;
    entry.status = r.ok ? 'passed' : 'failed';
    entry.seconds = r.seconds;
    entry.cells = r.cellReports;
    delete entry.reason;
    if (r.failureReport) entry.failure = r.failureReport;
  }

  /** The notebooks after i are not run, for `reason`. */
  skipAfter(i: number, reason: string): void {
    for (const later of this.report.notebooks.slice(i + 1)) Object.assign(later, { status: 'skipped', reason });
  }

  /** On a signal: the running notebook is interrupted, the ones after it skipped; written at once. */
  interrupted(sig: NodeJS.Signals, r: Running | null): void {
    const report = this.report;
    const name = r ? path.basename(r.nbPath) : null;
    const cell = r?.cell ?? null;
    report.status = 'interrupted';
    report.interrupted = { signal: sig, notebook: name, cell: cell ? cell.index + 1 : null };
    for (const nb of report.notebooks) {
      if (nb.status !== 'pending') continue;
      if (r && nb.name === name) interruptedNotebook(nb, sig, r);
      else {
        nb.status = 'skipped';
        nb.reason = `not run: the run was stopped by ${sig}`;
      }
    }
    if (report.figures.status === 'pending') report.figures = { status: 'interrupted', reason: `stopped by ${sig}` };
    this.save();
  }

  /**
   * The end of the run: the table of notebooks, the failures and where the reports are, printed; the
   * report's final status written. Returns the exit code: 1 a notebook failed, 4 a file could not be
   * written, else 0.
   */
  finish(results: Result[], check: { mode: 'check' | 'update'; ms: number } | null): number {
    const w = Math.max(8, ...results.map((r) => r.name.length));
    console.log(`\n${'notebook'.padEnd(w)}  cells  status  time`);
    for (const r of results)
      console.log(
        `${r.name.padEnd(w)}  ${String(r.cells).padStart(5)}  ${(r.ok ? 'ok' : 'FAILED').padEnd(6)}  ${formatSeconds(r.seconds)}`,
      );
    const failed = results.filter((r) => !r.ok);
    console.log(`total ${formatSeconds(this.elapsed())}`);
    if (check)
      console.log(
        `${check.mode === 'check' ? 'output check' : 'references written'}: ${(check.ms / 1000).toFixed(2)} s of the total`,
      );
    for (const r of failed) console.error(`\n${r.failure}\n`);
    this.report.status = failed.length > 0 ? 'failed' : 'passed';
    this.save();
    console.log(
      `reports: ${path.relative(ROOT, path.join(this.dir, 'report.xml'))} (JUnit), ${path.relative(ROOT, path.join(this.dir, 'report.json'))}`,
    );
    console.log(`notebooks: ${results.length - failed.length} passed, ${failed.length} failed`);
    if (failed.length > 0) return 1;
    if (this.unwritten.size > 0) {
      console.error(
        `\nevery notebook passed, but the run could not write:\n${[...this.unwritten.values()].map((t) => `  ${t}`).join('\n')}\n` +
          `the executed notebooks are kept in ${path.relative(ROOT, this.dir) || '.'} (exit ${EXIT_OUTPUT_UNWRITTEN})`,
      );
      return EXIT_OUTPUT_UNWRITTEN;
    }
    return 0;
  }
}

/** The entry of the notebook a signal stopped: its cells so far, the running one interrupted. */
function interruptedNotebook(nb: NotebookReport, sig: NodeJS.Signals, r: Running): void {
  const cell = r.cell;
  const cells = r.cellReports;
  const c = cell ? cells[cell.code_index] : undefined;
  if (c) Object.assign(c, { status: 'interrupted', seconds: Math.round(Date.now() - r.cellStartedAt) / 1000 });
  const where = cell ? ` while running ${cellName(cell.index, cell.code_index)}` : '';
  const message = `stopped by ${sig}${where}`;
  Object.assign(nb, {
    status: 'interrupted',
    cells,
    seconds: Math.round(Date.now() - r.startedAt) / 1000,
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
}
