/**
 * The one run lifecycle of the training CLIs (makemore, novel, gpt), in this order, every check before any
 * work: parse (table, config file, flags) → the work dir's state → the checkpoint's settings against
 * the flags (conflicts; the checkpoint fills in flags not given) → the data (the CLI's) → signals →
 * lock, marker, --overwrite → build, train, save (the CLI's) → lock released, exit code.
 * lib/train/run-dir.ts holds the pieces (marker, lock, log truncation); this is their sequence.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  readCheckpoint,
  resolveCheckpoint,
  CHECKPOINT_CONTENTS,
  type CheckpointInfo,
  type SettingsSpec,
} from '../../../lib/train/checkpoint';
import {
  checkRunDir,
  checkWorkDir,
  claimRunDir,
  truncateCsvLog,
  truncateJsonLog,
  WorkDirError,
  type RunIntent,
} from '../../../lib/train/run-dir';
import type { SavedTopology } from '../../../lib/train/saved-model';
import { stopOnSignals } from '../../../lib/runtime/interrupt';
import { exitWhenFlushed, failureText } from '../exit';
import {
  ConfigFileError,
  fromJson,
  parseOptions,
  settingsSpec,
  usageText,
  type Option,
  type ResumeMode,
  type Table,
  type Values,
} from './options';

/** An exit code for main(): the phase that returns one has already said why. */
export type ExitCode = number;

/** The options every training CLI has. */
export interface RunTable extends Table {
  workDir: Option<string>;
  resume: Option<boolean>;
  overwrite: Option<boolean>;
  help: Option<boolean>;
}

/** The parsed command line: the table's values, and which were given (by a flag or a config file). */
export type Args<T extends Table> = Values<T> & {
  explicit: Set<keyof T & string>;
  fromFile: Map<keyof T & string, string>;
  sampleOnly?: boolean;
};

/** The checkpoint a run starts from: its JSON, checked, and its settings as the table's values. */
export interface Resumed<T extends Table> {
  from: string;
  info: CheckpointInfo;
  topology: SavedTopology<unknown>;
  settings: Partial<Values<T>>;
}

export type Signals = ReturnType<typeof stopOnSignals>;

/** A training CLI: its table and the steps of the lifecycle that are its own. */
export interface Cli<T extends RunTable, Data> {
  tool: 'makemore' | 'novel' | 'gpt';
  table: T;
  /** --help after the options: the work dir's layout, exit codes. */
  epilogue: string;
  /** The options checkpoint.json keeps, and how --resume treats each. */
  saved: Partial<Record<keyof T & string, ResumeMode>>;
  /** Further settings checkpoint.json keeps (facts about the data, not options). */
  savedFacts?: SettingsSpec;
  /** The top-level names a run writes in its work dir, and older versions' names. */
  entries: readonly string[];
  older?: readonly string[];
  /** Contradicting options after parsing (a usage error), or null. */
  validate?(a: Args<T>): string | null;
  /** Values the checkpoint implies besides its settings (older checkpoints kept some in the model's config). */
  recorded?(r: Resumed<T>): Partial<Values<T>>;
  /** Contradictions the table cannot see (e.g. a checkpoint of another model type). */
  conflicts?(a: Args<T>, r: Resumed<T>): string[];
  /** Before the lock: the data, and every check of it (a usage problem: an ExitCode after usageExit). */
  prepare(a: Args<T>, resumed: Resumed<T> | null): Data | ExitCode;
  /** What a first Ctrl-C says. */
  stopping: (signal: string) => string;
  /** After the lock: build, restore, train, save, report. */
  run(a: Args<T>, data: Data, resumed: Resumed<T> | null, signals: Signals): Promise<ExitCode>;
}

export function rel(p: string): string {
  const r = path.relative(process.cwd(), p);
  return r === '' ? '.' : r.startsWith('..') ? p : r;
}

/** `--flag value` as the run has it, and the config file that set it: for a message about two settings. */
export function setting<T extends RunTable>(table: T, a: Args<T>, key: keyof T & string): string {
  const from = a.fromFile.get(key);
  return `--${(table[key] as Option).flag} ${String(a[key])}${from ? ` (from ${from})` : ''}`;
}

export function usageExit(tool: string, msg: string): ExitCode {
  console.error(`${tool}: ${msg}`);
  return 2;
}

