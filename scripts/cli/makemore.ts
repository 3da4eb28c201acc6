/**
 * makemore for Sequentia: train any model of the zoo on a one-word-per-line file, checkpoint the best
 * and the latest state, resume exactly, sample.
 *
 *   npm run makemore -- --type transformer --input data/names.txt --work-dir out/names --max-steps 2000
 *   npm run makemore -- --work-dir out/names --resume --max-steps 4000
 *   npm run makemore -- --work-dir out/names --sample-only --num-samples 20 --temperature 0.8
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { tf, initTf } from '../../lib/runtime/tf';
import { DEFAULT_MAX_WORD_LENGTH, loadWords } from '../../lib/data/files';
import { Vocab } from '../../lib/data/vocab';
import { sequenceBlockSize, takeSequences, type Sequences } from '../../lib/data/sequences';
import { makemoreData, type MakemoreData } from '../../lib/data/setups';
import { MAKEMORE_BATCH_SIZE, MAKEMORE_TRAINING } from '../../lib/models/presets';
import { createOptimizer, type Adam } from '../../lib/train/optimizers';
import { DataParallel, dropoutRng } from '../../lib/train/parallel';
import { Transformer } from '../../lib/models/zoo/transformer';
import { readLossLog } from '../../lib/train/curves';
import { isZooType, zooModel, ZOO_TYPES } from '../../lib/models/registry';
import {
  checkZooConfig,
  DEFAULT_CONFIG,
  defaultConfig,
  zooParamCount,
  type ZooConfig,
} from '../../lib/models/zoo/config';
import { type LanguageModel } from '../../lib/models/language-model';
import { generateWordsStream } from '../../lib/sample/generate';
import {
  CHECKPOINT_CONTENTS,
  loadCheckpoint,
  optimizerStateByName,
  readCheckpoint,
  resolveCheckpoint,
  restoreOptimizer,
  saveCheckpoint,
  type CheckpointInfo,
  MAKEMORE_SETTINGS_SPEC,
  type Json,
} from '../../lib/train/checkpoint';
import {
  appendLine,
  checkRunDir,
  checkWorkDir,
  claimRunDir,
  savingStep,
  truncateCsvLog,
  truncateJsonLog,
  WorkDirError,
  type Lock,
  type RunIntent,
} from '../../lib/train/run-dir';
import type { SavedTopology } from '../../lib/train/saved-model';
import { TorchGenerator } from '../../lib/random/torch-generator';
import { FastGenerator } from '../../lib/random/fast-generator';
import { stopOnSignals } from '../../lib/runtime/interrupt';
import { exitWhenFlushed } from './exit';
import { MAX_MODEL_PARAMS, numberFlag, parseFlags, UsageError, type NumberRule } from './flags';
import { train, formatDuration } from '../../lib/train/loop';
import { evaluateSequences } from '../../lib/train/evaluate';
import { sampleSequences, sequenceBatch } from '../../lib/data/batches';
import { lineChart, plotlyJsPath } from '../../lib/viz/plots';
import { standaloneHtml } from '../../lib/viz/export';

const USAGE = `usage: npm run makemore -- [options]
  --input FILE          one word per line (default data/names.txt; at least 10 words: 10 % are the test set;
                        a regular UTF-8 file of at most 256 MiB)
  --max-word-length N   a longer word is an error naming its line (default ${DEFAULT_MAX_WORD_LENGTH}): the longest word sets
                        the block size, so one stray line would make every step slow
  --work-dir DIR        checkpoints, logs and the loss chart (default out/makemore)
  --type T              ${ZOO_TYPES.join(' | ')} (default transformer)
  --max-steps N         train until step N, counted from the start of the run (default 2000;
                        -1 = until interrupted). With --resume: the step to continue to.
  --resume              continue the run in --work-dir from its latest state, bit for bit; flags not
                        given are the checkpoint's, flags that contradict it (--type, --n-*, --seed,
                        --init-seed, another vocabulary in --input) are an error
  --overwrite           start a new run in a --work-dir that holds one (replaces its checkpoints and logs)
  --sample-only         only print samples from the best checkpoint
  --seed N              (default 3407) seeds the split, the initialisation and the batches
  --init-seed N         reseeds the initialisation and the batches only (same test set, another run)
  --batch-size N        (default 32)      --learning-rate X   (default 5e-4)
  --weight-decay X      (default 0.01)    --eval-every N      (default 500)
  --n-layer N --n-head N --n-embd N --n-embd2 N   model size (defaults 4, 4, 64, 64; wavenet: n_layer 3
                        levels fusing pairs = context 8, n_embd 24, n_embd2 128 hidden, as the lecture)
  --grad-clip X         clip the gradients' global norm to X before each update (default 0: never)
  --lr-drop STEP        from step STEP on, the learning rate is a tenth (a step decay; default: never)
  the transformer only:
  --dropout P           on the embeddings, attention weights and residual branches (default 0)
  --init torch|gpt      PyTorch's default initialisation, or minGPT's N(0, 0.02) (default torch)
  --decay all|linear    weight decay on every parameter, or on Linear weights only (minGPT) (default all)
  --june-2022           makemore's first version's settings, for which its README quotes test loss ~1.92:
                        --dropout 0.1 --weight-decay 0.1 --decay linear --grad-clip 1 --init gpt --seed 1337
                        (flags given as well win)
  --num-samples N       (default 10; any number, drawn 1,000 at a time)   --top-k N
  --temperature X       (default 1; 0: greedy, the most likely character every time)
  --workers 1|2         1 (default): the fused step (lib/fused; with dropout the tfjs ops), its larger
                        matrix products on two threads (SEQUENTIA_THREADS=1: one). 2: the batch split over two
                        threads, each half fused (with dropout the tfjs ops) on one core (needs
                        --batch-size ≥ 2); about as fast (docs/benchmark.md). Results differ in float rounding only.
  --help

work dir:  latest/   the state after the last evaluation or stop: model/ (loadModel('…/latest/model') in a notebook),
                     optimizer/ (AdamW moments), checkpoint.json (step, best test loss, batch generator
                     state, settings) — what --resume continues from
           best/     the same for the lowest test loss (without optimizer/) — what --sample-only uses
           log.jsonl, log.csv, loss.html   one row per evaluation;  .lock   the run in progress (PID, start)
           .sequentia-run.json   the marker: the entries a makemore run wrote here
  Checkpoints are written to a temporary directory and renamed into place: a killed run keeps the last
  complete one. Evaluations (and saves) happen every --eval-every steps, at --max-steps and on Ctrl-C.
  Ctrl-C, SIGTERM and SIGHUP (the terminal closed) stop after the current step, save latest/ and exit
  130, 143 and 129; a second signal quits at once. --overwrite removes only entries the work dir's
  .sequentia-run.json marker lists as this tool's; anything else of those names is left and named.

exit codes: 0 done · 1 missing, unreadable or unusable files (input, checkpoint), or a save that failed
  (the message names the file and the step) · 2 bad or contradicting flags, a work dir that is a file,
  not writable, holds a run (without --resume/--overwrite) or someone else's files, or is locked ·
  129 / 130 / 143 stopped by SIGHUP / Ctrl-C / SIGTERM (latest/ saved)`;

/** Flags that take a value; any other flag is a usage error (exit 2). */
const STRING_OPTS = [
  'input',
  'input-file',
  'work-dir',
  'type',
  'max-steps',
  'seed',
  'batch-size',
  'learning-rate',
  'weight-decay',
  'eval-every',
  'n-layer',
  'n-head',
  'n-embd',
  'n-embd2',
  'num-samples',
  'temperature',
  'top-k',
  'workers',
  'init-seed',
  'grad-clip',
  'dropout',
  'init',
  'decay',
  'lr-drop',
  'max-word-length',
] as const;
const BOOL_OPTS = ['resume', 'overwrite', 'sample-only', 'june-2022', 'help'] as const;
const DEFAULTS = {
  input: 'data/names.txt',
  'work-dir': 'out/makemore',
  type: 'transformer',
  'max-steps': '2000',
  seed: '3407',
  'batch-size': String(MAKEMORE_BATCH_SIZE),
  'learning-rate': String(MAKEMORE_TRAINING.learningRate),
  'weight-decay': String(MAKEMORE_TRAINING.weightDecay),
  'eval-every': '500',
  'num-samples': '10',
  temperature: '1',
  workers: '1',
  'grad-clip': '0',
  decay: 'all',
  'max-word-length': String(DEFAULT_MAX_WORD_LENGTH),
};

