/**
 * Reading files that may be hostile: everything read is checked before it is trusted.
 *
 * - Only regular files are read. A path may name a FIFO (whose reader blocks until a writer comes),
 *   a device such as /dev/zero (endless), a directory or a socket; each is refused from fstat on a
 *   descriptor opened with O_NONBLOCK, so opening a FIFO cannot block either.
 * - The size is known before reading: a file over the caller's limit is refused, naming the file, its
 *   size and the limit, and exactly that many bytes are read (never "until EOF").
 * - Text is UTF-8, decoded with a fatal decoder; invalid bytes are an error naming the file and the
 *   byte offset (a binary such as /bin/ls fails here, not much later as a nonsensical vocabulary).
 * - Paths taken from a file (a weights manifest) must stay inside its folder: relative, no `..`,
 *   and no symlink leading out.
 */
import fs from 'node:fs';
import path from 'node:path';

export const MiB = 1024 * 1024;
/** Inputs (word lists, corpora): far above any corpus this project reads (The Mysterious Island is 1.1 MB). */
export const DEFAULT_MAX_TEXT_BYTES = 256 * MiB;
/** JSON metadata (config.json, vocab.json, checkpoint.json, log.jsonl; the older model.json): these are kilobytes when written by us. */
export const DEFAULT_MAX_JSON_BYTES = 64 * MiB;

/** 1,234,567 bytes → "1.2 MiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

export interface ReadOptions {
  /** Larger files are refused (bytes). */
  maxBytes: number;
  /** Said after the size error, e.g. "--max-input-bytes raises it". */
  raise?: string;
  /** How errors name the file (default: the path itself). */
  shown?: string;
}

/** Opens without blocking (a FIFO opens at once with O_NONBLOCK) and fstat's the descriptor. */
function openChecked(file: string, shown = file): { fd: number; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${shown} not found`);
    throw new Error(`cannot read ${shown}: ${(e as Error).message}`);
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile()) {
    fs.closeSync(fd);
    throw new Error(`${shown} is ${kindOf(st)}, not a regular file: refusing to read it`);
  }
  return { fd, size: st.size };
}

/** The size of a regular file, checked (kind and limit) without reading it. */
export function statRegularFile(file: string, opts: ReadOptions): number {
  const { fd, size } = openChecked(file, opts.shown);
  fs.closeSync(fd);
  checkSize(opts.shown ?? file, size, opts);
  return size;
}

function checkSize(file: string, size: number, opts: ReadOptions): void {
  if (size > opts.maxBytes)
    throw new Error(
      `${file} is ${formatBytes(size)} (${size} bytes), more than the limit of ${formatBytes(opts.maxBytes)} (${opts.maxBytes} bytes)${opts.raise ? `; ${opts.raise}` : ''}`,
    );
}

/** The bytes of a regular file no larger than `maxBytes`: exactly the size fstat gave, read from one descriptor. */
export function readRegularFile(file: string, opts: ReadOptions): Buffer {
  const shown = opts.shown ?? file;
  const { fd, size } = openChecked(file, shown);
  try {
    checkSize(shown, size, opts);
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const n = fs.readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    if (off < size) throw new Error(`${shown} shrank from ${size} to ${off} bytes while it was read`);
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}

/** The byte offset of the first invalid UTF-8 sequence (overlong forms, surrogates, > U+10FFFF included), or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i] as number;
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) [n, min] = [1, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [n, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [n, min] = [3, 0x10000];
    else return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const x = b[i + k];
      if (x === undefined || (x & 0xc0) !== 0x80) return i; // undefined: truncated at the end
      cp = (cp << 6) | (x & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

/** 1-based line of byte `offset`. */
function lineAt(b: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < b.length; i++) if (b[i] === 0x0a) line++;
  return line;
}

/**
 * Strict UTF-8 → string; a leading BOM is dropped. Invalid bytes are an error naming the file, the
 * byte offset and line. With `text`, a NUL byte is refused too: it is valid UTF-8 but means a binary
 * file (and the makemore CLI uses U+0000 as its boundary token).
 */
function decodeUtf8(file: string, b: Uint8Array, opts: { text?: boolean } = {}): string {
  let s: string;
  try {
    s = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(b);
  } catch {
    const at = firstInvalidUtf8(b);
    const off = at < 0 ? 0 : at;
    throw new Error(
      `${file} is not UTF-8 text: invalid byte 0x${(b[off] ?? 0).toString(16).padStart(2, '0')} at byte offset ${off} (line ${lineAt(b, off)}); is it a binary file?`,
    );
  }
  if (opts.text) {
    const nul = b.indexOf(0);
    if (nul >= 0)
      throw new Error(
        `${file} is not text: a NUL byte at byte offset ${nul} (line ${lineAt(b, nul)}); is it a binary file?`,
      );
  }
  return s;
}

/** A UTF-8 text file, checked as above. */
export function readTextFile(file: string, opts: ReadOptions): string {
  return decodeUtf8(opts.shown ?? file, readRegularFile(file, opts), { text: true });
}

/** The error of JSON.parse with the file named; `hint` is added after it. */
function parseJson(file: string, text: string, hint: string, where = ''): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}${where} is not valid JSON (${(e as Error).message})${hint}`);
  }
}

