/**
 * Finding (and, where we can, installing) the Jupyter pieces the headless runner needs:
 * a Python with nbclient + nbformat, and Sequentia's kernelspec.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const KERNEL_NAME = 'sequentia-ts';
export const KERNELS_DIR = path.join(ROOT, '.jupyter');

const CANDIDATES = ['/usr/bin/python3', 'python3', 'python'];

function hasNbclient(python: string): boolean {
  const r = spawnSync(python, ['-c', 'import nbclient, nbformat'], { stdio: 'ignore' });
  return r.status === 0;
}

function findPython(): string | null {
  const forced = process.env.SEQUENTIA_PYTHON;
  if (forced) return hasNbclient(forced) ? forced : null;
  return CANDIDATES.find(hasNbclient) ?? null;
}

function run(cmd: string, args: string[]): boolean {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  return spawnSync(cmd, args, { stdio: 'inherit' }).status === 0;
}

const APT_CMD =
  'apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends jupyter-nbconvert jupyter-client';

/**
 * Returns a Python that can execute notebooks. When none has nbclient: as root on Debian/Ubuntu,
 * installs Debian's jupyter-nbconvert and jupyter-client; else tries `pip install --user`;
 * otherwise exits with the exact command to run.
 */
export function ensureJupyter(): string {
  const found = findPython();
  if (found) return found;
  console.log('Jupyter (nbclient) is not installed: installing it now.');
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (isRoot && hasApt) {
    run('apt-get', ['-o', 'DPkg::Lock::Timeout=900', 'update']);
    run('apt-get', [
      '-o',
      'DPkg::Lock::Timeout=900',
      'install',
      '-y',
      '--no-install-recommends',
      'jupyter-nbconvert',
      'jupyter-client',
    ]);
  } else {
    for (const py of ['python3', 'python']) {
      if (spawnSync(py, ['-m', 'pip', '--version'], { stdio: 'ignore' }).status === 0) {
        if (run(py, ['-m', 'pip', 'install', '--user', 'nbconvert', 'nbclient'])) break;
      }
    }
  }
  const after = findPython();
  if (after) return after;
  console.error(
    [
      'Could not install Jupyter automatically. Install it, then run this command again:',
      hasApt ? `  sudo ${APT_CMD}` : '  python3 -m pip install --user nbconvert nbclient',
    ].join('\n'),
  );
  process.exit(3);
}

