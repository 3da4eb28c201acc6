/** How the runner names a failing cell and describes a failure, on the console and in the report. */
import type { FailureReport } from './report';

/** index null: not a cell's fault (the kernel did not start, or an asynchronous error from nowhere). */
export interface Failure {
  index: number | null;
  code_index: number | null;
  kind: string;
  error: string;
  source: string;
  reported_in?: { index: number; code_index: number } | null;
}
export const sourceHead = (src: string): string =>
  src
    .split('\n')
    .slice(0, 6)
    .map((l) => `    | ${l}`)
    .join('\n');
export const cellName = (index: number, codeIndex: number): string => `cell ${index + 1} (code cell ${codeIndex + 1})`;

export function describeFailure(nbPath: string, f: Failure): string {
  const err = f.error
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
  if (f.index === null || f.code_index === null) return `${nbPath}: failed (${f.kind})\n  error:\n${err}`;
  const where = f.reported_in ? `, reported while ${cellName(f.reported_in.index, f.reported_in.code_index)} ran` : '';
  return `${nbPath}: ${cellName(f.index, f.code_index)} failed (${f.kind}${where})\n  source:\n${sourceHead(f.source)}\n  error:\n${err}`;
}

/** The report's view of a failure: 1-based cell numbers, a one-line message, the runner's full text. */
export function failureReport(
  kind: string,
  index: number | null,
  codeIndex: number | null,
  error: string,
  source: string,
  text: string,
): FailureReport {
  // The line that says what went wrong ('Error: …', 'TypeError: …'), not a stack's 'file.js:49' header.
  const lines = error
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const firstLine = lines.find((l) => /\b\w*(?:Error|Exception)\b:/.test(l)) ?? lines[0] ?? '';
  const where = index === null || codeIndex === null ? 'failed' : `${cellName(index, codeIndex)} failed`;
  return {
    kind,
    cell: index === null ? null : index + 1,
    code_cell: codeIndex === null ? null : codeIndex + 1,
    message: `${where} (${kind})${firstLine ? `: ${firstLine.slice(0, 300)}` : ''}`,
    error,
    source_head: source.split('\n').slice(0, 6).join('\n'),
    text,
  };
}
