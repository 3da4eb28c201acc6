/**
 * Notebook parameters, papermill's convention in TypeScript.
 *
 * A notebook has at most one code cell tagged `parameters` (metadata.tags) holding its settings, one
 * `const name = literal;` (or `let`) line each, a comment after it saying what it is:
 *
 *     const steps = 200_000; // training steps
 *     const lr = 0.1;        // learning rate
 *
 * Literals are numbers, strings ('…' or "…") and booleans. Named sets of values live in the notebook's
 * metadata (metadata.sequentia.parameter_sets, e.g. `quick: { steps: 300 }`). The runner puts a cell
 * tagged `injected-parameters` right after the parameters cell that declares the chosen values again
 * (tslab lets a later cell redeclare a const), and records them in the executed copy's metadata:
 * metadata.sequentia.parameters (every parameter's value in this run), .parameter_set ('full', or 'quick'
 * with --quick) and .overrides (the -p values).
 *
 * Everything here runs before any kernel starts: a problem is a ParameterError, one line naming the
 * notebook, the parameter and the value.
 */

export type ParamValue = number | string | boolean;

export interface ParamDecl {
  name: string;
  keyword: 'const' | 'let';
  value: ParamValue;
  /** the comment after the declaration ('' when none) */
  comment: string;
}

export interface ParametersCell {
  /** index of the cell among all cells */
  index: number;
  decls: ParamDecl[];
}

/** A bad parameter, flag value or parameters cell: the runner prints the message and exits 2. */
export class ParameterError extends Error {}

interface Cell {
  cell_type: string;
  id?: string;
  metadata?: Record<string, unknown>;
  source: string | string[];
  outputs?: unknown[];
  execution_count?: number | null;
}
export interface NotebookJson {
  cells: Cell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

const PARAMETERS_TAG = 'parameters';
export const INJECTED_TAG = 'injected-parameters';

const sourceOf = (c: Cell): string => (Array.isArray(c.source) ? c.source.join('') : c.source);
const tagsOf = (c: Cell): string[] => {
  const t = (c.metadata ?? {}).tags;
  return Array.isArray(t) ? t.filter((x): x is string => typeof x === 'string') : [];
};

const DECL =
  /^(const|let)\s+([A-Za-z_$][\w$]*)\s*(?::\s*(number|string|boolean)\s*)?=\s*(.+?)\s*;\s*(?:\/\/\s?(.*))?$/;

/** A literal's value, or undefined when `text` is not a number, string or boolean literal. */
export function parseLiteral(text: string): ParamValue | undefined {
  const t = text.trim();
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (/^-?(?:\d(?:_?\d)*)?(?:\.\d(?:_?\d)*)?(?:[eE][+-]?\d+)?$/.test(t) && /\d/.test(t)) {
    const n = Number(t.replace(/_/g, ''));
    return Number.isFinite(n) ? n : undefined;
  }
  if (/^"(?:[^"\\]|\\.)*"$/.test(t)) {
    try {
      return JSON.parse(t) as string;
    } catch {
      return undefined;
    }
  }
  if (/^'(?:[^'\\\n]|\\.)*'$/.test(t)) {
    try {
      return JSON.parse(`"${t.slice(1, -1).replace(/\\'/g, "'").replace(/"/g, '\\"')}"`) as string;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * The notebook's parameters cell, null when it has none. Throws a ParameterError (prefixed with `rel`)
 * when several cells are tagged, or a line of the cell is not a comment, blank or `const name = literal;`.
 */
export function findParameters(nb: NotebookJson, rel: string): ParametersCell | null {
  const tagged = nb.cells.flatMap((c, i) => (tagsOf(c).includes(PARAMETERS_TAG) ? [i] : []));
  if (tagged.length === 0) return null;
  if (tagged.length > 1)
    throw new ParameterError(
      `${rel}: cells ${tagged.map((i) => i + 1).join(' and ')} are both tagged '${PARAMETERS_TAG}'; a notebook has one parameters cell`,
    );
  const index = tagged[0]!;
  const cell = nb.cells[index]!;
  if (cell.cell_type !== 'code') throw new ParameterError(`${rel}: cell ${index + 1} is tagged '${PARAMETERS_TAG}' but is not a code cell`);
  const decls: ParamDecl[] = [];
  for (const [k, raw] of sourceOf(cell).split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('//')) continue;
    const m = DECL.exec(line);
    const value = m ? parseLiteral(m[4]!) : undefined;
    if (!m || value === undefined)
      throw new ParameterError(
        `${rel}: parameters cell (cell ${index + 1}) line ${k + 1} is not \`const name = literal; // comment\` with a number, string or boolean literal: ${line}`,
      );
    if (m[3] && m[3] !== typeof value)
      throw new ParameterError(`${rel}: parameters cell (cell ${index + 1}) line ${k + 1}: ${m[2]} is declared ${m[3]} but its value is a ${typeof value}: ${line}`);
    if (decls.some((d) => d.name === m[2]))
      throw new ParameterError(`${rel}: parameters cell (cell ${index + 1}) declares ${m[2]} twice`);
    decls.push({ keyword: m[1] as 'const' | 'let', name: m[2]!, value, comment: m[5] ?? '' });
  }
  if (decls.length === 0) throw new ParameterError(`${rel}: parameters cell (cell ${index + 1}) declares nothing`);
  return { index, decls };
}

