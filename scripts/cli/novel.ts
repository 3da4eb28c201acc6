/**
 * Trains the character LSTM of notebook 08 on The Mysterious Island from the command line, logging the
 * mean loss every --eval-every iterations (JSONL), checkpointing the latest state (lib/train/checkpoint:
 * --resume continues exactly), then prints a sample — also after Ctrl-C.
 *
 *   npm run novel -- [--book] [--max-steps N] [--work-dir DIR] [--seed-text "The island"] [--scale 2]
 *   --book: the book's settings (configs/novel-book.json: embedding 256, LSTM 512, batch 64, 10,000 iterations).
 */
import path from 'node:path';
import { tf, initTf } from '../../lib/runtime/tf';
import { loadMysteriousIsland, randomWindowBatch, type Corpus } from '../../lib/data/corpus';
import { RecurrentLM, type RecurrentConfig } from '../../lib/models/recurrent';
import { NOVEL_SETTINGS } from '../../lib/models/presets';
import { generateText } from '../../lib/sample/generate';
import { createOptimizer, type Adam } from '../../lib/train/optimizers';
import { loadCheckpoint, optimizerStateByName, restoreOptimizer, saveCheckpoint } from '../../lib/train/checkpoint';
import { appendLine, savingStep } from '../../lib/train/run-dir';
import { modelTopology } from '../../lib/train/saved-model';
import { TorchGenerator } from '../../lib/random/torch-generator';
import { FastGenerator } from '../../lib/random/fast-generator';
import { MAX_MODEL_PARAMS } from './flags';
import { recurrentParamCount } from '../../lib/models/zoo/config';
import { train } from '../../lib/train/loop';
import {
  main,
  rel,
  startLogs,
  usageExit,
  type Args as RunArgs,
  type Cli,
  type ExitCode,
  type Resumed,
  type Signals,
} from './run/lifecycle';
import { int, num, text, toggle, toSettings } from './run/options';

const SEQ_LEN = NOVEL_SETTINGS.seqLen;
const LEARNING_RATE = NOVEL_SETTINGS.learningRate;
/** Sizes beyond these would only exhaust memory (the book's model: 256 / 512, batch 64). */
const MAX_SIZE = 65_536;
const BASE = NOVEL_SETTINGS.default;

/** The novel's options, one table: defaults, --help, config-file keys, the settings a checkpoint keeps. */
export const TABLE = {
  workDir: text('work-dir', 'out/novel', 'checkpoint and loss log', { path: true, meta: 'DIR', aliases: ['out'] }),
  config: text('config', undefined, 'settings from a JSON file: {"flag-name": value, …}; flags given as well win', {
    path: true,
    meta: 'FILE',
    inFile: false,
  }),
  book: toggle(
    'book',
    "the book's settings: shorthand for --config configs/novel-book.json (embedding 256,\nLSTM 512, batch 64, 10,000 iterations)",
    { shorthand: 'configs/novel-book.json' },
  ),
  steps: int(
    'max-steps',
    BASE.steps,
    { min: 1 },
    'train until iteration N, counted from the start of the run (with --resume: the\niteration to continue to)',
    { aliases: ['steps'] },
  ),
  resume: toggle(
    'resume',
    "continue the run in --work-dir from its latest state, bit for bit (flags not given are\nthe checkpoint's; --book / --n-embd / --n-hidden that contradict it are an error)",
  ),
  overwrite: toggle('overwrite', 'start a new run in a --work-dir that holds one (replaces its checkpoint and log)'),
  seedText: text('seed-text', 'The island', 'the text the sample continues (every character must occur in the book)', {
    check: (v) => (v.length > 0 ? null : 'at least one character'),
  }),
  scale: num('scale', 2, { min: 0 }, 'sampling scale factor: temperature 1/X', {
    check: (v) => (v > 0 && Number.isFinite(1 / v) ? null : 'a number > 0'),
  }),
  nEmbd: int('n-embd', BASE.nEmbd, { min: 1, max: MAX_SIZE }, 'embedding size'),
  nHidden: int('n-hidden', BASE.nHidden, { min: 1, max: MAX_SIZE }, "the LSTM's hidden size"),
  batch: int('batch-size', BASE.batch, { min: 1, max: MAX_SIZE }, 'windows per iteration'),
  logEvery: int('eval-every', 100, { min: 1 }, 'iterations per loss.jsonl line and per checkpoint', {
    aliases: ['log-every'],
  }),
  help: toggle('help', 'this text'),
};

/** What checkpoint.json keeps (keys as older novels wrote them): the model's sizes are the checkpoint's. */
const SAVED = { nEmbd: 'fixed', nHidden: 'fixed', batch: 'taken', steps: 'quiet', logEvery: 'quiet' } as const;

