/**
 * Training checkpoints as one atomic unit, and the work-directory lock the CLIs hold while training.
 *
 * A checkpoint is a directory (a "slot", e.g. `out/names/latest`):
 *
 *   checkpoint.json            step, best test loss, the batch generator's state, the run's settings
 *   model/model.json, weights.bin        the model (saved-model.ts format: type, config, vocabulary, weights);
 *                                        a notebook loads it with `loadWeights('…/latest/model')`
 *   optimizer/model.json, weights.bin    Adam/AdamW's step and moments m:<weight>, v:<weight>
 *
 * Saving writes a complete new directory next to the slot (`.latest.tmp-<pid>-…`), flushes every file
 * and the directory, then renames: the old slot → `latest.prev`, the new one → `latest`, and removes
 * `latest.prev`. A process killed at any moment leaves `latest` complete, or (between the two renames)
 * no `latest` but a complete `latest.prev`, which `resolveCheckpoint` falls back to.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf } from '../runtime/tf';
import { fsyncDir, writeFileDurable } from '../runtime/durable';
import { fileHandler, readSavedTopology, saveWeights, loadWeights, type SavedTopology } from './saved-model';
import type { Adam, AdamState } from './optimizers';
import type { FastGeneratorState } from '../random/fast-generator';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** checkpoint.json: everything of a run that is not a tensor. */
export interface CheckpointInfo {
  sequentiaCheckpoint: 1;
  /** Training steps done (the next step is step + 1). */
  step: number;
  /** Lowest test loss seen so far (null: none yet). */
  bestTestLoss: number | null;
  /** The minibatch generator's state after `step` steps: resuming draws exactly the batches that would have come next. */
  batchRng: FastGeneratorState | null;
  /** The run's settings (the CLI's flags), so a resumed run can take them and detect contradictions. */
  settings: { [key: string]: Json };
  /** Anything else a trainer needs to continue exactly (e.g. a running loss sum between log lines). */
  trainer?: { [key: string]: Json };
  savedAt: string;
}

/** What a checkpoint holds; weights and moments are keyed by the model's stable weight names (namedWeights()). */
export interface Checkpoint<C> {
  topology: SavedTopology<C>;
  weights: Record<string, tf.Tensor>;
  optimizer: AdamState | null;
  info: Omit<CheckpointInfo, 'sequentiaCheckpoint' | 'savedAt'>;
}

const INFO = 'checkpoint.json';

/** Adam's state keyed by stable weight names instead of tf variable names (which change from process to process). */
export function optimizerStateByName(opt: Adam, named: Record<string, tf.Tensor>): AdamState {
  const s = opt.state();
  const byVar = new Map(Object.entries(named).map(([k, v]) => [(v as tf.Variable).name, k]));
  const rename = (t: Record<string, Float32Array>) =>
    Object.fromEntries(Object.entries(t).map(([k, a]) => [byVar.get(k) ?? k, a]));
  return { step: s.step, m: rename(s.m), v: rename(s.v) };
}

/** Restores what `optimizerStateByName` produced into `opt`, for the variables of `named`. */
export function restoreOptimizer(opt: Adam, state: AdamState, named: Record<string, tf.Variable>): void {
  const rename = (t: Record<string, Float32Array>) =>
    Object.fromEntries(
      Object.entries(t).map(([k, a]) => {
        const v = named[k];
        if (!v) throw new Error(`optimizer state for '${k}', which the model does not have`);
        return [v.name, a];
      }),
    );
  opt.loadState({ step: state.step, m: rename(state.m), v: rename(state.v) });
}

/** Removes a directory tree; missing is fine. */
function rmTree(p: string): void {
  fs.rmSync(p, { recursive: true, force: true });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, but not ours to signal
  }
}

/** Temporary directories of saves that never finished (their process is gone). */
function removeStaleTemps(parent: string, base: string): void {
  if (!fs.existsSync(parent)) return;
  for (const name of fs.readdirSync(parent)) {
    const m = new RegExp(`^\\.${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.tmp-(\\d+)-`).exec(name);
    if (m && (Number(m[1]) === process.pid || !pidAlive(Number(m[1])))) rmTree(path.join(parent, name));
  }
}