/**
 * `-p name=value`: the value as JSON when it parses (numbers, booleans, "strings"), else the text itself;
 * `text` is the value as given (1e400 parses to Infinity, which only the text names truthfully).
 */
export function parseAssignment(text: string): { name: string; value: unknown; text: string } {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new ParameterError(`-p ${text}: expected name=value`);
  const name = text.slice(0, eq).trim();
  const raw = text.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    /* a plain string */
  }
  return { name, value, text: raw };
}

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(JSON.stringify(v) ?? v));
const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** The named parameter sets stored in the notebook's metadata (metadata.sequentia.parameter_sets). */
function parameterSets(nb: NotebookJson): Record<string, Record<string, unknown>> {
  const seq = nb.metadata.sequentia as { parameter_sets?: Record<string, Record<string, unknown>> } | undefined;
  return seq?.parameter_sets ?? {};
}

/** One value checked against its declaration: known name, same type as the default, finite numbers. */
function checkValue(
  rel: string,
  what: string,
  params: ParametersCell,
  name: string,
  value: unknown,
  text?: string,
): ParamValue {
  const decl = params.decls.find((d) => d.name === name);
  if (!decl)
    throw new ParameterError(
      `${rel}: ${what}: no parameter '${name}' (known: ${params.decls.map((d) => d.name).join(', ')})`,
    );
  const nonFinite =
    (typeof value === 'number' && !Number.isFinite(value)) ||
    (typeof decl.value === 'number' && typeof value === 'string' && /^\s*[+-]?(?:NaN|Infinity)\s*$/.test(value));
  if (nonFinite)
    throw new ParameterError(
      `${rel}: ${what}: ${name} must be a finite number (default ${show(decl.value)}), got ${text ?? String(value)}` +
        (typeof value === 'number' && text !== undefined && text.trim() !== String(value) ? `, which is ${value}` : ''),
    );
  if (typeof value !== typeof decl.value || (typeof value === 'number' && !Number.isFinite(value)))
    throw new ParameterError(
      `${rel}: ${what}: ${name} is a ${typeof decl.value} (default ${show(decl.value)}), got the ${kind(value)} ${show(value)}`,
    );
  return value as ParamValue;
}

export interface Plan {
  /** 'full' (the parameters cell as written) or the name of the parameter set applied */
  set: string;
  /** every parameter's value in this run (empty: the notebook has no parameters cell) */
  values: Record<string, ParamValue>;
  /** what the injected cell declares: the set's values, then -p's (empty: nothing injected) */
  injected: Record<string, ParamValue>;
  /** the -p values */
  overrides: Record<string, ParamValue>;
  params: ParametersCell | null;
}

/**
 * What a run of this notebook uses: the parameters cell's defaults, then the named set (when the
 * notebook has it), then the -p assignments. Throws ParameterError for an unknown name, a value of
 * the wrong type, -p on a notebook without a parameters cell, or a malformed parameters cell.
 */
