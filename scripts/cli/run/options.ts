/**
 * A CLI's options as one table: each entry is a flag with its kind, bounds, default and help line. The
 * table gives the defaults, the --help text, the typed values, the keys a config file may hold (the
 * flags' names: "n-embd", "weight-decay") and the spec a checkpoint's settings are checked against.
 * Values come from three layers: the table's defaults < a config file (--config FILE) < the flags given.
 */
import path from 'node:path';
import { readJsonFile } from '../../../lib/data/read-checked';
import type { Json, SettingsSpec } from '../../../lib/train/checkpoint';
import { keepsRule, nearest, numberFlag, parseFlags, ruleText, UsageError, type NumberRule } from '../flags';

/** The repository's root: configs/ shorthands (--june-2022, --book) resolve against it, not the cwd. */
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** A config file that cannot be used (missing, not JSON, an unknown key, a bad value): exit 2, without the usage. */
export class ConfigFileError extends UsageError {}

type Kind = 'int' | 'number' | 'text' | 'choice' | 'switch';
export type Value = number | string | boolean | undefined;

export interface Option<V extends Value = Value> {
  readonly flag: string;
  readonly kind: Kind;
  /** The help text (lines after the first are continued under it). */
  readonly help: string;
  readonly default: V;
  /** What --help shows as the default when `default` is undefined ('never', 'by --type'); none: nothing. */
  readonly shown?: string;
  readonly meta?: string;
  readonly rule?: NumberRule;
  readonly choices?: readonly string[];
  /** A further restriction: null when `v` is fine, else what is expected ("in [0, 1)"). */
  check?(v: Exclude<V, undefined>): string | null;
  /** Replaces the rule's words in errors ("1 or 2"). */
  readonly expect?: string;
  /** A path: an empty or blank value is refused. */
  readonly path?: boolean;
  /** Old flag names, accepted for one release with a note naming this flag. */
  readonly aliases?: readonly string[];
  /** Other names for the same flag, without a note (makemore.py's --input-file). */
  readonly synonyms?: readonly string[];
  /** A config file may set it (every value option unless false; never a switch or --config). */
  readonly inFile?: boolean;
  /** A switch that stands for `--config <this file>` (relative to the repository). */
  readonly shorthand?: string;
  /** A heading printed before this option in --help. */
  readonly section?: string;
}

export type Table = Record<string, Option>;
/** The values of a table's options, typed by their defaults. */
export type Values<T extends Table> = { -readonly [K in keyof T]: T[K]['default'] };

interface Extra<V extends Value> {
  meta?: string;
  shown?: string;
  check?: (v: Exclude<V, undefined>) => string | null;
  expect?: string;
  aliases?: readonly string[];
  synonyms?: readonly string[];
  inFile?: boolean;
  section?: string;
  path?: boolean;
}
type Or<D, V> = D extends undefined ? V | undefined : V;

export function int<D extends number | undefined>(
  flag: string,
  dflt: D,
  rule: Omit<NumberRule, 'int'>,
  help: string,
  x: Extra<number> = {},
): Option<Or<D, number>> {
  return { flag, kind: 'int', default: dflt as Or<D, number>, rule: { ...rule, int: true }, help, meta: 'N', ...x };
}

export function num<D extends number | undefined>(
  flag: string,
  dflt: D,
  rule: NumberRule,
  help: string,
  x: Extra<number> = {},
): Option<Or<D, number>> {
  return { flag, kind: 'number', default: dflt as Or<D, number>, rule, help, meta: 'X', ...x };
}

export function text<D extends string | undefined>(
  flag: string,
  dflt: D,
  help: string,
  x: Extra<string> = {},
): Option<Or<D, string>> {
  return { flag, kind: 'text', default: dflt as Or<D, string>, help, meta: x.path ? 'PATH' : 'S', ...x };
}

export function choice<C extends string, D extends C | undefined>(
  flag: string,
  choices: readonly C[],
  dflt: D,
  help: string,
  x: Extra<C> = {},
): Option<Or<D, C>> {
  return { flag, kind: 'choice', default: dflt as Or<D, C>, choices, help, meta: choices.join('|'), ...x } as Option<
    Or<D, C>
  >;
}

export function toggle(flag: string, help: string, x: { shorthand?: string; section?: string } = {}): Option<boolean> {
  return { flag, kind: 'switch', default: false, help, inFile: false, ...x };
}

/** What an option takes, in words, for errors. */
function expected(o: Option): string {
  if (o.expect) return o.expect;
  if (o.rule) return ruleText(o.rule);
  if (o.choices)
    return o.choices.length === 2
      ? o.choices.join(' or ')
      : `one of ${o.choices.slice(0, -1).join(', ')} or ${o.choices.at(-1)}`;
  return o.kind === 'switch' ? 'true or false' : 'a string';
}