/** Writes the optimizer's moments as a saved-model.ts directory (no tensors needed). */
async function saveOptimizer(dir: string, s: AdamState): Promise<void> {
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Float32Array[] = [];
  for (const [which, table] of [
    ['m', s.m],
    ['v', s.v],
  ] as const) {
    for (const [name, a] of Object.entries(table)) {
      specs.push({ name: `${which}:${name}`, shape: [a.length], dtype: 'float32' });
      parts.push(a);
    }
  }
  const total = parts.reduce((n, a) => n + a.length, 0);
  const data = new Float32Array(total);
  let off = 0;
  for (const a of parts) {
    data.set(a, off);
    off += a.length;
  }
  const topology: SavedTopology<{ step: number }> = {
    sequentia: 1,
    type: 'adam-state',
    config: { step: s.step },
    itos: [],
    boundary: null,
  };
  await (fileHandler(dir).save as NonNullable<tf.io.IOHandler['save']>)({
    modelTopology: topology as unknown as object,
    format: 'sequentia',
    weightSpecs: specs,
    weightData: data.buffer,
  });
}

/** Reads the moments `saveOptimizer` wrote, checking them against the model's weight shapes. */
async function loadOptimizer(dir: string, expect: Record<string, { shape: readonly number[] }>): Promise<AdamState> {
  const t = readSavedTopology<{ step: number }>(dir);
  const where = path.join(dir, 'model.json');
  if (t.type !== 'adam-state' || !Number.isInteger(t.config.step) || t.config.step < 0)
    throw new Error(`${where} is not an optimizer state (type '${t.type}')`);
  const a = await (fileHandler(dir).load as NonNullable<tf.io.IOHandler['load']>)();
  const buf = a.weightData as ArrayBuffer;
  const s: AdamState = { step: t.config.step, m: {}, v: {} };
  let off = 0;
  for (const w of a.weightSpecs ?? []) {
    const n = w.shape.reduce((x, y) => x * y, 1);
    const m = /^([mv]):(.*)$/.exec(w.name);
    if (!m || w.dtype !== 'float32') throw new Error(`${where}: unexpected entry '${w.name}' (${w.dtype})`);
    const name = m[2] as string;
    const want = expect[name];
    if (!want) throw new Error(`${where}: moments for '${name}', which the model does not have`);
    const size = want.shape.reduce((x, y) => x * y, 1);
    if (n !== size) throw new Error(`${where}: '${w.name}' has ${n} values, the weight '${name}' has ${size}`);
    (m[1] === 'm' ? s.m : s.v)[name] = new Float32Array(buf.slice(off, off + 4 * n));
    off += 4 * n;
  }
  return s;
}

/**
 * Saves a checkpoint into `slot` atomically (see the module comment): the previous one stays until
 * the new one is complete on disk.
 */
export async function saveCheckpoint<C>(
  slot: string,
  c: {
    topology: SavedTopology<C>;
    weights: Record<string, tf.Tensor>;
    optimizer: AdamState | null;
    info: Checkpoint<C>['info'];
  },
): Promise<void> {
  const parent = path.dirname(path.resolve(slot));
  const base = path.basename(slot);
  fs.mkdirSync(parent, { recursive: true });
  removeStaleTemps(parent, base);
  const tmp = path.join(parent, `.${base}.tmp-${process.pid}-${Date.now().toString(36)}`);
  fs.mkdirSync(tmp);
  try {
    await saveWeights(path.join(tmp, 'model'), c.topology, c.weights);
    if (c.optimizer) await saveOptimizer(path.join(tmp, 'optimizer'), c.optimizer);
    const info: CheckpointInfo = { sequentiaCheckpoint: 1, ...c.info, savedAt: new Date().toISOString() };
    if (info.bestTestLoss !== null && !Number.isFinite(info.bestTestLoss)) info.bestTestLoss = null;
    writeFileDurable(path.join(tmp, INFO), JSON.stringify(info) + '\n');
    fsyncDir(tmp);
  } catch (e) {
    rmTree(tmp);
    throw e;
  }
  const target = path.join(parent, base);
  const prev = `${target}.prev`;
  if (fs.existsSync(target)) {
    rmTree(prev); // a leftover of an older crash: `target` is complete and newer
    fs.renameSync(target, prev);
  }
  fs.renameSync(tmp, target);
  fsyncDir(parent);
  rmTree(prev);
}

