/**
 * Output checks (nbval's idea, for numbers): the numbers each code cell prints, compared with reference
 * values stored in the repository.
 *
 * References: one JSON file per notebook and parameter set, `<notebook dir>/references/<name>.<set>.json`
 * (05-mlp.quick.json, 05-mlp.full.json), written by `--update-references` and reviewed like code:
 *
 *   { "notebook": "notebooks/05-mlp.ipynb", "parameter_set": "quick", "parameters": {…},
 *     "cells": { "<cell id>": { "cell": 7, "head": "first line of the source", "numbers": ["27", "2.4731"] } } }
 *
 * Numbers are kept as printed (strings), so a diff shows what the notebook shows and the check knows how
 * many digits were printed. They are read from a cell's text outputs: stdout and the text/plain of
 * results and displays (a table's text next to its HTML, a live line's final text); not stderr, HTML or
 * images. A cell without numbers has no entry.
 *
 * Tolerance, per cell in metadata.sequentia.check:
 *   "exact"                 every number as printed
 *   "skip"                  not checked (cells about timing), and not stored
 *   { "rel": r, "abs": a }  |got − expected| ≤ a + r·|expected| for numbers with a fraction or exponent
 *   (default)               integers exact; other numbers rel 1e-4 plus one unit in the last printed digit
 * Integers (no '.', no exponent: counts, sizes, steps, seeds, indices) are exact under every setting but "skip".
 */
import { stripAnsi } from './report';
import { sourceOf, tagsOf, INJECTED_TAG, type NotebookJson, type ParamValue } from './parameters';

export interface CellReference {
  /** 1-based position among all cells of the executed copy, and first line of its source (for readers) */
  cell: number;
  head: string;
  numbers: string[];
}
export interface ReferenceFile {
  notebook: string;
  parameter_set: string;
  parameters: Record<string, ParamValue>;
  cells: Record<string, CellReference>;
}

export type CheckSpec = 'exact' | 'skip' | { rel?: number; abs?: number };
/** The default for numbers with a fraction: relative 1e-4 plus one unit in the last printed digit. */
const DEFAULT_REL = 1e-4;

/** A printed number: optional sign, digits (or 1,234,567 groups), optional fraction and exponent, not part of a word. */
const NUMBER = /(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+(?![\d])|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w])/g;

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
}
const joined = (t: unknown): string => (Array.isArray(t) ? t.join('') : typeof t === 'string' ? t : '');

/** A cell's text outputs as the check reads them (ANSI colour codes removed). */
export function outputText(outputs: readonly Output[]): string {
  const parts: string[] = [];
  for (const o of outputs) {
    if (o.output_type === 'stream' && o.name === 'stdout') parts.push(joined(o.text));
    else if ((o.output_type === 'execute_result' || o.output_type === 'display_data') && o.data?.['text/plain'] !== undefined)
      parts.push(joined(o.data['text/plain']) + '\n');
  }
  return stripAnsi(parts.join(''));
}

/** The numbers in `text`, as printed, with the line each is on. */
export function extractNumbers(text: string): { token: string; line: string }[] {
  const found: { token: string; line: string }[] = [];
  for (const m of text.matchAll(NUMBER)) {
    const start = text.lastIndexOf('\n', m.index) + 1;
    const end = text.indexOf('\n', m.index);
    found.push({ token: m[0], line: text.slice(start, end < 0 ? undefined : end).trim() });
  }
  return found;
}

const value = (token: string): number => Number(token.replace(/,/g, ''));
const isInteger = (token: string): boolean => !/[.eE]/.test(token);
/** One unit in the last printed digit of a number with a fraction: 2.4731 → 1e-4; 0 for exponent notation. */
const lastDigit = (token: string): number => {
  if (/[eE]/.test(token)) return 0;
  const dot = token.indexOf('.');
  return dot < 0 ? 0 : 10 ** -(token.length - dot - 1);
};

/** The cell's check setting from its metadata; throws on a malformed one. */
export function checkSpec(cell: { metadata?: Record<string, unknown> }): CheckSpec | undefined {
  const seq = (cell.metadata ?? {}).sequentia as { check?: unknown } | undefined;
  const c = seq?.check;
  if (c === undefined) return undefined;
  if (c === 'exact' || c === 'skip') return c;
  if (typeof c === 'object' && c !== null && !Array.isArray(c)) {
    const { rel, abs, ...rest } = c as Record<string, unknown>;
    if (
      Object.keys(rest).length === 0 &&
      (rel === undefined || (typeof rel === 'number' && rel >= 0)) &&
      (abs === undefined || (typeof abs === 'number' && abs >= 0))
    )
      return { ...(rel !== undefined ? { rel: rel as number } : {}), ...(abs !== undefined ? { abs: abs as number } : {}) };
  }
  throw new Error(`metadata.sequentia.check must be "exact", "skip" or {"rel": r, "abs": a}, got ${JSON.stringify(c)}`);
}

function describeSpec(spec: CheckSpec | undefined): string {
  if (spec === 'exact') return 'exact';
  if (spec === 'skip') return 'skip';
  if (!spec) return `rel ${DEFAULT_REL} + 1 in the last printed digit`;
  return [spec.rel !== undefined ? `rel ${spec.rel}` : '', spec.abs !== undefined ? `abs ${spec.abs}` : '']
    .filter(Boolean)
    .join(' + ');
}

