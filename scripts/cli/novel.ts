/**
 * Trains the character LSTM of notebook 08 on The Mysterious Island from the command line, logging the
 * loss every 100 iterations (JSONL), checkpointing the latest state (lib/train/checkpoint: --resume continues
 * exactly), then prints a sample — also after Ctrl-C.
 *
 *   npm run novel -- [--book] [--steps N] [--out DIR] [--seed-text "The island"] [--scale 2]
 *   --book: the book's settings (embedding 256, LSTM 512, batch 64); default: 64 / 256 / batch 32.
 */
import fs from 'node:fs';
import path from 'node:path';
import { tf, initTf } from '../../lib/runtime/tf';
import { loadMysteriousIsland, randomWindowBatch, type Corpus } from '../../lib/data/corpus';
import { RecurrentLM, type RecurrentConfig } from '../../lib/models/recurrent';
import { NOVEL_SETTINGS } from '../../lib/models/presets';
import { generateText } from '../../lib/sample/generate';
import { createOptimizer, type Adam } from '../../lib/train/optimizers';
import {
  CHECKPOINT_CONTENTS,
  loadCheckpoint,
  optimizerStateByName,
  readCheckpoint,
  resolveCheckpoint,
  restoreOptimizer,
  saveCheckpoint,
  NOVEL_SETTINGS_SPEC,
  type Json,
} from '../../lib/train/checkpoint';
import {
  appendLine,
  checkRunDir,
  checkWorkDir,
  claimRunDir,
  savingStep,
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
import { MAX_MODEL_PARAMS, numberFlag, parseFlags, UsageError } from './flags';
import { recurrentParamCount } from '../../lib/models/zoo/config';
import { train } from '../../lib/train/loop';

const USAGE = `usage: npm run novel -- [options]
  --book              the book's settings: embedding 256, LSTM 512, batch 64, 10,000 iterations
                      (default: 64 / 256 / batch 32, 1,500 iterations)
  --steps N           train until iteration N, counted from the start of the run (with --resume: the
                      iteration to continue to; default 1,500, or 10,000 with --book)
  --out DIR           checkpoint, loss log (default out/novel)
  --seed-text S       the text the sample continues (default "The island"; every character must occur in the book)
  --scale X           sampling scale factor: temperature 1/X (default 2)
  --n-embd N --n-hidden N --batch-size N   override the sizes (defaults above)
  --log-every N       iterations per loss.jsonl line and per checkpoint (default 100)
  --resume            continue the run in --out from its latest state, bit for bit (flags not given are the
                      checkpoint's; --book / --n-embd / --n-hidden that contradict it are an error)
  --overwrite         start a new run in an --out that holds one (replaces its checkpoint and log)
  --help

out dir:  latest/   model/ (loadModel('out/novel/latest/model')), optimizer/ (Adam), checkpoint.json
          loss.jsonl  mean loss of every --log-every iterations;  .lock  the PID of the run in progress
          .sequentia-run.json  the marker: the entries a novel run wrote here (--overwrite removes only those)
  Ctrl-C, SIGTERM and SIGHUP stop after the current iteration, save latest/, print the sample and exit
  130, 143 and 129; a second signal quits at once.

exit codes: 0 done · 1 missing or unusable files (corpus, checkpoint), or a save that failed (the message
  names the file and the iteration) · 2 bad or contradicting flags, an --out that is a file, not writable,
  holds a run (without --resume/--overwrite) or someone else's files, or is locked · 129 / 130 / 143
  stopped by SIGHUP / Ctrl-C / SIGTERM (latest/ saved)`;

const STRING_OPTS = ['steps', 'out', 'seed-text', 'scale', 'n-embd', 'n-hidden', 'batch-size', 'log-every'] as const;
const BOOL_OPTS = ['book', 'resume', 'overwrite', 'help'] as const;
const SEQ_LEN = NOVEL_SETTINGS.seqLen;
const LEARNING_RATE = NOVEL_SETTINGS.learningRate;

/** Sizes beyond these would only exhaust memory (the book's model: 256 / 512, batch 64). */
const MAX_SIZE = 65_536;

function posInt(v: string | undefined, name: string, max?: number): number | undefined {
  return v === undefined ? undefined : numberFlag(name, v, { int: true, min: 1, max });
}

function parse(argv: readonly string[]) {
  const { values: v, explicit } = parseFlags(argv, STRING_OPTS, BOOL_OPTS, [], ['out']);
  const book = v.book === true;
  const base = book ? NOVEL_SETTINGS.book : NOVEL_SETTINGS.default;
  const scaleText = (v.scale as string | undefined) ?? '2';
  const scale = Number(scaleText);
  if (scaleText.trim() === '' || !(scale > 0) || !Number.isFinite(scale) || !Number.isFinite(1 / scale))
    throw new UsageError(`--scale must be a number > 0, got '${scaleText}'`);
  const seedText = (v['seed-text'] as string | undefined) ?? 'The island';
  if (seedText.length === 0) throw new UsageError('--seed-text is empty: give at least one character');
  const a = {
    explicit,
    help: v.help === true,
    book,
    resume: v.resume === true,
    overwrite: v.overwrite === true,
    out: (v.out as string | undefined) ?? 'out/novel',
    seedText,
    scale,
    steps: posInt(v.steps as string | undefined, 'steps') ?? base.steps,
    nEmbd: posInt(v['n-embd'] as string | undefined, 'n-embd', MAX_SIZE) ?? base.nEmbd,
    nHidden: posInt(v['n-hidden'] as string | undefined, 'n-hidden', MAX_SIZE) ?? base.nHidden,
    batch: posInt(v['batch-size'] as string | undefined, 'batch-size', MAX_SIZE) ?? base.batch,
    logEvery: posInt(v['log-every'] as string | undefined, 'log-every') ?? 100,
  };
  if (a.resume && a.overwrite)
    throw new UsageError('--resume continues the run in --out, --overwrite replaces it: give one of them');
  return a;
}

interface Settings {
  nEmbd: number;
  nHidden: number;
  batch: number;
  steps: number;
  logEvery: number;
}

type Args = ReturnType<typeof parse>;

/** An exit code for main(): the phase that returns one has already said why. */
type ExitCode = number;

/** Ctrl-C and SIGTERM: quit before training, stop after the current iteration during it. */
type Signals = ReturnType<typeof stopOnSignals>;

/** The LSTM and its optimizer. */
interface Trainee {
  config: RecurrentConfig;
  model: RecurrentLM;
  opt: Adam;
}

/** What training changes as it goes (read by every save, so that a resumed run continues exactly). */
interface Progress {
  step: number;
  /** The iteration latest/ holds. */
  savedAt: number;
  /** The sum of the losses since the last loss.jsonl line. */
  acc: number;
  readonly rng: FastGenerator;
}

/** A usage problem found after parsing (contradicting flags, a work dir in use): the message, exit 2. */
function usageExit(msg: string): ExitCode {
  console.error(`novel: ${msg}`);
  return 2;
}

/** The flags; a bad one prints the message and the usage (exit 2). */
function parseCommandLine(argv: readonly string[]): Args | ExitCode {
  try {
    return parse(argv);
  } catch (e) {
    console.error(`novel: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
}

/**
 * Flags against the checkpoint (JSON only), or a fresh run against what --out holds: before any work.
 * Returns the checkpoint to resume from (null: a fresh run); the checkpoint's settings fill in `a`.
 */
function checkRunState(a: Args, out: string, slot: string): string | null | ExitCode {
  try {
    checkWorkDir('--out', a.out);
    checkRunDir(out, runIntent(a));
  } catch (e) {
    if (e instanceof WorkDirError) return usageExit(e.message);
    throw e;
  }
  if (!a.resume) return null;
  const from = resolveCheckpoint(slot);
  if (!from)
    throw new Error(
      `no checkpoint in ${out}: ${path.join(slot, 'checkpoint.json')} not found; train first (without --resume)`,
    );
  const { info, topology } = readCheckpoint<RecurrentConfig>(from, { settings: NOVEL_SETTINGS_SPEC });
  const s = info.settings as unknown as Settings;
  const conflicts = checkpointConflicts(a, topology.type, s);
  if (conflicts.length)
    return usageExit(
      `these flags contradict the checkpoint in ${from}:\n  ${conflicts.join('\n  ')}\nleave them out (the checkpoint's values are used) or start a new run (another --out, or --overwrite)`,
    );
  adoptCheckpointSettings(a, s);
  return from;
}

/** The flags given that contradict the checkpoint (the model's type and size). */
function checkpointConflicts(a: Args, type: string, s: Settings): string[] {
  const conflicts: string[] = [];
  if (type !== 'lstm') conflicts.push(`the checkpoint holds a ${type}, not the LSTM this trainer makes`);
  if (a.explicit.has('book') && (s.nEmbd !== NOVEL_SETTINGS.book.nEmbd || s.nHidden !== NOVEL_SETTINGS.book.nHidden))
    conflicts.push(`--book (E256/H512), but the checkpoint's model is E${s.nEmbd}/H${s.nHidden}`);
  if (a.explicit.has('n-embd') && a.nEmbd !== s.nEmbd)
    conflicts.push(`--n-embd ${a.nEmbd}, but the checkpoint's is ${s.nEmbd}`);
  if (a.explicit.has('n-hidden') && a.nHidden !== s.nHidden)
    conflicts.push(`--n-hidden ${a.nHidden}, but the checkpoint's is ${s.nHidden}`);
  return conflicts;
}

/** Flags not given: the checkpoint's (a changed batch size is reported). Updates `a`. */
function adoptCheckpointSettings(a: Args, s: Settings): void {
  a.nEmbd = s.nEmbd;
  a.nHidden = s.nHidden;
  if (!a.explicit.has('steps')) a.steps = s.steps;
  if (!a.explicit.has('log-every')) a.logEvery = s.logEvery;
  if (!a.explicit.has('batch-size') && !a.explicit.has('book')) a.batch = s.batch;
  else if (a.batch !== s.batch)
    console.log(
      `resuming with batch size ${a.batch} (the run so far: ${s.batch}): from here on the run differs from one that was never stopped`,
    );
}

/** The book; the sample's seed text is checked now, not after training. */
function loadBook(a: Args): Corpus | ExitCode {
  const corpus = loadMysteriousIsland();
  const unknown = [...a.seedText].findIndex((ch) => !corpus.vocab.has(ch));
  if (unknown >= 0) {
    const ch = [...a.seedText][unknown] as string;
    return usageExit(
      `--seed-text ${JSON.stringify(a.seedText)}: character ${JSON.stringify(ch)} (U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}) at position ${unknown + 1} does not occur in the book (its ${corpus.vocab.size} characters: ${JSON.stringify(corpus.vocab.itos.join(''))})`,
    );
  }
  const params = recurrentParamCount('lstm', corpus.vocab.size, a.nEmbd, a.nHidden);
  if (params > MAX_MODEL_PARAMS)
    return usageExit(
      `an LSTM with --n-embd ${a.nEmbd} --n-hidden ${a.nHidden} has ${params.toLocaleString('en-US')} parameters, more than the ${MAX_MODEL_PARAMS.toLocaleString('en-US')} this CLI builds`,
    );
  return corpus;
}

/** What a run does with --out: the entries it writes, and model/ of older versions (never removed by --overwrite). */
function runIntent(a: Args): RunIntent {
  return {
    tool: 'novel',
    flag: '--out',
    entries: ['latest', 'latest.prev', 'loss.jsonl'],
    older: ['model'],
    contents: { latest: CHECKPOINT_CONTENTS, 'latest.prev': CHECKPOINT_CONTENTS },
    resume: a.resume,
    overwrite: a.overwrite,
  };
}

/** The lock on --out (a stale one is removed), then (with --overwrite) the old run's files, then the marker. */
function takeLock(a: Args, out: string): Lock | ExitCode {
  try {
    const { lock, removed } = claimRunDir(out, runIntent(a));
    if (lock.stale) console.log(`removed a stale lock ${lock.path} (${lock.stale})`);
    if (removed.length) console.log(`--overwrite: removed ${removed.join(', ')} from ${out}`);
    return lock;
  } catch (e) {
    if (e instanceof WorkDirError) return usageExit(e.message);
    throw e;
  }
}

/** The LSTM and Adam, and (with --resume) the checkpoint restored into them and the loss log cut to it. */
async function buildModel(
  a: Args,
  corpus: Corpus,
  from: string | null,
  log: string,
): Promise<{ trainee: Trainee; progress: Progress }> {
  await initTf();
  const config: RecurrentConfig = {
    cell: 'lstm',
    vocabSize: corpus.vocab.size,
    blockSize: SEQ_LEN,
    nEmbd: a.nEmbd,
    nHidden: a.nHidden,
  };
  const model = new RecurrentLM(config, new TorchGenerator(1));
  const opt = createOptimizer('adam', LEARNING_RATE) as Adam;
  const trainee: Trainee = { config, model, opt };
  if (from) return { trainee, progress: await restoreCheckpoint(from, corpus, trainee, log) };
  fs.writeFileSync(log, '');
  return { trainee, progress: { step: 0, savedAt: 0, acc: 0, rng: new FastGenerator('mysterious-island') } };
}

/** The checkpoint's weights, Adam state, batch generator and running loss; loss.jsonl keeps the rows up to it. */
async function restoreCheckpoint(
  from: string,
  corpus: Corpus,
  { model, opt }: Trainee,
  log: string,
): Promise<Progress> {
  const c = await loadCheckpoint<RecurrentConfig>(from, model.namedWeights());
  if (c.topology.itos.join('') !== corpus.vocab.itos.join('')) {
    tf.dispose(Object.values(c.weights));
    throw new Error(`${from} was trained on another text (its vocabulary differs from the book's)`);
  }
  model.loadWeights(c.weights);
  tf.dispose(Object.values(c.weights));
  if (!c.optimizer || !c.info.batchRng)
    throw new Error(`${from} lacks the optimizer or batch generator state: it cannot be resumed exactly`);
  restoreOptimizer(opt, c.optimizer, model.namedWeights());
  const rng = FastGenerator.fromState(c.info.batchRng);
  const startStep = c.info.step;
  const acc = typeof c.info.trainer?.lossSum === 'number' ? c.info.trainer.lossSum : 0;
  truncateJsonLog(log, 'iteration', startStep);
  console.log(`loaded the LSTM from ${from} (iteration ${startStep})`);
  return { step: startStep, savedAt: startStep, acc, rng };
}

/** Saves latest/ (model, Adam state, batch generator, running loss) as `progress` stands. */
function checkpointWriter(
  a: Args,
  slot: string,
  corpus: Corpus,
  { config, model, opt }: Trainee,
  progress: Progress,
): () => Promise<void> {
  const settings: Settings = {
    nEmbd: a.nEmbd,
    nHidden: a.nHidden,
    batch: a.batch,
    steps: a.steps,
    logEvery: a.logEvery,
  };
  const topology: SavedTopology<RecurrentConfig> = {
    sequentia: 1,
    type: 'lstm',
    config,
    itos: [...corpus.vocab.itos],
    boundary: null,
  };
  return async () => {
    await savingStep(slot, progress.step, progress.savedAt, () =>
      saveCheckpoint(slot, {
        topology,
        weights: model.namedWeights(),
        optimizer: optimizerStateByName(opt, model.namedWeights()),
        info: {
          step: progress.step,
          bestTestLoss: null,
          batchRng: progress.rng.state(),
          settings: settings as unknown as { [k: string]: Json },
          trainer: { lossSum: progress.acc },
        },
      }),
    );
    progress.savedAt = progress.step;
  };
}

/**
 * Training to --steps (or Ctrl-C): a loss.jsonl line and a save every --log-every iterations, and
 * latest/ saved at the end.
 */
async function trainRun(
  a: Args,
  corpus: Corpus,
  { model, opt }: Trainee,
  progress: Progress,
  out: { log: string; dir: string; save: () => Promise<void> },
  signals: Signals,
): Promise<void> {
  signals.startTraining();
  console.log(
    `LSTM E${a.nEmbd}/H${a.nHidden}, batch ${a.batch}, iterations ${progress.step + 1}…${a.steps}, ${model.numParams()} parameters`,
  );
  const t0 = performance.now();
  if (progress.step < a.steps) {
    await train({
      steps: a.steps - progress.step,
      params: model.params(),
      optimizer: opt,
      learningRate: LEARNING_RATE,
      label: 'LSTM',
      // fused (lib/fused) where the hidden size is a multiple of 4, else through the ops
      model,
      batch: () => randomWindowBatch(corpus, progress.rng, a.batch, SEQ_LEN),
      onStep: async (_i, loss) => {
        progress.step++;
        progress.acc += loss;
        if (progress.step % a.logEvery === 0) {
          appendLine(
            out.log,
            progress.step,
            JSON.stringify({
              iteration: progress.step,
              loss: progress.acc / a.logEvery,
              seconds: (performance.now() - t0) / 1000,
            }) + '\n',
          );
          progress.acc = 0;
          await out.save();
        }
      },
      shouldStop: signals.stopped,
    });
  } else
    console.log(
      `the run in ${out.dir} is at iteration ${progress.step}, --steps is ${a.steps}: nothing to train (give a larger --steps to continue)`,
    );
  if (progress.savedAt !== progress.step) await out.save();
}

async function main(): Promise<number> {
  const a = parseCommandLine(process.argv.slice(2));
  if (typeof a === 'number') return a;
  if (a.help) {
    console.log(USAGE);
    return 0;
  }
  const out = path.resolve(a.out);
  const slot = path.join(out, 'latest');
  const log = path.join(out, 'loss.jsonl');

  // every bad input is rejected before any work
  const from = checkRunState(a, out, slot);
  if (typeof from === 'number') return from;
  const corpus = loadBook(a);
  if (typeof corpus === 'number') return corpus;
  const signals = stopOnSignals(
    (sig) => `stopping after this iteration, saving the latest state and printing the sample; ${sig} again to quit now`,
  );
  const lock = takeLock(a, out);
  if (typeof lock === 'number') return lock;

  const { trainee, progress } = await buildModel(a, corpus, from, log);
  const save = checkpointWriter(a, slot, corpus, trainee, progress);
  await trainRun(a, corpus, trainee, progress, { log, dir: out, save }, signals);

  // the sample, also after Ctrl-C
  trainee.opt.dispose();
  console.log(`latest state (iteration ${progress.step}) in ${slot}`);
  console.log(
    generateText(trainee.model, corpus.vocab, a.seedText, 500, new TorchGenerator(1), { temperature: 1 / a.scale }),
  );
  trainee.model.dispose();
  lock.release();
  return signals.exitCode();
}

main().then(
  (code) => exitWhenFlushed(code),
  (e: unknown) => {
    console.error(`novel: ${e instanceof Error ? e.message : String(e)}`);
    exitWhenFlushed(1);
  },
);