/**
 * The directory holding the newest complete checkpoint of `slot`: the slot itself, or `slot.prev`
 * when a save was killed between its two renames; null when there is none.
 */
export function resolveCheckpoint(slot: string): string | null {
  if (fs.existsSync(slot)) return slot;
  const prev = `${slot}.prev`;
  if (fs.existsSync(path.join(prev, INFO))) return prev;
  return null;
}

function checkInfo(file: string, x: unknown): CheckpointInfo {
  const i = x as Partial<CheckpointInfo> | null;
  const problem =
    !i || typeof i !== 'object' || i.sequentiaCheckpoint !== 1
      ? 'not a Sequentia checkpoint (sequentiaCheckpoint: 1 missing)'
      : !Number.isInteger(i.step) || (i.step as number) < 0
        ? `bad step ${JSON.stringify(i.step)}`
        : i.bestTestLoss !== null && typeof i.bestTestLoss !== 'number'
          ? `bad bestTestLoss ${JSON.stringify(i.bestTestLoss)}`
          : i.batchRng !== null && (typeof i.batchRng !== 'object' || !Array.isArray(i.batchRng?.X))
            ? 'bad batchRng'
            : !i.settings || typeof i.settings !== 'object'
              ? 'settings missing'
              : null;
  if (problem) throw new Error(`${file}: ${problem}`);
  return i as CheckpointInfo;
}

/** Reads a checkpoint's JSON parts only (checkpoint.json and the model's topology): cheap, for checking flags first. */
export function readCheckpoint<C>(dir: string): { info: CheckpointInfo; topology: SavedTopology<C> } {
  const file = path.join(dir, INFO);
  if (!fs.existsSync(file)) throw new Error(`${file} not found: ${dir} is not a complete checkpoint`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message}): the checkpoint is corrupt`);
  }
  return { info: checkInfo(file, parsed), topology: readSavedTopology<C>(path.join(dir, 'model')) };
}

/**
 * Loads a whole checkpoint. `expect` (the model's namedWeights()) checks the weights' and the moments'
 * names and shapes; every mismatch, truncation or corruption is an error naming the file. The caller
 * disposes the returned weights.
 */
export async function loadCheckpoint<C>(
  dir: string,
  expect?: Record<string, { shape: readonly number[] }>,
): Promise<Checkpoint<C>> {
  const { info, topology } = readCheckpoint<C>(dir);
  const { weights } = await loadWeights<C>(path.join(dir, 'model'), { expect });
  try {
    const optDir = path.join(dir, 'optimizer');
    const shapes = expect ?? Object.fromEntries(Object.entries(weights).map(([k, t]) => [k, { shape: t.shape }]));
    const optimizer = fs.existsSync(optDir) ? await loadOptimizer(optDir, shapes) : null;
    const { sequentiaCheckpoint: _v, savedAt: _t, ...rest } = info;
    return { topology, weights, optimizer, info: rest };
  } catch (e) {
    tf.dispose(Object.values(weights));
    throw e;
  }
}

/** Raised when a work directory is in use by a live process. */
export class LockError extends Error {}

export interface Lock {
  readonly path: string;
  /** The PID of a dead process whose lock was removed, if any. */
  readonly stalePid: number | null;
  release(): void;
}

/**
 * Takes `dir/.lock` (holding this PID) so that a second run in the same directory stops instead of
 * overwriting the first one's checkpoints. A lock left by a dead process is removed (reported in
 * `stalePid`). Released by `release()` and, whatever happens, when the process exits.
 */
export function acquireLock(dir: string): Lock {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, '.lock');
  let stalePid: number | null = null;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, `${process.pid}\n${os.hostname()}\n${new Date().toISOString()}\n`);
      fs.closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 5) throw e;
    }
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue; // removed meanwhile: try again
    }
    const pid = Number(text.split('\n')[0]);
    if (Number.isInteger(pid) && pid > 0 && pidAlive(pid) && pid !== process.pid) {
      throw new LockError(
        `${dir} is in use by another run: the lock ${file} is held by PID ${pid} (still running). Wait for it, stop it, or use another work directory`,
      );
    }
    stalePid = Number.isInteger(pid) && pid > 0 ? pid : -1;
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
  return { path: file, stalePid, release };
}
