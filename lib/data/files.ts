/**
 * Reading the corpora: the project root, text files with clear errors, word lists.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_MAX_TEXT_BYTES, readTextFile } from './read-checked';

/** The project root (lib/..), so data paths work from notebooks, scripts and tests alike. */
export const ROOT = path.resolve(__dirname, '..', '..');

/** Resolves a path relative to the project root unless it is absolute. */
function fromRoot(p: string): string {
  return path.isAbsolute(p) ? p : path.join(ROOT, p);
}

export interface ReadTextOptions {
  /** Larger files are refused, naming the file, its size and this limit (default 256 MiB). */
  maxBytes?: number;
}

/**
 * Reads a text file, failing clearly when it is missing, empty, not a regular file (a FIFO, /dev/zero,
 * a directory), larger than `maxBytes` or not UTF-8 (a binary): see read-checked.ts. A UTF-8 BOM is dropped.
 */
export function readText(file: string, opts: ReadTextOptions = {}): string {
  const full = fromRoot(file);
  if (!fs.existsSync(full)) throw new Error(`data file not found: ${file} (looked at ${full})`);
  if (fs.statSync(full).isDirectory()) throw new Error(`data file is a directory: ${file}`);
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_TEXT_BYTES;
  let text = readTextFile(full, { maxBytes, shown: file });
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
  /**
   * Longer words are refused, naming file, line and length (default 256 characters): one stray long line
   * would otherwise become every sequence model's block size. The makemore CLI's --max-word-length raises it.
   */
  maxWordLength?: number;
  /** Larger files are refused (default 256 MiB). */
  maxBytes?: number;
}

/** The number of code points in `s`, without building an array of them (a line may be 50 MB long). */
function codePoints(s: string): number {
  let n = s.length;
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff) {
      const p = s.charCodeAt(i - 1);
      if (p >= 0xd800 && p <= 0xdbff) n--;
    }
  }
  return n;
}

/** Longest word loadWords accepts unless told otherwise (names are under 20 characters). */
export const DEFAULT_MAX_WORD_LENGTH = 256;

/**
 * One word per line (CRLF or LF; blank lines and surrounding spaces are dropped).
 * The lecture's names.txt gives 32,033 words of a–z.
 */
export function loadWords(file: string, opts: LoadWordsOptions = {}): string[] {
  const maxLen = opts.maxWordLength ?? DEFAULT_MAX_WORD_LENGTH;
  if (!Number.isInteger(maxLen) || maxLen < 1) throw new Error(`maxWordLength must be a whole number ≥ 1, got ${maxLen}`);
  const lines = readText(file, { maxBytes: opts.maxBytes }).split(/\r?\n/);
  const allowed = opts.alphabet === undefined ? null : new Set(opts.alphabet);
  const words: string[] = [];
  lines.forEach((raw, i) => {
    const w = raw.trim();
    if (w.length === 0) return;
    // code points, as the vocabulary counts them; w.length (UTF-16 units) ≥ that, so it is a cheap first test
    if (w.length > maxLen && codePoints(w) > maxLen)
      throw new Error(
        `${file}:${i + 1}: a word of ${codePoints(w)} characters ('${[...w.slice(0, 40)].slice(0, 20).join('')}…'), longer than the limit of ${maxLen} (--max-word-length raises it)`,
      );
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
