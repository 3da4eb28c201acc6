/**
 * Training checkpoints as one atomic unit (the work-directory lock the CLIs hold while training is run-dir.ts).
 *
 * A checkpoint is a directory (a "slot", e.g. `out/names/latest`):
 *
 *   checkpoint.json            step, best test loss, the batch generator's state, the run's settings
 *   model/model.safetensors, config.json, vocab.json   the model (saved-model.ts: PyTorch's names and
 *                              layouts, config, vocabulary); `loadModel('…/latest/model')` or PyTorch loads it
 *   optimizer/optimizer.safetensors    Adam/AdamW's moments m:<weight>, v:<weight> (our weight names, flat),
 *                              its step in the metadata
 * (Checkpoints of the older form — model.json + weights.bin in both folders — still load, for one release.)
 *
 * Saving writes a complete new directory next to the slot (`.latest.tmp-<pid>-…`), flushes every file
 * and the directory, then renames: the old slot → `latest.prev`, the new one → `latest`, and removes
 * `latest.prev`. A process killed at any moment leaves `latest` complete, or (between the two renames)
 * no `latest` but a complete `latest.prev`, which `resolveCheckpoint` falls back to.
 */
import fs from 'node:fs';
import path from 'node:path';
import { tf } from '../runtime/tf';
import { fsyncDir, writeFileDurable } from '../runtime/durable';
import {
  checkSavedVocabulary,
  checkSha256,
  encodeChecked,
  isLegacySave,
  readHeaderBytes,
  readSavedModelInfo,
  saveWeights,
  loadWeights,
  topologyFile,
  type ReadLimits,
  type SavedTopology,
} from './saved-model';
import { loadLegacyWeights, readLegacyInfo } from './legacy-model';
import { DEFAULT_MAX_WEIGHT_BYTES } from './saved-checks';
import { readJsonFile, readRegularFile, statRegularFile } from '../data/read-checked';
import { decodeSafetensors, parseSafetensorsHeader } from '../data/safetensors';
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

const OPTIMIZER_FILE = 'optimizer.safetensors';

/**
 * Every path inside a checkpoint slot (directories end in '/'): what a work dir's --overwrite may remove
 * from `latest/` and `best/` without asking — the current form's files and the older form's.
 */
export const CHECKPOINT_CONTENTS: readonly string[] = [
  INFO,
  'model/',
  'model/model.safetensors',
  'model/config.json',
  'model/vocab.json',
  'model/model.json',
  'model/weights.bin',
  'optimizer/',
  `optimizer/${OPTIMIZER_FILE}`,
  'optimizer/model.json',
  'optimizer/weights.bin',
];

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

/** Writes the optimizer's moments as optimizer.safetensors: m:<weight>, v:<weight> (flat), the step in the metadata. */
function saveOptimizer(dir: string, s: AdamState): void {
  fs.mkdirSync(dir, { recursive: true });
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [which, table] of [
    ['m', s.m],
    ['v', s.v],
  ] as const)
    for (const [name, a] of Object.entries(table)) tensors[`${which}:${name}`] = { shape: [a.length], data: a };
  const meta = { format: 'sequentia', sequentia_optimizer: 'adam', step: String(s.step) };
  writeFileDurable(path.join(dir, OPTIMIZER_FILE), encodeChecked(tensors, meta));
}

