/**
 * makemore's phases before training, each checking its inputs before any work: the work dir and the
 * checkpoint's JSON, the data, the lock.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { loadWords } from '../../../lib/data/files';
import { Vocab } from '../../../lib/data/vocab';
import { sequenceBlockSize } from '../../../lib/data/sequences';
import { makemoreData, type MakemoreData } from '../../../lib/data/setups';
import { isZooType } from '../../../lib/models/registry';
import {
  checkZooConfig,
  DEFAULT_CONFIG,
  defaultConfig,
  zooParamCount,
  type ZooConfig,
} from '../../../lib/models/zoo/config';
import {
  CHECKPOINT_CONTENTS,
  readCheckpoint,
  resolveCheckpoint,
  type CheckpointInfo,
  MAKEMORE_SETTINGS_SPEC,
} from '../../../lib/train/checkpoint';
import {
  checkRunDir,
  checkWorkDir,
  claimRunDir,
  WorkDirError,
  type Lock,
  type RunIntent,
} from '../../../lib/train/run-dir';
import type { SavedTopology } from '../../../lib/train/saved-model';
import { MAX_MODEL_PARAMS } from '../flags';
import { usageExit, type Args, type ExitCode } from './args';

/** The run's settings kept in checkpoint.json: --resume takes them unless a flag is given. */
export interface Settings {
  input: string;
  seed: number;
  initSeed: number | null;
  batchSize: number;
  learningRate: number;
  weightDecay: number;
  evalEvery: number;
  maxSteps: number;
  workers: number;
  words: number;
  dataSha256: string;
  /** Absent in checkpoints of older runs: 0 (no clipping) and 'all'. */
  gradClip?: number;
  decay?: 'all' | 'linear';
  lrDrop?: number | null;
}

/**
 * What a run does with its work dir: the entries it writes (latest.prev/best.prev: a save killed between
 * its renames), and model/, optimizer/ of older versions, which --overwrite never removes.
 */
function runIntent(a: Args): RunIntent {
  return {
    tool: 'makemore',
    flag: '--work-dir',
    entries: ['latest', 'latest.prev', 'best', 'best.prev', 'log.jsonl', 'log.csv', 'loss.html', 'plotly.min.js'],
    older: ['model', 'optimizer'],
    contents: Object.fromEntries(['latest', 'latest.prev', 'best', 'best.prev'].map((n) => [n, CHECKPOINT_CONTENTS])),
    resume: a.resume,
    overwrite: a.overwrite,
  };
}

export function rel(p: string): string {
  const r = path.relative(process.cwd(), p);
  return r === '' ? '.' : r.startsWith('..') ? p : r;
}

/** Where a run keeps its state. */
export interface RunPaths {
  workDir: string;
  latestSlot: string;
  bestSlot: string;
}

/** The checkpoint a --resume or --sample-only run starts from (its JSON only: the tensors are loaded in phase 4). */
export interface Resumed {
  from: string;
  saved: { info: CheckpointInfo; topology: SavedTopology<ZooConfig> };
  settings: Settings;
}

/** The words, their split and the model's shape. */
export interface RunData {
  words: string[];
  dataSha256: string;
  vocab: Vocab;
  blockSize: number;
  config: ZooConfig;
  data: MakemoreData;
}

export function runPaths(dir: string): RunPaths {
  const workDir = path.resolve(dir);
  return { workDir, latestSlot: path.join(workDir, 'latest'), bestSlot: path.join(workDir, 'best') };
}

/**
 * 1. The checkpoint's JSON (cheap) — before anything else, so flags are checked before any work: with
 * --resume or --sample-only the checkpoint (its settings fill in the flags not given); a fresh run must
 * not clobber another one. Then the flags that depend on the model.
 */
export function checkRunState(a: Args, paths: RunPaths): Resumed | null | ExitCode {
  let resumed: Resumed | null = null;
  try {
    // a file, an unwritable place, or (fresh) another run or someone else's files where ours would go
    if (!a.sampleOnly) {
      checkWorkDir('--work-dir', a.workDir);
      checkRunDir(paths.workDir, runIntent(a));
    }
  } catch (e) {
    if (e instanceof WorkDirError) return usageExit(e.message);
    throw e;
  }
  if (a.resume || a.sampleOnly) {
    const r = readResumeState(a, paths);
    if (typeof r === 'number') return r;
    resumed = r;
  }
  if (a.workers === 2 && a.type === 'wavenet')
    return usageExit(
      "--workers 2 splits every batch in two, but WaveNet's BatchNorm needs the whole batch's statistics: use --workers 1",
    );
  if (a.workers === 2 && a.batchSize < 2)
    return usageExit(`--workers 2 splits every batch in two: it needs --batch-size ≥ 2, got ${a.batchSize}`);
  if (a.type === 'transformer') {
    const cfg = resumed?.saved.topology.config ?? {
      ...DEFAULT_CONFIG,
      ...(a.nHead ? { nHead: a.nHead } : {}),
      ...(a.nEmbd ? { nEmbd: a.nEmbd } : {}),
    };
    if (cfg.nEmbd % cfg.nHead !== 0)
      return usageExit(`the transformer needs --n-embd (${cfg.nEmbd}) divisible by --n-head (${cfg.nHead})`);
  }
  return resumed;
}

