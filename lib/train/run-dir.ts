/**
 * The work directory a training CLI (makemore, novel) owns: checked before any work, marked as ours,
 * locked while a run writes to it, and cleared by --overwrite only where the mark proves the entries
 * are ours. A user's own files that happen to share a name with ours (`model/`, `log.csv`) are never
 * removed: the run stops and names them.
 *
 *   .sequentia-run.json   { sequentiaRun: 1, tool, entries }: the names this tool created here
 *   .lock                 the PID, host, start time and command of the run in progress
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../runtime/durable';
import { DEFAULT_MAX_JSON_BYTES, readJsonLines, readTextFile } from '../data/read-checked';

export const MARKER = '.sequentia-run.json';
const LOCK = '.lock';
/** A marker or lock is a few hundred bytes; anything much larger is not ours and is not read. */
const SMALL_FILE = 64 * 1024;

/** A work directory that cannot be used as given (a file, not writable, foreign entries): exit 2. */
export class WorkDirError extends Error {}

/** Raised when a work directory is in use by a live run. */
export class LockError extends WorkDirError {}

interface Marker {
  sequentiaRun: 1;
  tool: string;
  entries: string[];
}

/**
 * A path flag's value: empty or blank is refused (an unset shell variable would otherwise mean the
 * current directory), so is a NUL byte. Returns the value unchanged.
 */
export function checkPathValue(flag: string, value: string): string {
  if (value.trim() === '')
    throw new WorkDirError(`${flag} is empty${value ? ' (only spaces)' : ''}: give a path (an unset shell variable?)`);
  if (value.includes('\0')) throw new WorkDirError(`${flag} contains a NUL byte: ${JSON.stringify(value)}`);
  return value;
}

/** Reads a small regular file, or null when it is absent; anything else (a FIFO, a device, too large) throws. */
function readSmall(file: string): string | null {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return null;
  }
  if (!st.isFile()) throw new WorkDirError(`${file} is not a regular file`);
  if (st.size > SMALL_FILE) throw new WorkDirError(`${file} has ${st.size} bytes: not a file this tool wrote`);
  return fs.readFileSync(file, 'utf8');
}

/**
 * Checks, before any work, that `dir` (given as `flag`) can be a work directory: a directory or
 * nothing yet, under a directory this process can write to. Returns the absolute path.
 */