/** Does `got` match `expected` (both as printed) under `spec`? */
export function matches(expected: string, got: string, spec: CheckSpec | undefined): boolean {
  if (expected === got) return true;
  const e = value(expected);
  const g = value(got);
  if (Number.isNaN(e) || Number.isNaN(g)) return false;
  if (spec === 'exact' || (isInteger(expected) && isInteger(got))) return e === g;
  const allowed = spec && spec !== 'skip' ? (spec.abs ?? 0) + (spec.rel ?? 0) * Math.abs(e) : DEFAULT_REL * Math.abs(e) + lastDigit(expected);
  return Math.abs(g - e) <= allowed * (1 + 1e-12);
}

interface ExecutedCell {
  cell_type: string;
  id?: string;
  metadata?: Record<string, unknown>;
  source: string | string[];
  outputs?: Output[];
}

/** The references of an executed notebook: the numbers of every code cell not marked "skip". */
export function referencesOf(
  executed: NotebookJson,
  notebook: string,
  set: string,
  parameters: Record<string, ParamValue>,
): ReferenceFile {
  const cells: Record<string, CellReference> = {};
  for (const [i, c] of (executed.cells as ExecutedCell[]).entries()) {
    if (c.cell_type !== 'code' || tagsOf(c).includes(INJECTED_TAG) || checkSpec(c) === 'skip') continue;
    const numbers = extractNumbers(outputText(c.outputs ?? [])).map((n) => n.token);
    if (numbers.length === 0) continue;
    cells[c.id ?? `cell-${i + 1}`] = { cell: i + 1, head: sourceOf(c).split('\n')[0]!.slice(0, 100), numbers };
  }
  return { notebook, parameter_set: set, parameters, cells };
}

export function serializeReferences(r: ReferenceFile): string {
  // One cell a line group, numbers on one line: diffs show which cell changed and how.
  const cells = Object.entries(r.cells)
    .map(
      ([id, c]) =>
        `  ${JSON.stringify(id)}: {"cell": ${c.cell}, "head": ${JSON.stringify(c.head)},\n    "numbers": ${JSON.stringify(c.numbers)}}`,
    )
    .join(',\n');
  return `{"notebook": ${JSON.stringify(r.notebook)}, "parameter_set": ${JSON.stringify(r.parameter_set)},\n "parameters": ${JSON.stringify(r.parameters)},\n "cells": {\n${cells}\n }}\n`;
}

export interface Mismatch {
  /** 1-based cell numbers in the executed copy, and the cell id */
  cell: number;
  code_cell: number;
  id: string;
  message: string;
}

/**
 * Every difference between an executed notebook and its references: one message per cell, naming the
 * number's position in the cell's output, the line it is on, expected and got, and the tolerance.
 */
export function compareReferences(executed: NotebookJson, ref: ReferenceFile): Mismatch[] {
  const out: Mismatch[] = [];
  const seen = new Set<string>();
  let codeIndex = 0;
  for (const [i, c] of (executed.cells as ExecutedCell[]).entries()) {
    if (c.cell_type !== 'code') continue;
    codeIndex++;
    const id = c.id ?? `cell-${i + 1}`;
    seen.add(id);
    if (tagsOf(c).includes(INJECTED_TAG)) continue;
    const spec = checkSpec(c);
    if (spec === 'skip') continue;
    const got = extractNumbers(outputText(c.outputs ?? []));
    const expected = ref.cells[id]?.numbers ?? [];
    const where = { cell: i + 1, code_cell: codeIndex, id };
    if (!ref.cells[id] && got.length > 0) {
      out.push({
        ...where,
        message: `no reference for this cell, which printed ${got.length} number(s) (first: ${got[0]!.token} in "${got[0]!.line.slice(0, 80)}"); run --update-references and review the diff`,
      });
      continue;
    }
    const n = Math.min(expected.length, got.length);
    let bad = -1;
    for (let k = 0; k < n; k++)
      if (!matches(expected[k]!, got[k]!.token, spec)) {
        bad = k;
        break;
      }
    if (bad >= 0) {
      const g = got[bad]!;
      out.push({
        ...where,
        message: `number ${bad + 1} of ${expected.length}: expected ${expected[bad]}, got ${g.token} (tolerance: ${isInteger(expected[bad]!) && spec !== 'exact' ? 'exact (integer)' : describeSpec(spec)}) in "${g.line.slice(0, 120)}"`,
      });
    } else if (expected.length !== got.length) {
      const extra = got.length > expected.length ? `, the first extra one ${got[n]!.token} in "${got[n]!.line.slice(0, 80)}"` : `, the first missing one ${expected[n]}`;
      out.push({ ...where, message: `expected ${expected.length} numbers, got ${got.length}${extra}` });
    }
  }
  for (const [id, c] of Object.entries(ref.cells))
    if (!seen.has(id))
      out.push({ cell: c.cell, code_cell: 0, id, message: `the reference has cell ${id} ("${c.head.slice(0, 60)}"), which the notebook no longer has; run --update-references` });
  return out;
}
