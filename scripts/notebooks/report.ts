/**
 * Reports of a notebook run for CI systems, written by the runner next to the executed notebooks:
 *
 *   <out>/report.xml   JUnit XML: one <testcase> per notebook in <testsuite name="notebooks">; a failing
 *                      notebook's <failure> names the cell, the head of its source and the error
 *   <out>/report.json  the same run as JSON: settings, and per notebook and per code cell a status and
 *                      seconds
 *
 * A failed output check (--check) is a failure of kind "check" naming the cell, the number, expected and got.
 * Both are rewritten after every notebook (so a runner killed mid-run leaves what it knew), on a
 * signal and at the end, each atomically: a temporary file in the same folder, fsync, rename.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../lib/runtime/durable';

export type CellStatus = 'passed' | 'failed' | 'interrupted' | 'not run';
export type NotebookStatus = 'passed' | 'failed' | 'interrupted' | 'skipped' | 'pending';

/** One code cell: its 1-based number among all cells and among code cells, as the runner prints them. */
export interface CellReport {
  cell: number;
  code_cell: number;
  status: CellStatus;
  /** null: the cell never started */
  seconds: number | null;
  /** first line of its source (at most 100 characters) */
  head: string;
}

export interface FailureReport {
  /** error, timeout, asynchronous error, dead kernel, executor, interrupted, bad input, … */
  kind: string;
  /** the cell at fault (1-based numbers), null when no cell is (the kernel did not start, …) */
  cell: number | null;
  code_cell: number | null;
  /** one line: where and what */
  message: string;
  /** the error text (stack, stderr) */
  error: string;
  /** the first lines of the cell's source */
  source_head: string;
  /** the runner's full report: notebook, cell, source and error */
  text: string;
}

export interface NotebookReport {
  name: string;
  /** relative to the project root */
  path: string;
  /** 'full' or the parameter set applied (--quick: 'quick'), and every parameter's value (none: no parameters cell) */
  parameter_set?: string;
  parameters?: Record<string, string | number | boolean>;
  status: NotebookStatus;
  seconds: number;
  cells: CellReport[];
  failure?: FailureReport;
  /** why a skipped (or pending) notebook did not run */
  reason?: string;
}

export interface RunReport {
  suite: 'notebooks';
  status: 'running' | 'passed' | 'failed' | 'interrupted';
  /** ISO time the run started */
  started: string;
  seconds: number;
  settings: Record<string, string | number | boolean | string[] | null>;
  interrupted?: { signal: string; notebook: string | null; cell: number | null };
  figures: { status: 'pending' | 'exported' | 'failed' | 'skipped' | 'interrupted'; count?: number; dir?: string; reason?: string };
  notebooks: NotebookReport[];
}

// eslint-disable-next-line no-control-regex -- terminal escape sequences are control characters
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?/g;
/** Everything XML 1.0 forbids: C0 controls but tab/LF/CR, lone surrogates, U+FFFE and U+FFFF. */
// eslint-disable-next-line no-control-regex -- the characters to remove are control characters
const NOT_XML = /[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;

/** Terminal colour codes (tslab colours its errors) removed. */
export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

/** Text safe inside an XML element: colour codes and forbidden characters removed, markup escaped. */
export function xmlText(s: string): string {
  return stripAnsi(s).replace(NOT_XML, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Text safe inside a double-quoted XML attribute (line breaks kept as character references). */
function xmlAttr(s: string): string {
  return xmlText(s).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

const secs = (s: number): string => (Number.isFinite(s) && s > 0 ? s.toFixed(3) : '0.000');

function counts(nbs: NotebookReport[]) {
  return {
    tests: nbs.length,
    failures: nbs.filter((n) => n.status === 'failed').length,
    errors: nbs.filter((n) => n.status === 'interrupted').length,
    skipped: nbs.filter((n) => n.status === 'skipped' || n.status === 'pending').length,
  };
}

function testcase(nb: NotebookReport): string {
  const open = `    <testcase name="${xmlAttr(nb.name)}" classname="notebooks" file="${xmlAttr(nb.path)}" time="${secs(nb.seconds)}"`;
  if (nb.status === 'passed') return `${open}/>`;
  if (nb.status === 'skipped' || nb.status === 'pending')
    return `${open}>\n      <skipped message="${xmlAttr(nb.reason ?? 'not run')}"/>\n    </testcase>`;
  const f = nb.failure;
  const tag = nb.status === 'interrupted' ? 'error' : 'failure';
  const message = f?.message ?? `${nb.status}`;
  const body = f?.text ?? message;
  return `${open}>\n      <${tag} type="${xmlAttr(f?.kind ?? nb.status)}" message="${xmlAttr(message)}">${xmlText(body)}</${tag}>\n    </testcase>`;
}

/** The JUnit XML of a run: <testsuites> holding <testsuite name="notebooks"> (and one for the figure export). */
export function junitXml(r: RunReport): string {
  const c = counts(r.notebooks);
  const props = Object.entries(r.settings)
    .map(
      ([k, v]) =>
        `      <property name="${xmlAttr(k)}" value="${xmlAttr(Array.isArray(v) ? v.join(',') : String(v))}"/>`,
    )
    .join('\n');
  const suites = [
    `  <testsuite name="notebooks" tests="${c.tests}" failures="${c.failures}" errors="${c.errors}" skipped="${c.skipped}" time="${secs(r.seconds)}" timestamp="${xmlAttr(r.started.replace(/\.\d+Z$/, ''))}">
    <properties>
${props}
      <property name="status" value="${r.status}"/>
    </properties>
${r.notebooks.map(testcase).join('\n')}
  </testsuite>`,
  ];
  let total = { ...c };
  // The figure export is a step of its own: a suite with one case when it ran (or failed).
  if (r.figures.status === 'exported' || r.figures.status === 'failed') {
    const failed = r.figures.status === 'failed';
    const inner = failed
      ? `>\n      <failure type="figure export" message="${xmlAttr(r.figures.reason ?? 'figure export failed')}">${xmlText(r.figures.reason ?? '')}</failure>\n    </testcase>`
      : '/>';
    suites.push(`  <testsuite name="figures" tests="1" failures="${failed ? 1 : 0}" errors="0" skipped="0" time="0.000">
    <testcase name="figure export" classname="figures"${inner}
  </testsuite>`);
    total = { ...total, tests: total.tests + 1, failures: total.failures + (failed ? 1 : 0) };
  }
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="sequentia" tests="${total.tests}" failures="${total.failures}" errors="${total.errors}" skipped="${total.skipped}" time="${secs(r.seconds)}">
${suites.join('\n')}
</testsuites>
`;
}

/** Writes <dir>/report.xml and <dir>/report.json (synchronously: a signal handler calls this). */
export function writeReports(dir: string, r: RunReport): { xml: string; json: string } {
  const xml = path.join(dir, 'report.xml');
  const json = path.join(dir, 'report.json');
  fs.mkdirSync(dir, { recursive: true });
  const write = (file: string, text: string): void => {
    try {
      writeFileAtomic(file, text);
    } catch (e) {
      // a write error names no file (and a rename names the temporary one): say which report it was
      throw Object.assign(e as Error, { dest: file });
    }
  };
  write(xml, junitXml(r));
  write(json, JSON.stringify(r, (_k, v: unknown) => (typeof v === 'string' ? stripAnsi(v) : v), 2) + '\n');
  return { xml, json };
}
