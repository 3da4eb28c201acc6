/**
 * Command-line flags for the CLIs, one way: node:util's parseArgs, strict, no defaults inside the parser
 * (so a flag given explicitly is told apart from a default: --resume takes the checkpoint's values),
 * and negative numbers accepted as values (`--max-steps -1`).
 */
import { parseArgs } from 'node:util';
import { checkPathValue } from '../../lib/train/run-dir';

/** A bad flag or flag value: the CLI prints the message and its usage, and exits 2. */
export class UsageError extends Error {}

/** parseArgs reads `--max-steps -1` as a missing value; join a negative number to its flag. */
function joinNegatives(argv: readonly string[], strings: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const next = argv[i + 1];
    if (a.startsWith('--') && strings.includes(a.slice(2)) && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** Edits (insert, delete, replace, swap two neighbours) from a to b: how far a typo is from a flag. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => i + j));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!;
      row[j] = Math.min(d[i - 1]![j]! + 1, row[j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
    }
  return d[a.length]![b.length]!;
}

/** The known name a mistyped one most likely meant: within two edits (one for short names), else none. */
export function nearest(typed: string, known: readonly string[]): string | undefined {
  const limit = typed.length <= 4 ? 1 : 2;
  let best: { flag: string; d: number } | undefined;
  for (const flag of known) {
    const d = editDistance(typed.toLowerCase(), flag);
    if (d <= limit && (!best || d < best.d)) best = { flag, d };
  }
  return best?.flag;
}

/** The same setting under another name in a sister CLI (makemore and novel count steps, gpt iterations). */
const SISTER_NAMES: Record<string, string[]> = {
  'max-steps': ['max-iters'],
  'max-iters': ['max-steps'],
  'eval-every': ['eval-interval'],
  'eval-interval': ['eval-every'],
  'seed-text': ['start'],
  start: ['seed-text'],
};

/**
 * node:util's message for a flag it could not read, said for a user: a mistyped flag with the nearest one
 * this CLI has (or its name here, for a sister CLI's flag), a flag without its value as such.
 */
function parseErrorText(err: Error & { code?: string }, known: readonly string[]): string {
  const missing = /^Option '(--[^ ']+)(?: <value>)?' argument missing/.exec(err.message);
  if (missing) return `${missing[1]} needs a value`;
  const typed = err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'--([^'=]+)/.exec(err.message)?.[1] : undefined;
  if (typed === undefined) return err.message;
  const sister = Object.entries(SISTER_NAMES).find(([name]) => editDistance(typed.toLowerCase(), name) <= 1)?.[1];
  const near = sister?.find((n) => known.includes(n)) ?? nearest(typed, known);
  return near ? `${err.message} (did you mean --${near}?)` : err.message;
}

/** A parsed flag: a string, a boolean, or the strings of a repeatable flag. */
export type FlagValue = string | boolean | string[] | undefined;

/**
 * The flags given (strings and booleans by name; `multiple` strings may repeat) and which of them were
 * given explicitly. Unknown flags, missing values and positionals are UsageErrors, and so is an empty or
 * blank value of a `paths` flag (an unset shell variable must not mean the current directory).
 */
export function parseFlags(
  argv: readonly string[],
  strings: readonly string[],
  booleans: readonly string[],
  multiple: readonly string[] = [],
  paths: readonly string[] = [],
): { values: Record<string, FlagValue>; explicit: Set<string> } {
  let values: Record<string, FlagValue>;
  try {
    values = parseArgs({
      // -h as --help, as most commands take it
      args: joinNegatives(argv, strings).map((a) => (a === '-h' && booleans.includes('help') ? '--help' : a)),
      options: Object.fromEntries([
        ...strings.map((k) => [k, { type: 'string' as const, multiple: multiple.includes(k) }]),
        ...booleans.map((k) => [k, { type: 'boolean' as const }]),
      ]),
      allowPositionals: false,
      strict: true,
    }).values as Record<string, FlagValue>;
  } catch (e) {
    throw new UsageError(parseErrorText(e as Error & { code?: string }, [...strings, ...booleans]));
  }
  for (const flag of paths) {
    const v = values[flag];
    for (const one of typeof v === 'string' ? [v] : Array.isArray(v) ? v : []) {
      try {
        checkPathValue(`--${flag}`, one);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
  }
  return { values, explicit: new Set(Object.keys(values).filter((k) => values[k] !== undefined)) };
}

/** How a numeric flag is read: a whole number or any finite number, within bounds. */
export interface NumberRule {
  int?: boolean;
  min?: number;
  /** Larger values are refused (sizes that would exhaust memory); whole numbers are always ≤ 2^53. */
  max?: number;
  /** -1 is accepted below `min` (makemore's --max-steps -1: until interrupted). */
  allowNegOne?: boolean;
}

/** What `rule` asks for, in words: "an integer from 1 to 65,536 (or -1)". */
export function ruleText(rule: NumberRule): string {
  const bounds =
    rule.min !== undefined && rule.max !== undefined
      ? ` from ${rule.min} to ${rule.max.toLocaleString('en-US')}`
      : rule.min !== undefined
        ? ` ≥ ${rule.min}`
        : rule.max !== undefined
          ? ` ≤ ${rule.max.toLocaleString('en-US')}`
          : '';
  return `${rule.int ? 'an integer' : 'a number'}${bounds}${rule.allowNegOne ? ' (or -1)' : ''}`;
}

/** Whether the number `x` keeps `rule` (finite; whole and safe for integers; within bounds). */
export function keepsRule(x: number, rule: NumberRule): boolean {
  const inRange =
    (rule.min === undefined || x >= rule.min || (rule.allowNegOne === true && x === -1)) &&
    (rule.max === undefined || x <= rule.max);
  return Number.isFinite(x) && (!rule.int || Number.isSafeInteger(x)) && inRange;
}

/** A numeric flag's value; a UsageError naming the flag, the rule and the text given otherwise. */
export function numberFlag(name: string, v: string, rule: NumberRule = {}): number {
  const x = Number(v);
  // decimal only: Number() would also take '0x10' (16), '0b1' and '' (0)
  const decimal = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(v);
  if (!decimal || !keepsRule(x, rule)) {
    const huge = rule.int && Number.isInteger(x) && !Number.isSafeInteger(x) ? ` (at most 2^53 - 1)` : '';
    throw new UsageError(`--${name} must be ${ruleText(rule)}${huge}, got '${v}'`);
  }
  return x;
}

/** The largest model a CLI builds from its flags: its weights and Adam's moments take 1.2 GB. */
export const MAX_MODEL_PARAMS = 100_000_000;