function usageOf<T extends RunTable>(cli: Cli<T, unknown>): string {
  return usageText(cli.tool, cli.table, cli.epilogue);
}

/** The flags (and config file); a bad one prints the message and where the flags are listed, and exits 2. */
function parseCommandLine<T extends RunTable>(cli: Cli<T, unknown>, argv: readonly string[]): Args<T> | ExitCode {
  try {
    const p = parseOptions(cli.table, argv, (msg) => console.error(`${cli.tool}: note: ${msg}`));
    const a: Args<T> = Object.assign(p.values, { explicit: p.explicit, fromFile: p.fromFile });
    if (a.resume && a.overwrite)
      throw new Error('--resume continues the run in --work-dir, --overwrite replaces it: give one of them');
    const bad = cli.validate?.(a);
    if (bad) throw new Error(bad);
    return a;
  } catch (e) {
    // the message alone: 70 lines of usage after it would push it off the screen
    const what = e instanceof ConfigFileError ? 'settings' : 'flags';
    console.error(`${cli.tool}: ${(e as Error).message}\n(npm run ${cli.tool} -- --help lists the ${what})`);
    return 2;
  }
}

function intent<T extends RunTable>(cli: Cli<T, unknown>, a: Args<T>): RunIntent {
  const slots = cli.entries.filter((n) => /^(latest|best)(\.prev)?$/.test(n));
  return {
    tool: cli.tool,
    flag: '--work-dir',
    entries: cli.entries,
    older: cli.older,
    contents: Object.fromEntries(slots.map((n) => [n, CHECKPOINT_CONTENTS])),
    resume: a.resume,
    overwrite: a.overwrite,
  };
}

/** The checkpoint to start from: latest/ (--resume), best/ or else latest/ (--sample-only); none is an error. */
function findCheckpoint(tool: string, a: { sampleOnly?: boolean }, workDir: string): string {
  const latest = path.join(workDir, 'latest');
  const from = a.sampleOnly
    ? (resolveCheckpoint(path.join(workDir, 'best')) ?? resolveCheckpoint(latest))
    : resolveCheckpoint(latest);
  if (!from) {
    const old = fs.existsSync(path.join(workDir, 'model', 'model.json'))
      ? ` (${rel(path.join(workDir, 'model'))} is a checkpoint of an older ${tool}, which kept no batch generator state: it cannot be resumed exactly)`
      : '';
    throw new Error(
      `no checkpoint in ${rel(workDir)}: ${rel(path.join(latest, 'checkpoint.json'))} not found${old}; train first (without --resume)`,
    );
  }
  if (from.endsWith('.prev'))
    console.log(`${rel(from)}: using the previous checkpoint (a save was interrupted before it completed)`);
  return from;
}

/** checkpoint.json's settings as the table's values, each checked against its option. */
function storedSettings<T extends RunTable>(
  cli: Cli<T, unknown>,
  file: string,
  info: CheckpointInfo,
): Partial<Values<T>> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(cli.saved)) {
    if (!(k in info.settings)) continue;
    const x = info.settings[k];
    if (x === null) {
      out[k] = undefined;
      continue;
    }
    const r = fromJson(cli.table[k] as Option, x);
    if ('problem' in r) throw new Error(`${file}: settings.${k} ${r.problem}`);
    out[k] = r.value;
  }
  return out as Partial<Values<T>>;
}

/**
 * --resume / --sample-only: the checkpoint's JSON (checked), its settings against the flags given — a
 * contradiction is a usage error naming both values — and taken for the flags not given. Updates `a`.
 */