/** The checkpoint's JSON, its settings checked against the flags given and taken for the flags not given. */
function readResumeState(a: Args, paths: RunPaths): Resumed | ExitCode {
  const from = findCheckpoint(a, paths);
  const saved = readCheckpoint<ZooConfig>(from, { settings: MAKEMORE_SETTINGS_SPEC });
  const settings = saved.info.settings as unknown as Settings;
  const conflicts = checkpointConflicts(a, saved.topology, settings);
  if (conflicts.length)
    return usageExit(
      `these flags contradict the checkpoint in ${rel(from)}:\n  ${conflicts.join('\n  ')}\nleave them out (the checkpoint's values are used) or start a new run (another --work-dir, or --overwrite)`,
    );
  adoptCheckpointSettings(a, from, saved.topology, settings);
  return { from, saved, settings };
}

/** The checkpoint to start from: latest/ (--resume), best/ or else latest/ (--sample-only); none is an error. */
function findCheckpoint(a: Args, { workDir, latestSlot, bestSlot }: RunPaths): string {
  const from = a.sampleOnly
    ? (resolveCheckpoint(bestSlot) ?? resolveCheckpoint(latestSlot))
    : resolveCheckpoint(latestSlot);
  if (!from) {
    const old = fs.existsSync(path.join(workDir, 'model', 'model.json'))
      ? ` (${rel(path.join(workDir, 'model'))} is a checkpoint of an older makemore, which kept no batch generator state: it cannot be resumed exactly)`
      : '';
    throw new Error(
      `no checkpoint in ${rel(workDir)}: ${rel(path.join(latestSlot, 'checkpoint.json'))} not found${old}; train first (without --resume)`,
    );
  }
  if (from.endsWith('.prev'))
    console.log(`${rel(from)}: using the previous checkpoint (a save was interrupted before it completed)`);
  return from;
}

/** The flags given that contradict the checkpoint (model type and size, seeds). */
function checkpointConflicts(a: Args, topology: SavedTopology<ZooConfig>, settings: Settings): string[] {
  const cfg = topology.config;
  const conflicts: string[] = [];
  const conflict = (flag: string, given: unknown, theirs: unknown) => {
    if (given !== undefined && given !== theirs)
      conflicts.push(`--${flag} ${String(given)}, but the checkpoint's is ${String(theirs)}`);
  };
  if (a.explicit.has('type')) conflict('type', a.type, topology.type);
  conflict('n-layer', a.nLayer, cfg.nLayer);
  conflict('n-head', a.nHead, cfg.nHead);
  conflict('n-embd', a.nEmbd, cfg.nEmbd);
  conflict('n-embd2', a.nEmbd2, cfg.nEmbd2);
  conflict('dropout', a.dropout, cfg.dropout ?? 0);
  conflict('init', a.init, cfg.init ?? 'torch');
  if (a.explicit.has('seed')) conflict('seed', a.seed, settings.seed);
  if (a.explicit.has('init-seed')) conflict('init-seed', a.initSeed, settings.initSeed ?? settings.seed);
  return conflicts;
}

/** Flags not given: the checkpoint's (with --resume, the changed ones are reported). Updates `a`. */
function adoptCheckpointSettings(a: Args, from: string, topology: SavedTopology<ZooConfig>, settings: Settings): void {
  const changed: string[] = [];
  const take = <K extends keyof Args>(flag: string, key: K, theirs: Args[K]) => {
    if (!a.explicit.has(flag)) a[key] = theirs;
    else if (a[key] !== theirs)
      changed.push(`--${flag} ${String(a[key])} (the run so far: ${String(theirs ?? 'none')})`);
  };
  take('input', 'input', settings.input);
  a.seed = settings.seed;
  a.initSeed = settings.initSeed ?? undefined;
  const savedType = topology.type;
  if (!isZooType(savedType)) throw new Error(`${rel(from)}: the checkpoint holds an unknown model type '${savedType}'`);
  a.type = savedType;
  if (a.resume) {
    take('batch-size', 'batchSize', settings.batchSize);
    take('learning-rate', 'lr', settings.learningRate);
    take('weight-decay', 'wd', settings.weightDecay);
    take('workers', 'workers', settings.workers);
    take('grad-clip', 'gradClip', settings.gradClip ?? 0);
    take('decay', 'decay', settings.decay ?? 'all');
    take('lr-drop', 'lrDrop', settings.lrDrop ?? undefined);
    if (!a.explicit.has('max-steps')) a.maxSteps = settings.maxSteps;
    if (!a.explicit.has('eval-every')) a.evalEvery = settings.evalEvery;
    if (changed.length)
      console.log(`resuming with ${changed.join(', ')}: from here on the run differs from one that was never stopped`);
  }
}