export function planParameters(
  nb: NotebookJson,
  rel: string,
  set: string | null,
  assignments: readonly string[],
): Plan {
  const params = findParameters(nb, rel);
  const given = assignments.map(parseAssignment);
  if (!params) {
    if (given.length > 0)
      throw new ParameterError(
        `${rel}: -p ${assignments[0]}: the notebook has no parameters cell (a code cell tagged '${PARAMETERS_TAG}')`,
      );
    return { set: set ?? 'full', values: {}, injected: {}, overrides: {}, params: null };
  }
  const injected: Record<string, ParamValue> = {};
  // The set's name stays even when the notebook has no values for it: it names the reference file
  // (--quick still sets SEQUENTIA_QUICK, which lib's exercise checks read).
  const setName = set ?? 'full';
  const chosen = set && set !== 'full' ? parameterSets(nb)[set] : undefined;
  if (set && chosen) {
    for (const [name, value] of Object.entries(chosen))
      injected[name] = checkValue(rel, `parameter set '${set}' (metadata.sequentia.parameter_sets)`, params, name, value);
  }
  const overrides: Record<string, ParamValue> = {};
  for (const [k, g] of given.entries()) {
    overrides[g.name] = checkValue(rel, `-p ${assignments[k]}`, params, g.name, g.value, g.text);
    injected[g.name] = overrides[g.name]!;
  }
  const values = Object.fromEntries(params.decls.map((d) => [d.name, injected[d.name] ?? d.value]));
  return { set: setName, values, injected, overrides, params };
}

const literal = (v: ParamValue): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/** The injected cell's source: the chosen values declared again, in the parameters cell's order. */
export function injectedSource(plan: Plan): string {
  const decls = plan.params?.decls ?? [];
  const from = Object.keys(plan.overrides).length
    ? `${plan.set === 'full' ? '' : `parameter set '${plan.set}', `}-p ${Object.entries(plan.overrides)
        .map(([k, v]) => `${k}=${literal(v)}`)
        .join(' -p ')}`
    : `parameter set '${plan.set}'`;
  const lines = decls
    .filter((d) => d.name in plan.injected)
    .map((d) => `${d.keyword} ${d.name} = ${literal(plan.injected[d.name]!)};`);
  return [`// Parameters injected by the runner (${from})`, ...lines].join('\n');
}

/**
 * The notebook to execute: the injected cell after the parameters cell (when anything is injected),
 * ids for cells that have none (`cell-<n>`, n its 1-based position in the source: nbformat would make
 * random ones, and the references key cells by id), and the parameters in metadata.sequentia.
 */
export function prepareNotebook(nb: NotebookJson, plan: Plan): NotebookJson {
  const out = structuredClone(nb);
  out.cells.forEach((c, i) => {
    if (typeof c.id !== 'string' || c.id === '') c.id = `cell-${i + 1}`;
  });
  if (plan.params && Object.keys(plan.injected).length > 0) {
    out.cells.splice(plan.params.index + 1, 0, {
      cell_type: 'code',
      execution_count: null,
      id: 'injected-parameters',
      metadata: { tags: [INJECTED_TAG] },
      outputs: [],
      source: injectedSource(plan),
    });
  }
  if (plan.params) {
    const seq = (out.metadata.sequentia ?? {}) as Record<string, unknown>;
    out.metadata.sequentia = { ...seq, parameters: plan.values, parameter_set: plan.set, overrides: plan.overrides };
  }
  return out;
}

/** The executed copy as a source again (--in-place): without the injected cell and this run's metadata. */
export function stripRun(nb: NotebookJson): NotebookJson {
  const out = structuredClone(nb);
  out.cells = out.cells.filter((c) => !tagsOf(c).includes(INJECTED_TAG));
  const seq = out.metadata.sequentia as Record<string, unknown> | undefined;
  if (seq) {
    delete seq.parameters;
    delete seq.parameter_set;
    delete seq.overrides;
  }
  return out;
}

export { tagsOf, sourceOf };