const EPILOGUE = `config files: JSON objects whose keys are the flags' names without "--" ("n-embd", "batch-size");
  precedence: the defaults above < the config file < flags given. configs/novel-book.json is --book.

work dir: latest/   model/ (loadModel('out/novel/latest/model')), optimizer/ (Adam), checkpoint.json
          loss.jsonl  mean loss of every --eval-every iterations;  .lock  the PID of the run in progress
          .sequentia-run.json  the marker: the entries a novel run wrote here (--overwrite removes only those)
  Ctrl-C, SIGTERM and SIGHUP stop after the current iteration, save latest/, print the sample and exit
  130, 143 and 129; a second signal quits at once.

exit codes: 0 done · 1 missing or unusable files (corpus, checkpoint), or a save that failed (the message
  names the file and the iteration) · 2 bad or contradicting flags or config file, a --work-dir that is a
  file, not writable, holds a run (without --resume/--overwrite) or someone else's files, or is locked ·
  129 / 130 / 143 stopped by SIGHUP / Ctrl-C / SIGTERM (latest/ saved)`;

type Args = RunArgs<typeof TABLE>;

/** The LSTM and its optimizer. */
interface Trainee {
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

/** The book; the sample's seed text is checked now, not after training. */
function loadBook(a: Args): Corpus | ExitCode {
  const corpus = loadMysteriousIsland();
  const unknown = [...a.seedText].findIndex((ch) => !corpus.vocab.has(ch));
  if (unknown >= 0) {
    const ch = [...a.seedText][unknown] as string;
    return usageExit(
      'novel',
      `--seed-text ${JSON.stringify(a.seedText)}: character ${JSON.stringify(ch)} (U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}) at position ${unknown + 1} does not occur in the book (its ${corpus.vocab.size} characters: ${JSON.stringify(corpus.vocab.itos.join(''))})`,
    );
  }
  const params = recurrentParamCount('lstm', corpus.vocab.size, a.nEmbd, a.nHidden);
  if (params > MAX_MODEL_PARAMS)
    return usageExit(
      'novel',
      `an LSTM with --n-embd ${a.nEmbd} --n-hidden ${a.nHidden} has ${params.toLocaleString('en-US')} parameters, more than the ${MAX_MODEL_PARAMS.toLocaleString('en-US')} this CLI builds`,
    );
  return corpus;
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
  const trainee: Trainee = { model, opt };
  if (from) return { trainee, progress: await restoreCheckpoint(from, corpus, trainee, log) };
  startLogs([{ file: log }], null);
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
  startLogs([{ file: log, key: 'iteration' }], startStep);
  console.log(`loaded the LSTM from ${rel(from)} (iteration ${startStep})`);
  return { step: startStep, savedAt: startStep, acc, rng };
}

/** Saves latest/ (model, Adam state, batch generator, running loss) as `progress` stands. */
function checkpointWriter(
  a: Args,
  slot: string,
  corpus: Corpus,
  { model, opt }: Trainee,
  progress: Progress,
): () => Promise<void> {
  const settings = toSettings(a, SAVED);
  const topology = modelTopology(model, corpus.vocab);
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
          settings,
          trainer: { lossSum: progress.acc },
        },
      }),
    );
    progress.savedAt = progress.step;
  };
}

/**
 * Training to --max-steps (or Ctrl-C): a loss.jsonl line and a save every --eval-every iterations, and
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
      `the run in ${rel(out.dir)} is at iteration ${progress.step}, --max-steps is ${a.steps}: nothing to train (give a larger --max-steps to continue)`,
    );
  if (progress.savedAt !== progress.step) await out.save();
}

async function run(
  a: Args,
  corpus: Corpus,
  resumed: Resumed<typeof TABLE> | null,
  signals: Signals,
): Promise<ExitCode> {
  const out = path.resolve(a.workDir);
  const slot = path.join(out, 'latest');
  const log = path.join(out, 'loss.jsonl');
  const { trainee, progress } = await buildModel(a, corpus, resumed?.from ?? null, log);
  const save = checkpointWriter(a, slot, corpus, trainee, progress);
  await trainRun(a, corpus, trainee, progress, { log, dir: out, save }, signals);

  // the sample, also after Ctrl-C
  trainee.opt.dispose();
  console.log(`latest state (iteration ${progress.step}) in ${rel(slot)}`);
  console.log(
    generateText(trainee.model, corpus.vocab, a.seedText, 500, new TorchGenerator(1), { temperature: 1 / a.scale }),
  );
  trainee.model.dispose();
  return signals.exitCode();
}

const NOVEL: Cli<typeof TABLE, Corpus> = {
  tool: 'novel',
  table: TABLE,
  epilogue: EPILOGUE,
  saved: SAVED,
  entries: ['latest', 'latest.prev', 'loss.jsonl'],
  // model/: an older novel's save, which --overwrite never removes
  older: ['model'],
  conflicts: (_a, r) =>
    r.topology.type === 'lstm' ? [] : [`the checkpoint holds a ${r.topology.type}, not the LSTM this trainer makes`],
  prepare: (a) => loadBook(a),
  stopping: (sig) =>
    `stopping after this iteration, saving the latest state and printing the sample; ${sig} again to quit now`,
  run,
};

// the table is imported by tests: train only when run as the command
if (require.main === module) main(NOVEL);