/**
 * The first key that appears twice in one object of a valid JSON text, or null: JSON.parse keeps the
 * last silently, so a settings file saying `"n-embd": 16, …, "n-embd": 32` would mean 32 without a word.
 */
function duplicateKey(text: string): string | null {
  const stack: { keys: Set<string> | null; wantKey: boolean }[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const top = stack.at(-1);
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (top?.keys && top.wantKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return key;
        top.keys.add(key);
        top.wantKey = false;
      }
      i = j;
    } else if (ch === '{') stack.push({ keys: new Set(), wantKey: true });
    else if (ch === '[') stack.push({ keys: null, wantKey: false });
    else if (ch === '}' || ch === ']') stack.pop();
    else if (ch === ',' && top?.keys) top.wantKey = true;
  }
  return null;
}

/**
 * A JSON file (UTF-8, BOM allowed, at most `maxBytes`); 0 bytes or only blanks is "empty", not a JSON
 * error. With `uniqueKeys`, a key given twice in one object is an error naming it.
 */
export function readJsonFile(
  file: string,
  opts: Partial<ReadOptions> & { hint?: string; uniqueKeys?: boolean } = {},
): unknown {
  const text = decodeUtf8(file, readRegularFile(file, { maxBytes: opts.maxBytes ?? DEFAULT_MAX_JSON_BYTES, raise: opts.raise }));
  if (text.trim() === '') throw new Error(`${file} is empty${opts.hint ?? ''}`);
  const value = parseJson(file, text, opts.hint ?? '');
  const twice = opts.uniqueKeys ? duplicateKey(text) : null;
  if (twice !== null) throw new Error(`${file} gives "${twice}" twice in one object${opts.hint ?? ''}`);
  return value;
}

/** One line of a JSON-lines file: its 1-based line number, its text (without the line ending) and value. */
export interface JsonLine {
  line: number;
  text: string;
  value: unknown;
}

/**
 * A JSON-lines file (log.jsonl): one JSON value per line, blank lines skipped, CRLF and a BOM accepted.
 * A line that is not JSON is an error naming file:line and the parser's message. With `dropTornTail`,
 * a last line that has no line ending and is not JSON (a write cut short by a kill) is left out instead.
 */
export function readJsonLines(file: string, opts: Partial<ReadOptions> & { dropTornTail?: boolean } = {}): JsonLine[] {
  const text = decodeUtf8(
    file,
    readRegularFile(file, { maxBytes: opts.maxBytes ?? DEFAULT_MAX_JSON_BYTES, raise: opts.raise }),
  );
  const out: JsonLine[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    const torn = opts.dropTornTail && i === lines.length - 1;
    let value: unknown;
    try {
      value = parseJson(file, line, '', `:${i + 1}`);
    } catch (e) {
      if (torn) return;
      throw e;
    }
    out.push({ line: i + 1, text: line, value });
  });
  return out;
}

/**
 * `rel`, a path written inside a file of `dir` (e.g. a weights manifest), as a path inside `dir`: a
 * relative path without `..`, whose real location (symlinks followed) is still inside `dir`.
 * `field` names where it was found, for the error.
 */
export function resolveInside(dir: string, rel: unknown, field: string): string {
  if (typeof rel !== 'string' || rel === '') throw new Error(`${field} must be a non-empty file name, got ${JSON.stringify(rel)}`);
  if (rel.includes('\0') || path.isAbsolute(rel) || path.win32.isAbsolute(rel))
    throw new Error(`${field} ${JSON.stringify(rel)} is an absolute path: only files inside ${dir} are read`);
  if (rel.split(/[\\/]/).includes('..'))
    throw new Error(`${field} ${JSON.stringify(rel)} leaves ${dir} (it contains '..'): only files inside it are read`);
  const full = path.join(dir, rel);
  let real: string;
  let realDir: string;
  try {
    realDir = fs.realpathSync(dir);
    real = fs.realpathSync(full);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${full} is missing (${field})`);
    throw new Error(`cannot resolve ${full} (${field}): ${(e as Error).message}`);
  }
  if (!real.startsWith(realDir + path.sep))
    throw new Error(`${field} ${JSON.stringify(rel)} is a link to ${real}, outside ${dir}: only files inside it are read`);
  return full;
}