/** Writes the project-local kernelspec when `npm ci` has not (e.g. scripts were skipped). */
export function ensureKernelspec(): void {
  const spec = path.join(KERNELS_DIR, 'kernels', KERNEL_NAME, 'kernel.json');
  let ok = false;
  if (fs.existsSync(spec)) {
    const argv = (JSON.parse(fs.readFileSync(spec, 'utf8')) as { argv: string[] }).argv;
    ok = argv.every((a, i) => i > 1 || fs.existsSync(a));
  }
  // The classic Notebook extension that draws figures is written by the same install.
  ok &&= fs.existsSync(path.join(KERNELS_DIR, 'nbextensions', 'sequentia', 'main.js'));
  if (!ok) {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'notebooks', 'kernel.mjs'), 'install-local'], {
      stdio: 'inherit',
    });
    if (r.status !== 0) throw new Error('could not write the kernelspec (node scripts/notebooks/kernel.mjs install-local)');
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(v: Json | undefined): v is { [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kindOf(v: Json | undefined): string {
  return v === undefined
    ? 'missing'
    : v === null
      ? 'null'
      : Array.isArray(v)
        ? 'an array'
        : typeof v === 'object'
          ? 'an object'
          : `${typeof v} ${JSON.stringify(v).slice(0, 30)}`;
}

const isMultiline = (v: Json | undefined): boolean =>
  typeof v === 'string' || (Array.isArray(v) && v.every((s) => typeof s === 'string'));

// nbformat 4's schema, the parts a hand edit or a bad merge breaks; nbformat.validate in the executor
// remains the backstop for the rest.
const CELL_KEYS: Record<string, { required: string[]; allowed: string[] }> = {
  code: { required: ['cell_type', 'metadata', 'source', 'outputs', 'execution_count'], allowed: ['id'] },
  markdown: { required: ['cell_type', 'metadata', 'source'], allowed: ['id', 'attachments'] },
  raw: { required: ['cell_type', 'metadata', 'source'], allowed: ['id', 'attachments'] },
};
const OUTPUT_KEYS: Record<string, string[]> = {
  stream: ['name', 'text'],
  display_data: ['data', 'metadata'],
  execute_result: ['data', 'metadata', 'execution_count'],
  error: ['ename', 'evalue', 'traceback'],
};

function checkCell(cell: Json, at: string): string | null {
  if (!isObject(cell)) return `${at} must be an object, got ${kindOf(cell)}`;
  const type = cell.cell_type;
  const spec = typeof type === 'string' ? CELL_KEYS[type] : undefined;
  if (!spec) return `${at}.cell_type must be 'code', 'markdown' or 'raw', got ${kindOf(type)}`;
  for (const k of spec.required) if (!(k in cell)) return `${at} (${type} cell) has no '${k}'`;
  const extra = Object.keys(cell).find((k) => !spec.required.includes(k) && !spec.allowed.includes(k));
  if (extra) return `${at} (${type} cell) has an unknown field '${extra}'`;
  if (!isObject(cell.metadata)) return `${at}.metadata must be an object, got ${kindOf(cell.metadata)}`;
  if (!isMultiline(cell.source))
    return `${at}.source must be a string or a list of strings, got ${kindOf(cell.source)}`;
  if ('id' in cell && (typeof cell.id !== 'string' || !/^[a-zA-Z0-9-_]{1,64}$/.test(cell.id)))
    return `${at}.id must be 1-64 letters, digits, '-' or '_', got ${kindOf(cell.id)}`;
  if (type !== 'code') return null;
  const ec = cell.execution_count;
  if (!(ec === null || (typeof ec === 'number' && Number.isInteger(ec) && ec >= 0)))
    return `${at}.execution_count must be null or a whole number, got ${kindOf(ec)}`;
  if (!Array.isArray(cell.outputs)) return `${at}.outputs must be a list, got ${kindOf(cell.outputs)}`;
  for (const [j, out] of cell.outputs.entries()) {
    const oat = `${at}.outputs[${j}]`;
    if (!isObject(out)) return `${oat} must be an object, got ${kindOf(out)}`;
    const keys = typeof out.output_type === 'string' ? OUTPUT_KEYS[out.output_type] : undefined;
    if (!keys)
      return `${oat}.output_type must be 'stream', 'display_data', 'execute_result' or 'error', got ${kindOf(out.output_type)}`;
    for (const k of keys) if (!(k in out)) return `${oat} (${String(out.output_type)}) has no '${k}'`;
  }
  return null;
}

/** Offset of the first character where `text` stops being JSON; -1 when it is JSON. */
function jsonErrorOffset(text: string): number {
  let i = 0;
  const fail = (): never => {
    throw new RangeError(String(i));
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const str = (): void => {
    i++;
    while (i < text.length) {
      const c = text[i]!;
      if (c === '"') return void i++;
      if (c < ' ') fail();
      if (c === '\\') {
        if (!/^(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/.test(text.slice(i + 1, i + 6))) fail();
        i += text[i + 1] === 'u' ? 6 : 2;
      } else i++;
    }
    fail();
  };
  const list = (close: string, item: () => void): void => {
    i++;
    ws();
    if (text[i] === close) return void i++;
    for (;;) {
      item();
      ws();
      if (text[i] === close) return void i++;
      if (text[i] !== ',') fail();
      i++;
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{')
      return list('}', () => {
        ws();
        if (text[i] !== '"') fail();
        str();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
      });
    if (c === '[') return list(']', value);
    if (c === '"') return str();
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (!m) fail();
    i += m![0].length;
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
    return -1;
  } catch (e) {
    if (e instanceof RangeError && /^\d+$/.test(e.message)) return Number(e.message);
    throw e;
  }
}

/**
 * Checks that `text` is an nbformat 4 notebook the executor can run. Returns null when it is, else
 * one line saying what is wrong (a JSON syntax error with its line and column, or the first field
 * that breaks the format).
 */
export function notebookProblem(text: string): string | null {
  let nb: Json;
  try {
    nb = JSON.parse(text) as Json;
  } catch (e) {
    // V8 quotes a slice of the text in some messages: keep the report on one line.
    const msg = (e as Error).message.replace(/\s+/g, ' ').slice(0, 200);
    // Some V8 messages ("Unexpected token '}', ... is not valid JSON") give no position: find it.
    const pos = /position (\d+)/.exec(msg);
    const offset = pos ? Number(pos[1]) : jsonErrorOffset(text);
    if (offset < 0) return `not valid JSON: ${msg}`;
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    const col = offset - before.lastIndexOf('\n');
    return `not valid JSON (line ${line}, column ${col}): ${msg}`;
  }
  if (!isObject(nb)) return `not a notebook: the top level must be an object, got ${kindOf(nb)}`;
  if (nb.nbformat === undefined) return `not a notebook: no 'nbformat' field`;
  if (nb.nbformat !== 4) return `not an nbformat 4 notebook: nbformat is ${kindOf(nb.nbformat)}`;
  if (!(typeof nb.nbformat_minor === 'number' && Number.isInteger(nb.nbformat_minor) && nb.nbformat_minor >= 0))
    return `not a notebook: nbformat_minor must be a whole number, got ${kindOf(nb.nbformat_minor)}`;
  if (!isObject(nb.metadata)) return `not a notebook: metadata must be an object, got ${kindOf(nb.metadata)}`;
  if (!('cells' in nb)) return `not a notebook: no 'cells' list`;
  if (!Array.isArray(nb.cells)) return `not a notebook: cells must be a list, got ${kindOf(nb.cells)}`;
  const extra = Object.keys(nb).find((k) => !['cells', 'metadata', 'nbformat', 'nbformat_minor'].includes(k));
  if (extra) return `not a valid notebook: unknown top-level field '${extra}'`;
  for (const [i, cell] of nb.cells.entries()) {
    const problem = checkCell(cell, `cells[${i}]`);
    if (problem) return `not a valid notebook: ${problem}`;
  }
  return null;
}

const has = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

/**
 * What `npm test` needs besides nbclient: Debian's classic Jupyter Notebook and Chromium for the
 * real-browser test. Installed here as root on Debian/Ubuntu; elsewhere the command is printed and
 * that test skips (outside CI).
 */
function ensureTestTools(): void {
  ensureJupyter();
  const missing = [
    ...(has('jupyter-notebook', ['--version']) ? [] : ['jupyter-notebook']),
    ...(fs.existsSync('/usr/bin/chromium') ? [] : ['chromium']),
  ];
  if (missing.length === 0) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const args = ['-o', 'DPkg::Lock::Timeout=900', 'install', '-y', '--no-install-recommends', ...missing];
  if (isRoot && has('apt-get', ['--version'])) {
    run('apt-get', ['-o', 'DPkg::Lock::Timeout=900', 'update']);
    if (run('apt-get', args)) return;
  }
  console.log(`The real-browser notebook test needs ${missing.join(' and ')}: sudo apt-get ${args.join(' ')}`);
}

if (require.main === module) {
  if (process.argv[2] === 'ensure-test-tools') ensureTestTools();
  else {
    console.error('usage: node --require tsx/cjs scripts/notebooks/jupyter.ts ensure-test-tools');
    process.exit(2);
  }
}
