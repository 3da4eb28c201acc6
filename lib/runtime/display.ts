/**
 * Rich output in the notebook: one display message carrying several MIME types at once.
 *
 * tslab's public `display` sends one MIME type per message; its internal writer (tslab/dist/jupyter)
 * sends a whole bundle, which is what lets a client choose: VS Code renders the Plotly JSON,
 * classic Notebook and nbconvert HTML render text/html, GitHub shows image/png, a terminal text/plain.
 * Outside a kernel (scripts, tests) nothing is sent and `display` returns false.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export type MimeBundle = Record<string, string | object>;

interface DisplayMessage {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}
type Writer = (msg: DisplayMessage, update: boolean) => void;

const localRequire = createRequire(__filename);

/** Where tslab's jupyter module is (null: tslab is not installed). */
let jupyterFile: string | null | undefined;

/**
 * tslab's writer, read from the module the kernel has loaded. Requiring the module ourselves would
 * load tslab and TypeScript (about 0.4 CPU-seconds) in every script and test only to find no kernel.
 */
function kernelWriter(): Writer | null {
  if (jupyterFile === undefined) {
    try {
      jupyterFile = localRequire.resolve('tslab/dist/jupyter');
    } catch {
      jupyterFile = null;
    }
  }
  const jupyter = jupyterFile
    ? (localRequire.cache[jupyterFile]?.exports as { lastWriteDisplayData?: Writer | null })
    : null;
  return jupyter?.lastWriteDisplayData ?? null;
}

/** True inside a tslab kernel that is executing a cell. */
export function inNotebook(): boolean {
  return kernelWriter() !== null;
}

/** Sends one bundle; with `displayId`, later calls with `update: true` replace it in place. */
export function display(
  data: MimeBundle,
  opts: { metadata?: Record<string, unknown>; displayId?: string; update?: boolean } = {},
): boolean {
  const write = kernelWriter();
  if (!write) return false;
  write(
    { data, metadata: opts.metadata ?? {}, transient: opts.displayId ? { display_id: opts.displayId } : {} },
    opts.update ?? false,
  );
  return true;
}

let counter = 0;
/**
 * A display area that can be rewritten: a live progress line in a training cell.
 * In a terminal it falls back to rewriting one stdout line.
 */
export class LiveLine {
  private readonly id = `live-${process.pid}-${Date.now().toString(36)}-${counter++}`;
  private shown = false;

  set(text: string): void {
    if (display({ 'text/plain': text }, { displayId: this.id, update: this.shown })) {
      this.shown = true;
    } else if (process.stdout.isTTY) {
      process.stdout.write(`\r${text}\x1b[K`);
      this.shown = true;
    }
  }

  /** Ends the line; outside a kernel and off a TTY the final text is printed once. */
  done(text: string): void {
    if (inNotebook()) this.set(text);
    else if (process.stdout.isTTY) process.stdout.write(`\r${text}\x1b[K\n`);
    else console.log(text);
  }
}

export type Cell = string | number | boolean | null | undefined;
export type Row = Record<string, Cell>;

function fmtCell(v: Cell, digits: number): string {
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return String(v);
    if (!Number.isFinite(v)) return String(v);
    return Math.abs(v) !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e6)
      ? v.toExponential(digits)
      : v.toFixed(digits);
  }
  return v === null || v === undefined ? '' : String(v);
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Renders rows as a text table (columns from the first row; numbers right-aligned). */
function formatTable(rows: readonly Row[], digits = 4): string {
  if (rows.length === 0) return '(no rows)';
  const cols = Object.keys(rows[0] as Row);
  const cells = rows.map((r) => cols.map((c) => fmtCell(r[c], digits)));
  const widths = cols.map((c, j) => Math.max(c.length, ...cells.map((r) => (r[j] as string).length)));
  const numeric = cols.map((c) => rows.every((r) => typeof r[c] === 'number' || r[c] == null));
  const line = (vals: string[]) =>
    vals
      .map((v, j) => (numeric[j] ? v.padStart(widths[j] as number) : v.padEnd(widths[j] as number)))
      .join('  ')
      .trimEnd();
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** Shows rows as a table: HTML in a notebook (text as the fallback), text on a terminal. */
export function table(rows: readonly Row[], opts: { digits?: number; caption?: string } = {}): void {
  const digits = opts.digits ?? 4;
  const text = (opts.caption ? opts.caption + '\n' : '') + formatTable(rows, digits);
  const cols = rows.length ? Object.keys(rows[0] as Row) : [];
  const html = `<table>${opts.caption ? `<caption>${escapeHtml(opts.caption)}</caption>` : ''}<thead><tr>${cols.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${cols.map((c) => `<td>${escapeHtml(fmtCell(r[c], digits))}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
  if (!display({ 'text/html': html, 'text/plain': text })) console.log(text);
}

/**
 * Just past the closing brace of the block opened by the first `{` ending a line at or after `start`
 * outside parentheses: a parameter's object type written over several lines (`o: {`) is not the body.
 */
function bodyEnd(text: string, start: number): number | null {
  let open = -1;
  for (let i = start, parens = 0; i < text.length && open < 0; i++) {
    if (text[i] === '(') parens++;
    else if (text[i] === ')') parens--;
    else if (parens === 0 && text[i] === '{' && text[i + 1] === '\n') open = i;
  }
  let depth = 0;
  for (let i = open; i >= 0 && i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return i + 1;
  }
  return null;
}

/**
 * The source of a class (or one of its methods) or a function as written in a lib file, so a notebook
 * shows the code it teaches and that code is the code the tests check. A body is the block from the
 * first `{` that ends a line after the declaration and its parameters, braces counted; strings holding unbalanced braces
 * would confuse it (lib has none where it is used).
 */
export function sourceOf(file: string, name: string, member?: string): string {
  const text = readFileSync(file, 'utf8');
  const declaration = member
    ? new RegExp(`^\\s*(?:(?:private|protected|public|static|override|async) )*${member}\\(`, 'm')
    : new RegExp(`^(?:export )?(?:abstract )?(?:class|(?:async )?function) ${name}\\b`, 'm');
  let from = 0;
  let to = text.length;
  if (member) {
    const cls = new RegExp(`^(?:export )?(?:abstract )?class ${name}\\b`, 'm').exec(text);
    if (!cls) throw new Error(`${file}: class ${name} not found`);
    from = cls.index;
    to = bodyEnd(text, from) ?? to; // a member of this class, not of one further down the file
  }
  const decl = declaration.exec(text.slice(from, to));
  if (!decl) throw new Error(`${file}: ${member ? `${name}.${member}` : name} not found`);
  const start = from + decl.index + (decl[0].length - decl[0].trimStart().length);
  const lineStart = text.lastIndexOf('\n', start) + 1;
  const end = bodyEnd(text, start);
  if (end === null) throw new Error(`${file}: ${name} has no balanced body`);
  const indent = start - lineStart;
  return text
    .slice(lineStart, end)
    .split('\n')
    .map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length)))
    .join('\n');
}

/** Shows `sourceOf(...)` in the notebook as highlighted TypeScript (plain text elsewhere). */
export function showSource(file: string, name: string, member?: string): void {
  const code = sourceOf(file, name, member);
  const title = `${file}: ${member ? `${name}.${member}` : name}`;
  if (
    !display({
      'text/markdown': `\`${title}\`\n\n\`\`\`typescript\n${code}\n\`\`\``,
      'text/plain': `${title}\n${code}`,
    })
  )
    console.log(`${title}\n${code}`);
}