/** The optimizer folder's step and moments' names and sizes (values: m:<weight> → count), no values read. */
function readOptimizerInfo(
  dir: string,
  limits: ReadLimits,
): { where: string; step: number; stepField: string; sizes: Map<string, number> } {
  if (isLegacySave(dir)) {
    const where = path.join(dir, 'model.json');
    const { topology: t, specs } = readLegacyInfo<{ step: number }>(dir, limits);
    if (t.type !== 'adam-state') throw new Error(`${where} is not an optimizer state (type '${t.type}')`);
    const sizes = new Map(specs.map((w) => [w.name, w.shape.reduce((a, b) => a * b, 1)]));
    return { where, step: t.config.step, stepField: 'config.step', sizes };
  }
  const where = path.join(dir, OPTIMIZER_FILE);
  if (!fs.existsSync(where)) throw new Error(`${where} not found: the checkpoint's optimizer state is missing`);
  const size = statRegularFile(where, { maxBytes: 2 * (limits.maxWeightBytes ?? DEFAULT_MAX_WEIGHT_BYTES) });
  const h = parseSafetensorsHeader(where, readHeaderBytes(where, size), size);
  if (h.metadata.sequentia_optimizer !== 'adam')
    throw new Error(`${where} is not an optimizer state (__metadata__.sequentia_optimizer is not 'adam')`);
  const step = /^\d{1,15}$/.test(h.metadata.step ?? '') ? Number(h.metadata.step) : NaN;
  const sizes = new Map(h.entries.map((e) => [e.name, e.shape.reduce((a, b) => a * b, 1)]));
  const bad = h.entries.find((e) => e.dtype !== 'F32' || e.shape.length !== 1);
  if (bad)
    throw new Error(`${where}: unexpected entry '${bad.name}' (${bad.dtype} [${bad.shape}]): moments are flat F32`);
  return { where, step, stepField: '__metadata__.step', sizes };
}