function resumeFrom<T extends RunTable>(cli: Cli<T, unknown>, a: Args<T>, workDir: string): Resumed<T> | ExitCode {
  const from = findCheckpoint(cli.tool, a, workDir);
  const spec = { ...settingsSpec(cli.table, cli.saved), ...cli.savedFacts };
  const { info, topology } = readCheckpoint<unknown>(from, { settings: spec });
  const stored = storedSettings(cli, path.join(from, 'checkpoint.json'), info);
  const r: Resumed<T> = { from, info, topology, settings: stored };
  // what the checkpoint implies, under what its settings say
  r.settings = { ...cli.recorded?.(r), ...stored };
  const conflicts = cli.conflicts?.(a, r) ?? [];
  const changed: string[] = [];
  const values = a as Record<string, unknown>;
  const saved = r.settings as Record<string, unknown>;
  for (const [k, mode] of Object.entries(cli.saved) as [keyof T & string, ResumeMode][]) {
    if (!(k in saved)) continue;
    const flag = `--${(cli.table[k] as Option).flag}`;
    const given = a.explicit.has(k);
    const theirs = saved[k];
    const mine = values[k];
    const source = a.fromFile.has(k) ? ` (from ${a.fromFile.get(k)})` : '';
    if (mode === 'fixed' && given && mine !== theirs)
      conflicts.push(`${flag} ${String(mine)}${source}, but the checkpoint's is ${String(theirs ?? 'none')}`);
    else if (!given || mode === 'fixed') values[k] = theirs;
    else if (mode === 'taken' && mine !== theirs)
      changed.push(`${flag} ${String(mine)}${source} (the run so far: ${String(theirs ?? 'none')})`);
  }
  if (conflicts.length)
    return usageExit(
      cli.tool,
      `these flags contradict the checkpoint in ${rel(from)}:\n  ${conflicts.join('\n  ')}\nleave them out (the checkpoint's values are used) or start a new run (another --work-dir, or --overwrite)`,
    );
  if (changed.length && a.resume)
    console.log(`resuming with ${changed.join(', ')}: from here on the run differs from one that was never stopped`);
  return r;
}

/**
 * The logs a run appends to (JSON lines keyed by `key`, CSV with `header`): a resumed run keeps the rows
 * up to its checkpoint's step, a fresh one starts them empty.
 */
export function startLogs(
  logs: readonly { file: string; key?: string; header?: string }[],
  resumedAt: number | null,
): void {
  for (const { file, key, header } of logs) {
    if (resumedAt === null) fs.writeFileSync(file, header === undefined ? '' : header + '\n');
    else if (header !== undefined) truncateCsvLog(file, header, resumedAt);
    else truncateJsonLog(file, key ?? 'step', resumedAt);
  }
}

/** The lifecycle (see the module comment); resolves to the exit code. */
async function runLifecycle<T extends RunTable, Data>(cli: Cli<T, Data>, argv: readonly string[]): Promise<ExitCode> {
  const a = parseCommandLine(cli as Cli<T, unknown>, argv);
  if (typeof a === 'number') return a;
  if (a.help) {
    console.log(usageOf(cli as Cli<T, unknown>));
    return 0;
  }
  const workDir = path.resolve(a.workDir);
  try {
    // a file, an unwritable place, or (fresh) another run or someone else's files where ours would go
    if (!a.sampleOnly) {
      checkWorkDir('--work-dir', a.workDir);
      checkRunDir(workDir, intent(cli as Cli<T, unknown>, a));
    }
  } catch (e) {
    if (e instanceof WorkDirError) return usageExit(cli.tool, e.message);
    throw e;
  }
  const resumed = a.resume || a.sampleOnly ? resumeFrom(cli as Cli<T, unknown>, a, workDir) : null;
  if (typeof resumed === 'number') return resumed;
  const data = cli.prepare(a, resumed);
  if (typeof data === 'number') return data;
  const signals = stopOnSignals(cli.stopping);
  let lock = null;
  if (!a.sampleOnly) {
    try {
      const claimed = claimRunDir(workDir, intent(cli as Cli<T, unknown>, a));
      lock = claimed.lock;
      if (lock.stale) console.log(`removed a stale lock ${rel(lock.path)} (${lock.stale})`);
      if (claimed.removed.length)
        console.log(`--overwrite: removed ${claimed.removed.join(', ')} from ${rel(workDir)}`);
    } catch (e) {
      if (e instanceof WorkDirError) return usageExit(cli.tool, e.message);
      throw e;
    }
  }
  try {
    return await cli.run(a, data as Data, resumed, signals);
  } finally {
    lock?.release();
  }
}

/** The CLI's main: the lifecycle, its exit code once the output is flushed; an error is exit 1. */
export function main<T extends RunTable, Data>(cli: Cli<T, Data>): void {
  runLifecycle(cli, process.argv.slice(2)).then(
    (code) => exitWhenFlushed(code),
    (e: unknown) => {
      console.error(failureText(cli.tool, e));
      exitWhenFlushed(1);
    },
  );
}