/** A flag's text as the option's value; a UsageError naming the flag otherwise. */
function fromText(o: Option, v: string): Value {
  let x: Value = v;
  if (o.rule) {
    try {
      x = numberFlag(o.flag, v, o.rule);
    } catch (e) {
      if (o.expect) throw new UsageError(`--${o.flag} must be ${o.expect}, got '${v}'`);
      throw e;
    }
  } else if (o.choices && !o.choices.includes(v))
    throw new UsageError(`--${o.flag} must be ${expected(o)}, got '${v}'`);
  const more = o.check?.(x as never);
  if (more) throw new UsageError(`--${o.flag} must be ${more}, got '${v}'`);
  return x;
}

/** A JSON value (a config file's, a checkpoint's setting) as the option's value, or what is wrong with it. */
export function fromJson(o: Option, x: unknown): { value: Value } | { problem: string } {
  const bad = (want = expected(o)) => ({ problem: `must be ${want}, got ${JSON.stringify(x)?.slice(0, 80)}` });
  if (o.rule) {
    if (typeof x !== 'number' || !keepsRule(x, o.rule)) return bad();
  } else if (o.kind === 'switch') {
    if (typeof x !== 'boolean') return bad();
  } else if (typeof x !== 'string' || (o.choices && !o.choices.includes(x))) return bad();
  else if (o.path && x.trim() === '') return bad('a path (not empty)');
  const more = o.check?.(x as never);
  return more ? bad(more) : { value: x as Value };
}