/** --june-2022: makemore's settings of June 2022 (its git history: the first commit to 2022-08-20). */
const JUNE_2022 = {
  dropout: '0.1',
  'weight-decay': '0.1',
  decay: 'linear',
  'grad-clip': '1',
  init: 'gpt',
  seed: '1337',
} as const;

function num(v: string | undefined, name: string, rule: NumberRule = {}): number | undefined {
  return v === undefined ? undefined : numberFlag(name, v, rule);
}

/** Batches beyond this would only exhaust memory: makemore trains with 32. */
const MAX_BATCH = 65_536;

function parse(argv: readonly string[]) {
  const { values, explicit } = parseFlags(argv, STRING_OPTS, BOOL_OPTS, [], ['input', 'input-file', 'work-dir']);
  if (explicit.has('input-file')) explicit.add('input');
  const june = values['june-2022'] === true;
  const str = (k: keyof typeof DEFAULTS | (typeof STRING_OPTS)[number]) =>
    (values[k] as string | undefined) ??
    (june ? (JUNE_2022 as Record<string, string>)[k] : undefined) ??
    (DEFAULTS as Record<string, string>)[k];
  const type = str('type') as string;
  if (!isZooType(type)) throw new UsageError(`unknown model type '${type}': choose one of ${ZOO_TYPES.join(', ')}`);
  const temperature = num(str('temperature'), 'temperature')!;
  if (!(temperature >= 0)) throw new UsageError(`--temperature must be ≥ 0 (0: greedy), got '${str('temperature')}'`);
  const workers = num(str('workers'), 'workers', { int: true, min: 1 })!;
  const init = str('init');
  if (init !== undefined && init !== 'torch' && init !== 'gpt')
    throw new UsageError(`--init must be torch or gpt, got '${init}'`);
  const decay = str('decay')!;
  if (decay !== 'all' && decay !== 'linear') throw new UsageError(`--decay must be all or linear, got '${decay}'`);
  const dropout = num(str('dropout'), 'dropout', { min: 0 });
  if (dropout !== undefined && !(dropout < 1))
    throw new UsageError(`--dropout must be in [0, 1), got '${str('dropout')}'`);
  if (workers > 2) throw new UsageError(`--workers must be 1 or 2, got '${str('workers')}'`);
  const a = {
    explicit,
    workers,
    initSeed: num(str('init-seed'), 'init-seed', { int: true, min: 0 }),
    help: values.help === true,
    input: (values['input-file'] as string | undefined) ?? str('input')!,
    workDir: str('work-dir')!,
    type,
    maxSteps: num(str('max-steps'), 'max-steps', { int: true, min: 1, allowNegOne: true })!,
    resume: values.resume === true,
    overwrite: values.overwrite === true,
    sampleOnly: values['sample-only'] === true,
    seed: num(str('seed'), 'seed', { int: true, min: 0 })!,
    batchSize: num(str('batch-size'), 'batch-size', { int: true, min: 1, max: MAX_BATCH })!,
    lr: num(str('learning-rate'), 'learning-rate', { min: 0 })!,
    wd: num(str('weight-decay'), 'weight-decay', { min: 0 })!,
    evalEvery: num(str('eval-every'), 'eval-every', { int: true, min: 1 })!,
    nLayer: num(str('n-layer'), 'n-layer', { int: true, min: 1 }),
    nHead: num(str('n-head'), 'n-head', { int: true, min: 1 }),
    nEmbd: num(str('n-embd'), 'n-embd', { int: true, min: 1 }),
    nEmbd2: num(str('n-embd2'), 'n-embd2', { int: true, min: 1 }),
    numSamples: num(str('num-samples'), 'num-samples', { int: true, min: 0 })!,
    temperature,
    topK: num(str('top-k'), 'top-k', { int: true, min: 1 }),
    gradClip: num(str('grad-clip'), 'grad-clip', { min: 0 })!,
    lrDrop: num(str('lr-drop'), 'lr-drop', { int: true, min: 1 }),
    dropout,
    init: init as 'torch' | 'gpt' | undefined,
    decay: decay as 'all' | 'linear',
    maxWordLength: num(str('max-word-length'), 'max-word-length', { int: true, min: 1 })!,
  };
  if (june) for (const k of Object.keys(JUNE_2022)) explicit.add(k);
  if (a.type !== 'transformer')
    for (const [flag, given] of [
      ['dropout', a.dropout !== undefined && a.dropout > 0],
      ['init', a.init === 'gpt'],
      ['decay', a.decay === 'linear'],
    ] as const)
      if (given && explicit.has(flag))
        throw new UsageError(
          `--${flag} is the transformer's only (--type ${a.type})${june ? ' (set by --june-2022)' : ''}`,
        );
  if (a.resume && a.overwrite)
    throw new UsageError('--resume continues the run in --work-dir, --overwrite replaces it: give one of them');
  if (a.sampleOnly && (a.resume || a.overwrite))
    throw new UsageError('--sample-only only reads the checkpoint: it does not go with --resume or --overwrite');
  return a;
}