/**
 * 2. The data, checked before any training: enough words for a test set and, from a checkpoint, the
 * checkpoint's vocabulary and no word longer than its block size.
 */
export function loadData(a: Args, resumed: Resumed | null): RunData | ExitCode {
  const words = loadWords(a.input, { maxWordLength: a.maxWordLength });
  const nTest = Math.min(1000, Math.floor(words.length * 0.1));
  if (nTest < 1)
    throw new Error(
      `${a.input} has ${words.length} words: makemore keeps 10 % of them (at most 1,000) as the test set, so it needs at least 10 words (here: ${words.length - nTest} train / ${nTest} test)`,
    );
  const dataSha256 = createHash('sha256').update(words.join('\n')).digest('hex');
  const boundary = words.some((w) => w.includes('.')) ? '\u0000' : '.';
  let vocab = Vocab.fromWords(words, boundary);
  const longest = sequenceBlockSize(words) - 1;
  let blockSize = longest + 1;
  let config: ZooConfig = { ...defaultConfig(a.type), vocabSize: vocab.size, blockSize };
  for (const [k, v] of [
    ['nLayer', a.nLayer],
    ['nHead', a.nHead],
    ['nEmbd', a.nEmbd],
    ['nEmbd2', a.nEmbd2],
    ['dropout', a.dropout],
    ['init', a.init],
  ] as const)
    if (v !== undefined) config = { ...config, [k]: v };
  if (resumed) {
    const { from, settings } = resumed;
    const t = resumed.saved.topology;
    if (t.itos.join('') !== vocab.itos.join('') || t.boundary !== vocab.boundary) {
      return usageExit(
        `--input ${a.input} has the vocabulary ${JSON.stringify(vocab.itos.join(''))} (${vocab.size} symbols), the checkpoint in ${rel(from)} ${JSON.stringify(t.itos.join(''))} (${t.itos.length} symbols): it was trained on other data`,
      );
    }
    vocab = new Vocab(t.itos, t.boundary);
    config = t.config;
    blockSize = config.blockSize;
    if (longest + 1 > blockSize) {
      const i = words.findIndex((w) => [...w].length === longest);
      throw new Error(
        `${a.input}: '${words[i]}' (word ${i + 1}) has ${longest} characters, but the model in ${rel(from)} takes at most ${blockSize - 1} (block size ${blockSize})`,
      );
    }
    if (a.resume && settings.dataSha256 !== dataSha256)
      console.log(
        `note: ${a.input} (${words.length} words) is not the data this run was trained on (${settings.words} words): the split and batches differ from here on`,
      );
  }
  const tooBig = checkModelSize(a.type, config);
  if (tooBig) return usageExit(tooBig);
  const data = makemoreData(words, { vocab, blockSize, seed: a.seed });
  console.log(
    `${words.length} words, ${vocab.size} symbols (${JSON.stringify(vocab.itos.slice(1).join(''))}), block size ${blockSize}; ${data.split.train.length} train / ${data.split.test.length} test`,
  );
  return { words, dataSha256, vocab, blockSize, config, data };
}

/** Why the model the flags describe cannot be built (a size out of range, too many parameters), or null. */
function checkModelSize(type: string, config: ZooConfig): string | null {
  const flag = (key: string) => `--${key.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)}`;
  try {
    checkZooConfig('flags', type, config);
  } catch (e) {
    return (e as Error).message.replace(/^flags: config\.(\w+)/, (_, key: string) => flag(key));
  }
  const n = zooParamCount(type, config);
  if (n > MAX_MODEL_PARAMS)
    return `a ${type} with ${['nLayer', 'nHead', 'nEmbd', 'nEmbd2'].map((k) => `${flag(k)} ${config[k as keyof ZooConfig]}`).join(' ')} and block size ${config.blockSize} has ${n.toLocaleString('en-US')} parameters, more than the ${MAX_MODEL_PARAMS.toLocaleString('en-US')} this CLI builds`;
  return null;
}

/** 3. The lock, then (with --overwrite) the old run's files, then the marker. */
export function takeLock(a: Args, workDir: string): Lock | ExitCode {
  try {
    const { lock, removed } = claimRunDir(workDir, runIntent(a));
    if (lock.stale) console.log(`removed a stale lock ${rel(lock.path)} (${lock.stale})`);
    if (removed.length) console.log(`--overwrite: removed ${removed.join(', ')} from ${rel(workDir)}`);
    return lock;
  } catch (e) {
    if (e instanceof WorkDirError) return usageExit(e.message);
    throw e;
  }
}