export function checkWorkDir(flag: string, dir: string): string {
  const abs = path.resolve(checkPathValue(flag, dir));
  let existing = abs;
  while (!fs.existsSync(existing)) {
    if (isLink(existing))
      throw new WorkDirError(
        `${flag} ${dir}: ${existing} is a symbolic link to ${fs.readlinkSync(existing)}, which does not exist`,
      );
    existing = path.dirname(existing);
  }
  if (!fs.statSync(existing).isDirectory())
    throw new WorkDirError(
      existing === abs
        ? `${flag} ${dir} is a file, not a directory`
        : `${flag} ${dir} cannot be created: ${existing} is a file`,
    );
  if (existing === abs) {
    // a probe, not access(2): root passes every permission check but still gets EROFS on a read-only mount
    const probe = path.join(abs, `.sequentia-probe-${process.pid}`);
    try {
      fs.writeFileSync(probe, '');
      fs.rmSync(probe);
    } catch (e) {
      throw new WorkDirError(`${flag} ${dir} is not writable (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
  } else {
    try {
      fs.accessSync(existing, fs.constants.W_OK);
    } catch (e) {
      throw new WorkDirError(
        `${flag} ${dir} cannot be created: ${existing} is not writable (${(e as NodeJS.ErrnoException).code})`,
      );
    }
  }
  return abs;
}

function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

function readMarker(dir: string): Marker | string {
  const file = path.join(dir, MARKER);
  let text: string | null;
  try {
    text = readSmall(file);
  } catch (e) {
    return (e as Error).message;
  }
  if (text === null) return `${dir} has no ${MARKER}: nothing in it is known to be ours`;
  try {
    const m = JSON.parse(text) as Partial<Marker> | null;
    if (m && m.sequentiaRun === 1 && typeof m.tool === 'string' && Array.isArray(m.entries))
      return { sequentiaRun: 1, tool: m.tool, entries: m.entries.filter((e) => typeof e === 'string') };
  } catch {
    // reported below
  }
  return `${file} is not a Sequentia run marker`;
}

/** The entries of `names` that exist in `dir` (a dangling symlink counts). */
function presentEntries(dir: string, names: readonly string[]): string[] {
  return names.filter((n) => {
    try {
      fs.lstatSync(path.join(dir, n));
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Of `names` present in `dir`, those its marker does not prove were written by `tool`; with the reason
 * when there are any (no marker, another tool's, or not listed).
 */
function foreignEntries(
  dir: string,
  tool: string,
  names: readonly string[],
  contents: Readonly<Record<string, readonly string[]>> = {},
): { entries: string[]; why: string } {
  const present = presentEntries(dir, names);
  if (present.length === 0) return { entries: [], why: '' };
  const m = readMarker(dir);
  if (typeof m === 'string') return { entries: present, why: m };
  if (m.tool !== tool) return { entries: present, why: `${dir} holds a ${m.tool} run (${MARKER}), not a ${tool} one` };
  const foreign = present.filter((n) => !m.entries.includes(n));
  if (foreign.length) return { entries: foreign, why: `${MARKER} does not list them` };
  // a listed folder holds only what this tool writes there: a learner's notes saved inside latest/ stay
  const inside = present.flatMap((n) => unexpectedInside(dir, n, contents[n]));
  return { entries: inside, why: inside.length ? `${tool} does not write them` : '' };
}

/** Paths under `dir/name` (a folder with the known `contents`) that the tool does not write. */
function unexpectedInside(dir: string, name: string, contents: readonly string[] | undefined): string[] {
  if (!contents) return [];
  const out: string[] = [];
  const walk = (rel: string) => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(path.join(dir, name, rel));
    } catch {
      return;
    }
    if (!st.isDirectory()) return;
    for (const e of fs.readdirSync(path.join(dir, name, rel), { withFileTypes: true })) {
      const sub = rel + e.name + (e.isDirectory() ? '/' : '');
      if (!contents.includes(sub)) out.push(`${name}/${sub}`);
      else if (e.isDirectory()) walk(sub);
    }
  };
  walk('');
  return out;
}

/**
 * Removes the entries of `names` in `dir` for --overwrite — only if every one is proven ours; otherwise
 * throws naming the others and touches nothing. Returns the names removed.
 */
export function clearRun(
  dir: string,
  tool: string,
  names: readonly string[],
  flag = 'directory',
  contents: Readonly<Record<string, readonly string[]>> = {},
): string[] {
  const foreign = foreignEntries(dir, tool, names, contents);
  if (foreign.entries.length) throw overwriteRefused(dir, tool, foreign, flag);
  const present = presentEntries(dir, names);
  for (const n of present) fs.rmSync(path.join(dir, n), { recursive: true, force: true });
  return present;
}

/** Marks `dir` as `tool`'s, listing `entries` (added to those already listed), before they are written. */
export function markRun(dir: string, tool: string, entries: readonly string[]): void {
  const m = readMarker(dir);
  const old = typeof m === 'string' || m.tool !== tool ? [] : m.entries;
  const marker: Marker = { sequentiaRun: 1, tool, entries: [...new Set([...old, ...entries])] };
  writeFileAtomic(path.join(dir, MARKER), JSON.stringify(marker) + '\n');
}

export interface Lock {
  readonly path: string;
  /** Why an old lock was removed (its process is gone, or the PID now belongs to another process), if one was. */
  readonly stale: string | null;
  release(): void;
}

/** The kernel's start time of a process (clock ticks since boot), or null where /proc cannot tell. */
function startTime(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: count fields after the last ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function commandLine(pid: number): string | null {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return null;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface LockInfo {
  pid: number;
  host: string;
  since: string;
  start: string | null;
  command: string | null;
}

function parseLock(text: string): LockInfo {
  const [pid, host, since, ...rest] = text.split('\n');
  const field = (k: string) => rest.find((l) => l.startsWith(`${k}=`))?.slice(k.length + 1) ?? null;
  return { pid: Number(pid), host: host ?? '', since: since ?? '', start: field('start'), command: field('command') };
}

/**
 * Null when the lock's process still runs this run; otherwise why the lock is stale. A PID is reused
 * when its start time differs from the one recorded (or, for a lock without one, when the process is
 * not a Sequentia CLI).
 */
function staleReason(l: LockInfo): string | null {
  if (!Number.isInteger(l.pid) || l.pid <= 0) return 'it names no PID';
  if (l.host && l.host !== os.hostname()) return null; // another machine's process: cannot be checked from here
  if (!pidAlive(l.pid)) return `PID ${l.pid} is not running`;
  if (l.pid === process.pid) return null;
  const start = startTime(l.pid);
  if (l.start !== null && start !== null && start !== l.start)
    return `PID ${l.pid} is now another process, started after the lock was taken`;
  const cmd = commandLine(l.pid);
  if (l.start === null && cmd !== null && !/scripts[/\\]cli[/\\](makemore|novel)/.test(cmd))
    return `PID ${l.pid} is now another process (${cmd.slice(0, 80)})`;
  return null;
}

/**
 * Takes `dir/.lock` so that a second run in the same directory stops instead of overwriting the first
 * one's checkpoints. A lock whose process is gone, or whose PID was reused, is removed (`stale` says
 * why). Released by `release()` and, whatever happens, when the process exits.
 */
export function acquireLock(dir: string): Lock {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, LOCK);
  const me = [
    String(process.pid),
    os.hostname(),
    new Date().toISOString(),
    `start=${startTime(process.pid) ?? ''}`,
    `command=${process.argv.join(' ')}`,
  ].join('\n');
  let stale: string | null = null;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, me + '\n');
      fs.closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 5) throw e;
    }
    const st = fs.lstatSync(file, { throwIfNoEntry: false });
    if (st && !st.isFile() && !st.isFIFO())
      throw new LockError(
        `${file} is a ${st.isDirectory() ? 'directory' : 'special file'}, not a lock this tool wrote: remove it (rm -r ${file}) if no run is using ${dir}`,
      );
    let text: string | null;
    try {
      text = readSmall(file);
    } catch {
      text = ''; // a FIFO or an oversized file: not a lock we wrote, stale
    }
    if (text === null) continue; // removed meanwhile: try again
    const held = parseLock(text);
    const reason = staleReason(held);
    if (reason === null) {
      const host = held.host && held.host !== os.hostname() ? ` on host ${held.host}` : '';
      throw new LockError(
        `${dir} is in use by another run: the lock ${file} is held by PID ${held.pid}${host} (since ${held.since || 'an unknown time'}${held.command ? `: ${held.command.slice(0, 120)}` : ''}), still running. Wait for it or stop it (kill ${held.pid}); if that process is not a run in this directory, delete the lock (rm ${file})`,
      );
    }
    stale = reason;
    fs.rmSync(file, { force: true });
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.removeListener('exit', release);
    try {
      if (fs.readFileSync(file, 'utf8').split('\n')[0] === String(process.pid)) fs.rmSync(file, { force: true });
    } catch {
      // already gone
    }
  };
  process.on('exit', release);
  return { path: file, stale, release };
}

/** What a run does with a work directory: start afresh (refusing or, with `overwrite`, clearing one that holds a run) or continue it. */
export interface RunIntent {
  /** The CLI, recorded in the marker ('makemore', 'novel'). */
  tool: string;
  /** The flag naming the directory, for messages. */
  flag: string;
  /** Every top-level name a run of this tool writes (the marker lists them). */
  entries: readonly string[];
  /** Names older versions wrote: they stop a fresh run too, but no marker proves them ours. */
  older?: readonly string[];
  /** For entries that are folders: every path inside that the tool writes (folders end in '/'). */
  contents?: Readonly<Record<string, readonly string[]>>;
  resume: boolean;
  overwrite: boolean;
}

/**
 * Before any work: `dir` can hold this run — a fresh run finds no earlier run there (or, with
 * --overwrite, only entries the marker proves ours). Throws a WorkDirError saying what to do.
 */
export function checkRunDir(dir: string, run: RunIntent): void {
  if (run.resume) return;
  const all = [...run.entries, ...(run.older ?? [])];
  const present = presentEntries(dir, all);
  if (present.length === 0) return;
  if (!run.overwrite && typeof readMarker(dir) === 'string')
    throw new WorkDirError(
      `${dir} holds ${present.join(', ')}, names a run writes, but no run marked the folder as its own (${MARKER}): move them, or choose another ${run.flag}`,
    );
  if (!run.overwrite)
    throw new WorkDirError(
      `${dir} already holds a run (${present.join(', ')}). Continue it with --resume, start over with --overwrite (replaces them), or choose another ${run.flag}`,
    );
  const foreign = foreignEntries(dir, run.tool, all, run.contents);
  if (foreign.entries.length) throw overwriteRefused(dir, run.tool, foreign, run.flag);
}

function overwriteRefused(dir: string, tool: string, foreign: { entries: string[]; why: string }, flag: string) {
  return new WorkDirError(
    `--overwrite removes only what a ${tool} run wrote, and ${foreign.entries.join(', ')} in ${dir} may not be (${foreign.why}). Nothing was removed: move or delete them yourself, or choose another ${flag}`,
  );
}

/**
 * Takes the directory for the run: the lock, then (checked again under it) the old run's entries
 * cleared for --overwrite, then the marker listing what this run will write. Returns the lock and the
 * entries removed; on a WorkDirError the lock is released and nothing is removed.
 */
export function claimRunDir(dir: string, run: RunIntent): { lock: Lock; removed: string[] } {
  const lock = acquireLock(dir);
  try {
    checkRunDir(dir, run);
    const all = [...run.entries, ...(run.older ?? [])];
    const removed = run.resume ? [] : clearRun(dir, run.tool, all, run.flag, run.contents);
    markRun(dir, run.tool, run.entries);
    return { lock, removed };
  } catch (e) {
    lock.release();
    throw e;
  }
}

/**
 * Runs a checkpoint save of `step` into `slot`; a failure (a full disk, say) names the slot, the step
 * and what is kept, instead of a bare "ENOSPC … write". `kept`: the step the slot held before.
 */
export async function savingStep(slot: string, step: number, kept: number | null, save: () => Promise<void>) {
  try {
    await save();
  } catch (e) {
    const keptNote = fs.existsSync(slot)
      ? `; ${slot} still holds the previous checkpoint${kept !== null ? ` (step ${kept})` : ''}`
      : '';
    throw new Error(`step ${step}: could not save ${slot}: ${(e as Error).message}${keptNote}`);
  }
}

/** Appends a line to a log, naming the file and the step if it cannot (a full disk). */
export function appendLine(file: string, step: number, line: string): void {
  try {
    fs.appendFileSync(file, line);
  } catch (e) {
    throw new Error(`step ${step}: could not write ${file}: ${(e as Error).message}`);
  }
}

/**
 * Cuts a JSON-lines log back to the rows whose `key` (the step) is at most `upTo`: a resumed run redoes
 * the rows a killed one wrote after its last checkpoint. A row that is not JSON or has no numeric `key`
 * is an error naming file:line; a last line torn by a kill is dropped. An absent log starts empty.
 */
export function truncateJsonLog(file: string, key: string, upTo: number): void {
  if (!fs.existsSync(file)) return void fs.writeFileSync(file, '');
  const rows = readJsonLines(file, { dropTornTail: true }).filter(({ value, line }) => {
    const at = (value as Record<string, unknown> | null)?.[key];
    if (typeof at !== 'number') throw new Error(`${file}:${line}: expected a numeric "${key}"`);
    return at <= upTo;
  });
  fs.writeFileSync(file, rows.map((r) => r.text + '\n').join(''));
}

/** The same for a CSV log whose first column is the step (its header kept, or written if absent). */
export function truncateCsvLog(file: string, header: string, upTo: number): void {
  if (!fs.existsSync(file)) return void fs.writeFileSync(file, header + '\n');
  const [head, ...rows] = readTextFile(file, { maxBytes: DEFAULT_MAX_JSON_BYTES }).split(/\r?\n/);
  const kept = rows.filter((l) => l.trim() !== '' && Number(l.split(',')[0]) <= upTo);
  fs.writeFileSync(file, [head ?? header, ...kept].map((r) => r + '\n').join(''));
}