type Args = ReturnType<typeof parse>;

/** The run's settings kept in checkpoint.json: --resume takes them unless a flag is given. */
interface Settings {
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

function evaluate(model: LanguageModel, d: Sequences): number {
  return evaluateSequences((X, Y) => model.forward(X, Y).loss!, d, { chunk: 100, maxRows: 1000 });
}

/** Rows drawn together: all of them up to this (makemore's generate), so memory stays flat for any --num-samples. */
const SAMPLE_BATCH = 1000;

/**
 * Samples tagged by the split they occur in (makemore's print_samples): grouped by tag up to
 * SAMPLE_BATCH samples; beyond, printed as they are drawn, a batch at a time, with a tally at the end.
 */
function printSamples(
  model: LanguageModel,
  vocab: Vocab,
  blockSize: number,
  train: Set<string>,
  test: Set<string>,
  count: number,
  rng: TorchGenerator,
  opts: { temperature: number; topK?: number },
): void {
  if (count === 0) return;
  // makemore's generate: rows together, a fixed length (cut at the first boundary), cropped context
  const stream = generateWordsStream(model, vocab, rng, {
    ...opts,
    count,
    maxLength: blockSize - 1,
    batch: Math.min(count, SAMPLE_BATCH),
    stopAtBoundary: false,
  });
  const tagOf = (w: string) => (train.has(w) ? 'in train' : test.has(w) ? 'in test' : 'new');
  console.log('-'.repeat(60));
  if (count <= SAMPLE_BATCH) {
    const tagged = { 'in train': [] as string[], 'in test': [] as string[], new: [] as string[] };
    for (const words of stream) for (const w of words) tagged[tagOf(w)].push(w);
    for (const [tag, ws] of Object.entries(tagged)) {
      console.log(`${ws.length} samples that are ${tag}:`);
      for (const w of ws) console.log(`  ${w}`);
    }
  } else {
    const tally = { 'in train': 0, 'in test': 0, new: 0 };
    for (const words of stream)
      for (const w of words) {
        const tag = tagOf(w);
        tally[tag]++;
        console.log(`  ${w}  (${tag})`);
      }
    console.log(`${tally['in train']} in train, ${tally['in test']} in test, ${tally.new} new`);
  }
  console.log('-'.repeat(60));
}

function rel(p: string): string {
  const r = path.relative(process.cwd(), p);
  return r === '' ? '.' : r.startsWith('..') ? p : r;
}

const LOG_CSV_HEADER = 'step,train_loss,test_loss,batch_loss';

/** An exit code for main(): the phase that returns one has already said why. */
type ExitCode = number;

/** Where a run keeps its state. */
interface RunPaths {
  workDir: string;
  latestSlot: string;
  bestSlot: string;
}

/** The checkpoint a --resume or --sample-only run starts from (its JSON only: the tensors are loaded in phase 4). */
interface Resumed {
  from: string;
  saved: { info: CheckpointInfo; topology: SavedTopology<ZooConfig> };
  settings: Settings;
}

/** The words, their split and the model's shape. */
interface RunData {
  words: string[];
  dataSha256: string;
  vocab: Vocab;
  blockSize: number;
  config: ZooConfig;
  data: MakemoreData;
}

/** The model and optimizer, and where training continues from. */
interface Trainee {
  model: LanguageModel;
  opt: Adam;
  startStep: number;
  best: number;
  batchRng: FastGenerator;
}

/** What training changes as it goes (read by every save, so that a resumed run continues exactly). */
interface Progress {
  step: number;
  best: number;
  readonly batchRng: FastGenerator;
  /** The step latest/ holds. */
  savedAt: number;
  /** Steps run by this process. */
  ran: number;
}

/** Ctrl-C and SIGTERM: quit before training, stop after the current step during it. */
type Signals = ReturnType<typeof stopOnSignals>;

/** Prints `count` samples drawn with `rng`, tagged by the split they occur in. */
type PrintSamples = (count: number, rng: TorchGenerator) => void;

/** Everything training reads that stays the same for the whole run. */
interface TrainContext {
  a: Args;
  paths: RunPaths;
  run: RunData;
  model: LanguageModel;
  opt: Adam;
  samples: PrintSamples;
  logPath: string;
  saveLatest: (step: number) => Promise<void>;
  saveBest: (step: number) => Promise<void>;
}

/** A usage problem found after parsing (contradicting flags, a work dir in use): the message, exit 2. */
function usageExit(msg: string): ExitCode {
  console.error(`makemore: ${msg}`);
  return 2;
}

/** The flags; a bad one prints the message and the usage (exit 2). */
function parseCommandLine(argv: readonly string[]): Args | ExitCode {
  try {
    return parse(argv);
  } catch (e) {
    console.error(`makemore: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
}

function runPaths(dir: string): RunPaths {
  const workDir = path.resolve(dir);
  return { workDir, latestSlot: path.join(workDir, 'latest'), bestSlot: path.join(workDir, 'best') };
}

/**
 * 1. The checkpoint's JSON (cheap) — before anything else, so flags are checked before any work: with
 * --resume or --sample-only the checkpoint (its settings fill in the flags not given); a fresh run must
 * not clobber another one. Then the flags that depend on the model.
 */
function checkRunState(a: Args, paths: RunPaths): Resumed | null | ExitCode {
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
function loadData(a: Args, resumed: Resumed | null): RunData | ExitCode {
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
function takeLock(a: Args, workDir: string): Lock | ExitCode {
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

/** 4. The model, and the full checkpoint (weights checked against the model's names and shapes). */
async function buildModel(a: Args, config: ZooConfig, resumed: Resumed | null): Promise<Trainee> {
  await initTf();
  const runSeed = a.initSeed ?? a.seed;
  const model = zooModel(a.type, config, new TorchGenerator(runSeed));
  const opt = createOptimizer('adamw', a.lr, {
    beta1: MAKEMORE_TRAINING.beta1,
    beta2: MAKEMORE_TRAINING.beta2,
    weightDecay: a.wd,
    noDecay: a.decay === 'linear' && model instanceof Transformer ? model.noDecay() : undefined,
  }) as Adam;
  let startStep = 0;
  let best = Infinity;
  let batchRng = new FastGenerator(`${runSeed}-0`);
  if (resumed) {
    const { from } = resumed;
    const c = await loadCheckpoint<ZooConfig>(from, model.namedWeights());
    model.loadWeights(c.weights);
    tf.dispose(Object.values(c.weights));
    startStep = c.info.step;
    best = c.info.bestTestLoss ?? Infinity;
    if (a.resume) {
      if (!c.optimizer) throw new Error(`${rel(from)} has no optimizer/ (AdamW moments): it cannot be resumed exactly`);
      if (!c.info.batchRng)
        throw new Error(
          `${rel(path.join(from, 'checkpoint.json'))} has no batch generator state: it cannot be resumed exactly`,
        );
      restoreOptimizer(opt, c.optimizer, model.namedWeights() as Record<string, tf.Variable>);
      batchRng = FastGenerator.fromState(c.info.batchRng);
    }
    console.log(
      `loaded ${a.type} from ${rel(from)} (step ${startStep}, best test loss ${best.toFixed(4)}${c.optimizer && a.resume ? `, AdamW step ${c.optimizer.step}` : ''})`,
    );
  }
  console.log(`model ${a.type}: ${model.numParams().toLocaleString('en-US')} parameters`);
  return { model, opt, startStep, best, batchRng };
}

/** Samples of the model, tagged by the split they occur in (makemore's print_samples). */
function sampler(a: Args, run: RunData, model: LanguageModel): PrintSamples {
  const sets = { train: new Set(run.data.split.train), test: new Set(run.data.split.test) };
  const sampleOpts = { temperature: a.temperature, topK: a.topK };
  return (count, rng) => printSamples(model, run.vocab, run.blockSize, sets.train, sets.test, count, rng, sampleOpts);
}

/** The logs a run appends to: a resumed run keeps the rows up to its checkpoint, a new one starts them. */
function startLogs(a: Args, workDir: string, startStep: number): string {
  const logPath = path.join(workDir, 'log.jsonl');
  if (a.resume) {
    truncateJsonLog(logPath, 'step', startStep);
    truncateCsvLog(path.join(workDir, 'log.csv'), LOG_CSV_HEADER, startStep);
  } else {
    fs.writeFileSync(logPath, '');
    fs.writeFileSync(path.join(workDir, 'log.csv'), LOG_CSV_HEADER + '\n');
  }
  return logPath;
}

/** Saves of latest/ (model, AdamW moments, batch generator) and best/ (model only), as `progress` stands. */
function checkpointWriters(
  a: Args,
  paths: RunPaths,
  run: RunData,
  { model, opt }: { model: LanguageModel; opt: Adam },
  progress: Progress,
): Pick<TrainContext, 'saveLatest' | 'saveBest'> {
  const runSettings: Settings = {
    input: a.input,
    seed: a.seed,
    initSeed: a.initSeed ?? null,
    batchSize: a.batchSize,
    learningRate: a.lr,
    weightDecay: a.wd,
    evalEvery: a.evalEvery,
    maxSteps: a.maxSteps,
    workers: a.workers,
    words: run.words.length,
    dataSha256: run.dataSha256,
    gradClip: a.gradClip,
    decay: a.decay,
    lrDrop: a.lrDrop ?? null,
  };
  const topology: SavedTopology<ZooConfig> = {
    sequentia: 1,
    type: a.type,
    config: run.config,
    itos: [...run.vocab.itos],
    boundary: run.vocab.boundary,
  };
  const info = (step: number) => ({
    step,
    bestTestLoss: Number.isFinite(progress.best) ? progress.best : null,
    batchRng: progress.batchRng.state(),
    settings: runSettings as unknown as { [k: string]: Json },
  });
  return {
    saveLatest: async (step) => {
      await savingStep(paths.latestSlot, step, progress.savedAt, () =>
        saveCheckpoint(paths.latestSlot, {
          topology,
          weights: model.namedWeights(),
          optimizer: optimizerStateByName(opt, model.namedWeights()),
          info: info(step),
        }),
      );
      progress.savedAt = step;
    },
    saveBest: (step) =>
      savingStep(paths.bestSlot, step, null, () =>
        saveCheckpoint(paths.bestSlot, { topology, weights: model.namedWeights(), optimizer: null, info: info(step) }),
      ),
  };
}

/**
 * 5. Training to --max-steps (or Ctrl-C), evaluating, logging and saving every --eval-every steps, and
 * saving latest/ at the end. Returns the time training started (performance.now()).
 */
async function trainRun(ctx: TrainContext, progress: Progress, signals: Signals): Promise<number> {
  const { a, model, run } = ctx;
  const { data } = run;
  const { batchRng } = progress;
  // a seed per step for dropout's masks (drawn only with dropout, so other runs' batches stay as they were)
  const dropping = (run.config.dropout ?? 0) > 0;
  const dropoutSeed = () => (dropping ? (batchRng.randint(0, 2 ** 31 - 1, 1)[0] as number) : undefined);
  const parallel =
    a.workers > 1 ? await DataParallel.start({ type: a.type, config: run.config }, model, a.batchSize) : null;
  const t0 = performance.now();
  signals.startTraining();
  console.log(`training steps ${progress.step + 1}…${a.maxSteps === -1 ? ' until Ctrl-C' : a.maxSteps}`);
  try {
    // train() keeps one loss per step in memory: run "until interrupted" in chunks
    while (!signals.stopped() && (a.maxSteps === -1 || progress.step < a.maxSteps)) {
      const chunk = Math.min(a.maxSteps === -1 ? Infinity : a.maxSteps - progress.step, 1_000_000);
      const res = await train({
        steps: chunk,
        params: model.params(),
        optimizer: ctx.opt,
        // the step about to run is progress.step + 1
        learningRate: () => (a.lrDrop !== undefined && progress.step + 1 > a.lrDrop ? a.lr / 10 : a.lr),
        gradClip: a.gradClip > 0 ? a.gradClip : undefined,
        label: a.type,
        ...(parallel
          ? {
              gradients: () => {
                const b = takeSequences(data.train, batchRng.randint(0, data.train.n, a.batchSize));
                return parallel.gradients(b.X, b.Y, a.batchSize, dropoutSeed());
              },
            }
          : dropping
            ? {
                loss: () => {
                  const b = sequenceBatch(data.train, batchRng, a.batchSize);
                  return model.forward(b.X, b.Y, { training: true, rng: dropoutRng(dropoutSeed(), 0) }).loss!;
                },
              }
            : // bigram, mlp and bow train fused (lib/fused), the rest through the ops
              { model, batch: () => sampleSequences(data.train, batchRng, a.batchSize) }),
        onStep: async (_i, loss) => {
          progress.step++;
          if (progress.step % a.evalEvery !== 0 && progress.step !== a.maxSteps) return;
          await evaluateAndSave(ctx, progress, loss, t0);
        },
        shouldStop: signals.stopped,
      });
      progress.ran += res.losses.length;
    }
    if (progress.savedAt !== progress.step) await ctx.saveLatest(progress.step);
  } finally {
    await parallel?.close();
  }
  return t0;
}

/** An evaluation: train and test loss logged, best/ (if better) and latest/ saved, samples printed. */
async function evaluateAndSave(ctx: TrainContext, progress: Progress, loss: number, t0: number): Promise<void> {
  const { a, model } = ctx;
  const { data } = ctx.run;
  const step = progress.step;
  const trainLoss = evaluate(model, data.train);
  const testLoss = evaluate(model, data.test);
  appendLine(
    ctx.logPath,
    step,
    JSON.stringify({
      step,
      train_loss: trainLoss,
      test_loss: testLoss,
      batch_loss: loss,
      seconds: (performance.now() - t0) / 1000,
    }) + '\n',
  );
  appendLine(path.join(ctx.paths.workDir, 'log.csv'), step, `${step},${trainLoss},${testLoss},${loss}\n`);
  let note = '';
  if (testLoss < progress.best) {
    progress.best = testLoss;
    await ctx.saveBest(step);
    note = ' → saved best';
  }
  await ctx.saveLatest(step);
  console.log(`\nstep ${step} train loss ${trainLoss.toFixed(4)} test loss ${testLoss.toFixed(4)}${note}`);
  // a generator per evaluation step: the samples of a resumed run are those of an uninterrupted one
  ctx.samples(
    Math.min(a.numSamples, 10),
    new TorchGenerator().manualSeed(BigInt(a.seed + 1) * 1_000_003n + BigInt(step)),
  );
}

/** The loss chart (loss.html with plotly.min.js beside it) of every row in the log. */
function writeLossChart(type: string, workDir: string, logPath: string): void {
  const all = readLossLog(logPath);
  const fig = lineChart(
    [
      { name: 'train', x: all.map((r) => r.step), y: all.map((r) => r.train_loss), mode: 'lines+markers' },
      { name: 'test', x: all.map((r) => r.step), y: all.map((r) => r.test_loss), mode: 'lines+markers' },
    ],
    { title: `makemore ${type}: loss`, xTitle: 'step', yTitle: 'loss' },
  );
  fs.copyFileSync(plotlyJsPath(), path.join(workDir, 'plotly.min.js'));
  fs.writeFileSync(path.join(workDir, 'loss.html'), standaloneHtml(fig, `makemore ${type}`));
}

async function main(): Promise<number> {
  const a = parseCommandLine(process.argv.slice(2));
  if (typeof a === 'number') return a;
  if (a.help) {
    console.log(USAGE);
    return 0;
  }
  const paths = runPaths(a.workDir);
  // 1.–3.: every bad input is rejected before any work
  const resumed = checkRunState(a, paths);
  if (typeof resumed === 'number') return resumed;
  const run = loadData(a, resumed);
  if (typeof run === 'number') return run;
  const signals = stopOnSignals(
    (sig) => `stopping after this step and saving the latest state; ${sig} again to quit now`,
  );
  const lock = a.sampleOnly ? null : takeLock(a, paths.workDir);
  if (typeof lock === 'number') return lock;
  // 4.
  const { model, opt, startStep, best, batchRng } = await buildModel(a, run.config, resumed);
  const samples = sampler(a, run, model);

  // sample only, or nothing left to train
  if (a.sampleOnly) {
    samples(a.numSamples, new TorchGenerator(a.seed + 1));
    model.dispose();
    return 0;
  }
  if (a.maxSteps !== -1 && startStep >= a.maxSteps) {
    console.log(
      `the run in ${rel(paths.workDir)} is at step ${startStep}, --max-steps is ${a.maxSteps}: nothing to train (give a larger --max-steps to continue)`,
    );
    model.dispose();
    return 0;
  }

  // 5.
  const logPath = startLogs(a, paths.workDir, startStep);
  const progress: Progress = { step: startStep, best, batchRng, savedAt: startStep, ran: 0 };
  const savers = checkpointWriters(a, paths, run, { model, opt }, progress);
  const t0 = await trainRun({ a, paths, run, model, opt, samples, logPath, ...savers }, progress, signals);
  opt.dispose();
  const seconds = (performance.now() - t0) / 1000;

  // the report and the loss chart (a chart that cannot be written loses nothing: the checkpoints are saved)
  try {
    writeLossChart(a.type, paths.workDir, logPath);
  } catch (e) {
    console.error(
      `makemore: warning: the loss chart (loss.html) could not be written: ${(e as Error).message}; the checkpoints and logs are saved`,
    );
  }
  const { ran, step } = progress;
  console.log(
    `${ran} steps (to step ${step}) in ${formatDuration(seconds)} (${((1000 * seconds) / Math.max(1, ran)).toFixed(1)} ms/step); best test loss ${progress.best.toFixed(4)}; logs, loss.html and checkpoints (latest/, best/) in ${rel(paths.workDir)}`,
  );
  model.dispose();
  lock?.release();
  if (signals.stopped()) {
    console.log(`stopped at step ${step}: continue with --resume`);
    return signals.exitCode();
  }
  return 0;
}

main().then(
  (code) => exitWhenFlushed(code),
  (e: unknown) => {
    console.error(`makemore: ${e instanceof Error ? e.message : String(e)}`);
    exitWhenFlushed(1);
  },
);