/** Reads the moments saveOptimizer wrote (checkOptimizer has checked them against the model). */
function loadOptimizer(dir: string, limits: ReadLimits = {}): AdamState {
  const { step } = readOptimizerInfo(dir, limits);
  const s: AdamState = { step, m: {}, v: {} };
  const put = (name: string, a: Float32Array) => {
    const m = /^([mv]):(.*)$/.exec(name)!;
    (m[1] === 'm' ? s.m : s.v)[m[2] as string] = a;
  };
  if (isLegacySave(dir)) {
    const { specs, data } = loadLegacyWeights(dir, limits);
    let off = 0;
    for (const w of specs) {
      const n = w.shape.reduce((x, y) => x * y, 1);
      put(w.name, new Float32Array(data.slice(off, off + 4 * n)));
      off += 4 * n;
    }
    return s;
  }
  const file = path.join(dir, OPTIMIZER_FILE);
  const bytes = readRegularFile(file, { maxBytes: 2 * (limits.maxWeightBytes ?? DEFAULT_MAX_WEIGHT_BYTES) });
  checkSha256(file, bytes, parseSafetensorsHeader(file, bytes, bytes.length));
  for (const [name, t] of Object.entries(decodeSafetensors(file, bytes).tensors)) put(name, t.data);
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
    if (c.optimizer) saveOptimizer(path.join(tmp, 'optimizer'), c.optimizer);
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
 * when a save was killed between its two renames; null when there is none. A slot that exists but is
 * not a directory is an error (a checkpoint is always one).
 */
export function resolveCheckpoint(slot: string): string | null {
  if (fs.existsSync(slot)) {
    if (!fs.statSync(slot).isDirectory()) throw new Error(`${slot} is not a directory: not a checkpoint`);
    return slot;
  }
  const prev = `${slot}.prev`;
  if (fs.existsSync(path.join(prev, INFO)) && fs.statSync(prev).isDirectory()) return prev;
  return null;
}

/** What one setting of checkpoint.json must be (see SettingsSpec). */
export interface SettingSpec {
  type: 'integer' | 'number' | 'string' | 'boolean';
  min?: number;
  max?: number;
  /** Absent is fine (settings added after older checkpoints were written). */
  optional?: boolean;
  nullable?: boolean;
  /** For strings: the only values allowed. */
  values?: readonly string[];
}
/** The settings a trainer reads back from its checkpoints, by name (the CLIs derive theirs from their option tables). */
export type SettingsSpec = Record<string, SettingSpec>;

/** Each setting against its spec; the error names the file and `settings.<name>`. */
function checkSettings(file: string, settings: { [key: string]: Json }, spec: SettingsSpec): void {
  for (const [k, s] of Object.entries(spec)) {
    const v = settings[k];
    if (v === undefined && s.optional) continue;
    if (v === null && s.nullable) continue;
    const ok =
      s.type === 'integer'
        ? typeof v === 'number' && Number.isSafeInteger(v)
        : s.type === 'number'
          ? typeof v === 'number' && Number.isFinite(v)
          : typeof v === s.type;
    const inRange =
      typeof v !== 'number' || ((s.min === undefined || v >= s.min) && (s.max === undefined || v <= s.max));
    const allowed = s.values === undefined || (typeof v === 'string' && s.values.includes(v));
    if (!ok || !inRange || !allowed) {
      const want = [
        s.type === 'integer' ? 'a whole number' : `a ${s.type}`,
        s.min !== undefined && s.max !== undefined
          ? `from ${s.min} to ${s.max}`
          : s.min !== undefined
            ? `≥ ${s.min}`
            : s.max !== undefined
              ? `≤ ${s.max}`
              : '',
        s.values ? `(${s.values.join(', ')})` : '',
        s.nullable ? 'or null' : '',
      ]
        .filter(Boolean)
        .join(' ');
      throw new Error(`${file}: settings.${k} is ${JSON.stringify(v)?.slice(0, 80) ?? 'missing'}, expected ${want}`);
    }
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** checkpoint.json's fields; the error names the file and the field. */
function checkInfo(file: string, x: unknown): CheckpointInfo {
  const i = isRecord(x) ? (x as Partial<CheckpointInfo>) : null;
  const rng = i?.batchRng as unknown;
  const problem =
    !i || i.sequentiaCheckpoint !== 1
      ? 'not a Sequentia checkpoint (sequentiaCheckpoint: 1 missing)'
      : !Number.isSafeInteger(i.step) || (i.step as number) < 0
        ? `bad step ${JSON.stringify(i.step)}`
        : i.bestTestLoss !== null && (typeof i.bestTestLoss !== 'number' || !Number.isFinite(i.bestTestLoss))
          ? `bad bestTestLoss ${JSON.stringify(i.bestTestLoss)}`
          : rng !== null &&
              (!isRecord(rng) ||
                rng.algorithm !== 'xor4096' ||
                !Array.isArray(rng.X) ||
                rng.X.length !== 128 ||
                !rng.X.every((v) => Number.isInteger(v)) ||
                !Number.isInteger(rng.i) ||
                !Number.isInteger(rng.w))
            ? 'bad batchRng (expected null or an xor4096 state: algorithm, X of 128 whole numbers, i, w)'
            : !isRecord(i.settings)
              ? 'settings missing'
              : i.trainer !== undefined && !isRecord(i.trainer)
                ? `bad trainer ${JSON.stringify(i.trainer)?.slice(0, 80)}`
                : null;
  if (problem) throw new Error(`${file}: ${problem}`);
  return i as CheckpointInfo;
}

/** What readCheckpoint checks besides the files themselves. */
export interface ReadCheckpointOptions extends ReadLimits {
  /** The trainer's settings (e.g. makemore's MAKEMORE_SETTINGS_SPEC): each checked before any is used. */
  settings?: SettingsSpec;
}

/**
 * The optimizer's moments against the model's weights: every entry is `m:<weight>` or `v:<weight>` of a
 * weight the model has, with as many values; m and v cover the same weights. Checked before anything is read.
 */
function checkOptimizer(dir: string, model: { name: string; shape: number[] }[], limits: ReadLimits): void {
  const { where, step, stepField, sizes: moments } = readOptimizerInfo(dir, limits);
  if (!Number.isSafeInteger(step) || step < 0)
    throw new Error(`${where}: ${stepField} is ${JSON.stringify(step)}, expected a whole number ≥ 0`);
  const sizes = new Map(model.map((w) => [w.name, w.shape.reduce((a, b) => a * b, 1)]));
  const names = { m: new Set<string>(), v: new Set<string>() };
  for (const [entry, n] of moments) {
    const m = /^([mv]):(.*)$/.exec(entry);
    if (!m) throw new Error(`${where}: unexpected entry '${entry}' (expected m:<weight> or v:<weight>)`);
    const name = m[2] as string;
    const size = sizes.get(name);
    if (size === undefined) throw new Error(`${where}: moments for '${name}', which the model does not have`);
    if (n !== size) throw new Error(`${where}: '${entry}' has ${n} values, the weight '${name}' has ${size}`);
    names[m[1] as 'm' | 'v'].add(name);
  }
  const odd = [...names.m].filter((k) => !names.v.has(k)).concat([...names.v].filter((k) => !names.m.has(k)));
  if (odd.length) throw new Error(`${where}: '${odd[0]}' has one moment (m or v) without the other`);
}

/**
 * Reads a checkpoint's JSON parts (checkpoint.json, the model's and the optimizer's model.json) and
 * checks every part against the others before anything is built: info fields, settings (with
 * `opts.settings`), the config's bounds against the weights manifest, the manifests against the
 * weight files' sizes, the vocabulary against the config, the optimizer's moments against the model's
 * weights. Cheap (no weights are read): for checking flags first.
 */
export function readCheckpoint<C>(
  dir: string,
  opts: ReadCheckpointOptions = {},
): { info: CheckpointInfo; topology: SavedTopology<C> } {
  const file = path.join(dir, INFO);
  if (!fs.existsSync(file)) throw new Error(`${file} not found: ${dir} is not a complete checkpoint`);
  const info = checkInfo(
    file,
    readJsonFile(file, { maxBytes: opts.maxJsonBytes, hint: ': the checkpoint is corrupt' }),
  );
  if (opts.settings) checkSettings(file, info.settings, opts.settings);
  const modelDir = path.join(dir, 'model');
  const { topology, specs } = readSavedModelInfo<C>(modelDir, opts);
  const jsonPath = topologyFile(modelDir);
  checkSavedVocabulary(modelDir, topology);
  // A trainer may build its model from settings (the novel's nEmbd, nHidden): they must be the config's.
  const config = topology.config as Record<string, unknown>;
  for (const [k, v] of Object.entries(info.settings))
    if (typeof v === 'number' && typeof config[k] === 'number' && config[k] !== v)
      throw new Error(`${file}: settings.${k} is ${v}, but config.${k} in ${jsonPath} is ${String(config[k])}`);
  const optDir = path.join(dir, 'optimizer');
  if (fs.existsSync(optDir)) checkOptimizer(optDir, specs, opts);
  return { info, topology };
}

/**
 * Loads a whole checkpoint. `expect` (the model's namedWeights()) checks the weights' and the moments'
 * names and shapes; every mismatch, truncation or corruption is an error naming the file. The caller
 * disposes the returned weights. Everything readCheckpoint checks is checked before any weight is read.
 */
export async function loadCheckpoint<C>(
  dir: string,
  expect?: Record<string, { shape: readonly number[] }>,
  opts: ReadCheckpointOptions = {},
): Promise<Checkpoint<C>> {
  const { info, topology } = readCheckpoint<C>(dir, opts);
  const { weights } = await loadWeights<C>(path.join(dir, 'model'), { ...opts, expect });
  try {
    const optDir = path.join(dir, 'optimizer');
    const optimizer = fs.existsSync(optDir) ? loadOptimizer(optDir, opts) : null;
    const { sequentiaCheckpoint: _v, savedAt: _t, ...rest } = info;
    return { topology, weights, optimizer, info: rest };
  } catch (e) {
    tf.dispose(Object.values(weights));
    throw e;
  }
}
