/**
 * Reading the corpora: the project root, text files with clear errors, word lists.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The project root (lib/..), so data paths work from notebooks, scripts and tests alike. */
export const ROOT = path.resolve(__dirname, '..', '..');

/** Resolves a path relative to the project root unless it is absolute. */
function fromRoot(p: string): string {
  return path.isAbsolute(p) ? p : path.join(ROOT, p);
}

/** Reads a text file, failing clearly when it is missing or empty. A UTF-8 BOM is dropped. */
export function readText(file: string): string {
  const full = fromRoot(file);
  if (!fs.existsSync(full)) throw new Error(`data file not found: ${file} (looked at ${full})`);
  if (fs.statSync(full).isDirectory()) throw new Error(`data file is a directory: ${file}`);
  let text = fs.readFileSync(full, 'utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim().length === 0) throw new Error(`data file is empty: ${file}`);
  return text;
}

export function describeChar(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  const hex = code.toString(16).toUpperCase().padStart(4, '0');
  const shown = code < 32 || code === 127 ? JSON.stringify(ch) : `'${ch}'`;
  return `${shown} (U+${hex})`;
}

export interface LoadWordsOptions {
  /** Every character of every word must be in this set; the error names file, line and character. */
  alphabet?: string;
}

/**
 * One word per line (CRLF or LF; blank lines and surrounding spaces are dropped).
 * The lecture's names.txt gives 32,033 words of a–z.
 */
export function loadWords(file: string, opts: LoadWordsOptions = {}): string[] {
  const lines = readText(file).split(/\r?\n/);
  const allowed = opts.alphabet === undefined ? null : new Set(opts.alphabet);
  const words: string[] = [];
  lines.forEach((raw, i) => {
    const w = raw.trim();
    if (w.length === 0) return;
    if (allowed) {
      for (const [col, ch] of [...w].entries()) {
        if (!allowed.has(ch)) {
          throw new Error(
            `${file}:${i + 1}: character ${describeChar(ch)} at column ${col + 1} of '${w}' is outside the vocabulary '${opts.alphabet}'`,
          );
        }
      }
    }
    words.push(w);
  });
  if (words.length === 0) throw new Error(`data file has no words: ${file}`);
  return words;
}