/** The table's values and where each came from. */
export interface Parsed<T extends Table> {
  values: Values<T>;
  /** Keys set by a flag or a config file (not defaults): --resume keeps these against the checkpoint's. */
  explicit: Set<keyof T & string>;
  /** For keys a config file set: the file (or the shorthand switch) — for messages. */
  fromFile: Map<keyof T & string, string>;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * A config file: a JSON object of flag names and values, read as a hostile file (a regular file,
 * at most 1 MiB, strict UTF-8). Every problem is a ConfigFileError naming the file (and the key).
 */
export function readConfigFile<T extends Table>(table: T, file: string): Map<keyof T & string, Value> {
  let json: unknown;
  try {
    json = readJsonFile(file, { maxBytes: 1024 * 1024, uniqueKeys: true });
  } catch (e) {
    throw new ConfigFileError(`config file: ${(e as Error).message}`);
  }
  if (!isRecord(json))
    throw new ConfigFileError(
      `config file ${file} holds ${Array.isArray(json) ? 'an array' : JSON.stringify(json)?.slice(0, 40)}, not a JSON object of settings ({"flag-name": value, …})`,
    );
  const byFlag = new Map(Object.entries(table).map(([k, o]) => [o.flag, k]));
  const out = new Map<keyof T & string, Value>();
  for (const [key, x] of Object.entries(json)) {
    const k = byFlag.get(key);
    const o = k === undefined ? undefined : table[k];
    if (k === undefined || !o || o.inFile === false || o.kind === 'switch') {
      const settable = Object.values(table)
        .filter((t) => t.inFile !== false && t.kind !== 'switch')
        .map((t) => t.flag);
      const near = o ? undefined : nearest(key, settable);
      const why = o ? ' (not a setting a config file may hold)' : near ? ` (did you mean "${near}"?)` : '';
      throw new ConfigFileError(
        `config file ${file}: unknown key "${key}"${why}: the keys are the flags' names without "--": ${settable.join(', ')}`,
      );
    }
    const r = fromJson(o, x);
    if ('problem' in r) throw new ConfigFileError(`config file ${file}: "${key}" ${r.problem}`);
    out.set(k, r.value);
  }
  return out;
}

/**
 * The command line against the table: defaults, then the config file (--config FILE, or a shorthand
 * switch), then the flags given. `note` receives one line per old flag name used.
 */
export function parseOptions<T extends Table>(
  table: T,
  argv: readonly string[],
  note: (msg: string) => void,
): Parsed<T> {
  const entries = Object.entries(table) as [keyof T & string, Option][];
  const names = (o: Option) => [o.flag, ...(o.aliases ?? []), ...(o.synonyms ?? [])];
  const strings = entries.filter(([, o]) => o.kind !== 'switch').flatMap(([, o]) => names(o));
  const booleans = entries.filter(([, o]) => o.kind === 'switch').flatMap(([, o]) => names(o));
  const paths = entries.filter(([, o]) => o.path).flatMap(([, o]) => names(o));
  const { values: given } = parseFlags(argv, strings, booleans, [], paths);
  const values = Object.fromEntries(entries.map(([k, o]) => [k, o.default])) as Record<string, Value>;
  const explicit = new Set<keyof T & string>();
  const fromFile = new Map<keyof T & string, string>();
  // the flags given, old names mapped to the new
  const flags = new Map<keyof T & string, Value>();
  for (const [k, o] of entries) {
    const used = names(o).filter((n) => given[n] !== undefined);
    if (used.length > 1) throw new UsageError(`${used.map((n) => `--${n}`).join(' and ')} are one flag: give it once`);
    const name = used[0];
    if (name === undefined) continue;
    if (o.aliases?.includes(name))
      note(`--${name} is now --${o.flag}; the old name is accepted until the next release`);
    const v = given[name] as string | boolean;
    flags.set(k, typeof v === 'boolean' ? v : fromText(o, v));
  }
  const files = entries
    .filter(([k, o]) => o.shorthand && flags.get(k) === true)
    .map(([, o]) => ({ file: path.join(REPO_ROOT, o.shorthand as string), label: `--${o.flag}` }));
  const configKey = entries.find(([, o]) => o.flag === 'config')?.[0];
  const config = configKey === undefined ? undefined : flags.get(configKey);
  if (typeof config === 'string') files.push({ file: config, label: config });
  if (files.length > 1) throw new UsageError(`${files.map((f) => f.label).join(' and ')}: give one config`);
  for (const { file, label } of files)
    for (const [k, v] of readConfigFile(table, file)) {
      values[k] = v;
      explicit.add(k);
      fromFile.set(k, label);
    }
  for (const [k, v] of flags) {
    values[k] = v;
    explicit.add(k);
    fromFile.delete(k);
  }
  return { values: values as Values<T>, explicit, fromFile };
}

/** A default as --help shows it. */
export function shownDefault(o: Option): string | undefined {
  return o.default === undefined ? o.shown : o.kind === 'switch' ? undefined : String(o.default);
}

/** --help: every option of the table with its default, then `epilogue`. */
export function usageText(tool: string, table: Table, epilogue: string): string {
  const lines = [`usage: npm run ${tool} -- [options]`];
  const pad = 24;
  for (const o of Object.values(table)) {
    if (o.section) lines.push(`  ${o.section}`);
    const head = `  --${o.flag}${o.meta ? ` ${o.meta}` : ''}`;
    const d = shownDefault(o);
    const old = o.aliases?.length
      ? ` (old name${o.aliases.length > 1 ? 's' : ''}: ${o.aliases.map((a) => `--${a}`).join(', ')})`
      : '';
    const body = `${o.help}${d !== undefined ? ` (default ${d})` : ''}${old}`.split('\n');
    lines.push(head.length < pad ? head.padEnd(pad) + body[0] : `${head}\n${' '.repeat(pad)}${body[0]}`);
    for (const more of body.slice(1)) lines.push(' '.repeat(pad) + more);
  }
  return `${lines.join('\n')}\n\n${epilogue}`;
}

/** How --resume treats a saved setting: the checkpoint's always (a flag that differs contradicts it), taken unless given (a change noted), or taken unless given silently. */
export type ResumeMode = 'fixed' | 'taken' | 'quiet';

/** The spec readCheckpoint checks a checkpoint's settings against: the saved options' kinds and bounds. */
export function settingsSpec<T extends Table>(
  table: T,
  saved: Partial<Record<keyof T & string, ResumeMode>>,
): SettingsSpec {
  const spec: SettingsSpec = {};
  for (const k of Object.keys(saved)) {
    const o = table[k] as Option;
    const rule = o.rule ?? {};
    spec[k] = {
      type: o.kind === 'int' ? 'integer' : o.kind === 'number' ? 'number' : o.kind === 'switch' ? 'boolean' : 'string',
      min: rule.allowNegOne && rule.min !== undefined ? Math.min(-1, rule.min) : rule.min,
      max: rule.max,
      values: o.choices,
      // absent in older checkpoints: the table's default
      optional: true,
      nullable: o.default === undefined,
    };
  }
  return spec;
}

/** The saved options' values as checkpoint.json keeps them (unset: null). */
export function toSettings<V extends object>(
  values: V,
  saved: Partial<Record<keyof V & string, ResumeMode>>,
): { [k: string]: Json } {
  const all = values as Record<string, Value>;
  return Object.fromEntries(Object.keys(saved).map((k) => [k, all[k] ?? null]));
}
