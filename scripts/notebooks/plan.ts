/**
 * The run's plan: every selected notebook read and checked before any kernel starts (JSON, parameters
 * and -p values, check settings, reference files for --check), and what --check and
 * --update-references do with a notebook that ran.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { notebookProblem, ROOT } from './jupyter';
import type { FailureReport } from './report';
import {
  ParameterError,
  planParameters,
  prepareNotebook,
  sourceOf,
  type NotebookJson,
  type Plan,
} from './parameters';
import { checkSpec, compareReferences, referencesOf, serializeReferences, type ReferenceFile } from './references';
import { cellName } from './failures';
import { stripBom } from './paths';

export interface Notebook {
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

export interface Options {
  set: string;
  assignments: string[];
  /** where reference files are read or written, null: neither --check nor --update-references */
  references: string | null;
  check: boolean;
}

/** Reference file of a notebook for a parameter set: <references>/<name>.<set>.json. */
export const referencePath = (dir: string, nbPath: string, set: string): string =>
  path.join(dir, `${path.basename(nbPath).replace(/\.ipynb$/, '')}.${set}.json`);


/**
 * Reads and checks every selected notebook before any kernel starts (JSON, parameters, -p values,
 * check settings, reference files for --check); exits 2 listing the bad ones, one line each.
 */
export function loadNotebooks(nbDir: string, names: string[], opts: Options): Notebook[] {
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
  return good;
}

/**
 * Writes each notebook as it will run (parameters injected) to a temporary folder the executor reads,
 * and sets its `input`; returns the folder, for the caller to remove when the runner exits.
 */
export function writeInputs(notebooks: Notebook[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sequentia-run-'));
  for (const nb of notebooks) {
    nb.input = path.join(dir, path.basename(nb.path));
    fs.writeFileSync(nb.input, JSON.stringify(nb.prepared, null, 1) + '\n');
  }
  return dir;
}

/**
 * --check / --update-references for a notebook that ran: null when fine (or written), else the
 * failure text naming notebook, cell, position, expected and got, and its report.
 */
export function checkOutputs(
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
