/**
 * makemore for Sequentia: train any model of the zoo on a one-word-per-line file, checkpoint the best
 * and the latest state, resume exactly, sample.
 *
 *   npm run makemore -- --type transformer --input data/names.txt --work-dir out/names --max-steps 2000
 *   npm run makemore -- --work-dir out/names --resume --max-steps 4000
 *   npm run makemore -- --work-dir out/names --sample-only --num-samples 20 --temperature 0.8
 *   npm run makemore -- convert --work-dir out/names     (checkpoints of the older form → model.safetensors)
 */

import fs from 'node:fs';
import path from 'node:path';
import { tf, initTf } from '../../lib/runtime/tf';
import { Vocab } from '../../lib/data/vocab';
import { takeSequences, type Sequences } from '../../lib/data/sequences';
import { createOptimizer, type Adam } from '../../lib/train/optimizers';
import { DataParallel, dropoutRng } from '../../lib/train/parallel';
import { Transformer } from '../../lib/models/zoo/transformer';
import { readLossLog } from '../../lib/train/curves';
import { zooModel } from '../../lib/models/registry';
import { type LanguageModel } from '../../lib/models/language-model';
import { generateWordsStream } from '../../lib/sample/generate';
import { loadCheckpoint, optimizerStateByName, restoreOptimizer, saveCheckpoint } from '../../lib/train/checkpoint';
import { appendLine, savingStep } from '../../lib/train/run-dir';
import { modelTopology } from '../../lib/train/saved-model';
import { TorchGenerator } from '../../lib/random/torch-generator';
import { FastGenerator } from '../../lib/random/fast-generator';
import { train, formatDuration, yieldToEventLoop } from '../../lib/train/loop';
import { evaluateSequences } from '../../lib/train/evaluate';
import { sampleSequences, sequenceBatch } from '../../lib/data/batches';
import { lineChart, plotlyJsPath } from '../../lib/viz/plots';
import { standaloneHtml } from '../../lib/viz/export';
import { main, rel, startLogs, type Cli, type ExitCode, type Signals } from './run/lifecycle';
import { toSettings } from './run/options';
import { EPILOGUE, FACTS, SAVED, TABLE, validate, type Args } from './makemore/args';
import { prepare, recorded, type MakemoreResumed, type RunData } from './makemore/run-state';
import { convert } from './makemore/convert';

/** Where a run keeps its state. */
interface RunPaths {
  workDir: string;
  latestSlot: string;
  bestSlot: string;
}

function evaluate(model: LanguageModel, d: Sequences): number {
  return evaluateSequences((X, Y) => model.forward(X, Y).loss!, d, { chunk: 100, maxRows: 1000 });
}

/** Rows drawn together: all of them up to this (makemore's generate), so memory stays flat for any --num-samples. */
const SAMPLE_BATCH = 1000;

/**
 * Samples tagged by the split they occur in (makemore's print_samples): grouped by tag up to
 * SAMPLE_BATCH samples; beyond, printed as they are drawn, a batch at a time, with a tally at the end.
 * The event loop runs between batches, so that Ctrl-C quits within one (--num-samples 10000000 takes hours).
 */
async function printSamples(
  model: LanguageModel,
  vocab: Vocab,
  blockSize: number,
  train: Set<string>,
  test: Set<string>,
  count: number,
  rng: TorchGenerator,
  opts: { temperature: number; topK?: number },
): Promise<void> {
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
    for (const words of stream) {
      for (const w of words) {
        const tag = tagOf(w);
        tally[tag]++;
        console.log(`  ${w}  (${tag})`);
      }
      await yieldToEventLoop();
    }
    console.log(`${tally['in train']} in train, ${tally['in test']} in test, ${tally.new} new`);
  }
  console.log('-'.repeat(60));
}

const LOG_CSV_HEADER = 'step,train_loss,test_loss,batch_loss';

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

/** Prints `count` samples drawn with `rng`, tagged by the split they occur in. */
type PrintSamples = (count: number, rng: TorchGenerator) => Promise<void>;

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

/** The model, AdamW with makemore's settings, and the full checkpoint (weights checked against the model's names and shapes). */
async function buildModel(a: Args, run: RunData, resumed: MakemoreResumed | null): Promise<Trainee> {
  await initTf();
  const runSeed = a.initSeed ?? a.seed;
  const model = zooModel(a.type, run.config, new TorchGenerator(runSeed));
  const opt = createOptimizer('adamw', a.learningRate, {
    beta1: a.beta1,
    beta2: a.beta2,
    weightDecay: a.weightDecay,
    noDecay: a.decay === 'linear' && model instanceof Transformer ? model.noDecay() : undefined,
  }) as Adam;
  let startStep = 0;
  let best = Infinity;
  let batchRng = new FastGenerator(`${runSeed}-0`);
  if (resumed) {
    const { from } = resumed;
    const c = await loadCheckpoint(from, model.namedWeights());
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

/** Saves of latest/ (model, AdamW moments, batch generator) and best/ (model only), as `progress` stands. */
function checkpointWriters(
  a: Args,
  paths: RunPaths,
  run: RunData,
  { model, opt }: { model: LanguageModel; opt: Adam },
  progress: Progress,
): Pick<TrainContext, 'saveLatest' | 'saveBest'> {
  const settings = { ...toSettings(a, SAVED), words: run.words.length, dataSha256: run.dataSha256 };
  const topology = modelTopology(model, run.vocab);
  const info = (step: number) => ({
    step,
    bestTestLoss: Number.isFinite(progress.best) ? progress.best : null,
    batchRng: progress.batchRng.state(),
    settings,
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
  const parallel = a.workers > 1 ? await DataParallel.start(model, a.batchSize) : null;
  const t0 = performance.now();
  signals.startTraining();
  console.log(`training steps ${progress.step + 1}…${a.maxSteps === -1 ? ' until Ctrl-C' : a.maxSteps}`);
  if (dropping && !parallel)
    console.log(
      `training through the tfjs ops, several times slower than the fused step: --dropout ${run.config.dropout} (the fused step has none)`,
    );
  try {
    // train() keeps one loss per step in memory: run "until interrupted" in chunks
    while (!signals.stopped() && (a.maxSteps === -1 || progress.step < a.maxSteps)) {
      const chunk = Math.min(a.maxSteps === -1 ? Infinity : a.maxSteps - progress.step, 1_000_000);
      const res = await train({
        steps: chunk,
        params: model.params(),
        optimizer: ctx.opt,
        // the step about to run is progress.step + 1
        learningRate: () =>
          a.lrDrop !== undefined && progress.step + 1 > a.lrDrop ? a.learningRate / 10 : a.learningRate,
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
            : // fused (lib/fused): train() finds the model's fused step
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
  await ctx.samples(
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

/** After the lock: the model, then sampling only, or training and the report. */
async function run(a: Args, data: RunData, resumed: MakemoreResumed | null, signals: Signals): Promise<ExitCode> {
  const workDir = path.resolve(a.workDir);
  const paths = { workDir, latestSlot: path.join(workDir, 'latest'), bestSlot: path.join(workDir, 'best') };
  const { model, opt, startStep, best, batchRng } = await buildModel(a, data, resumed);
  const samples = sampler(a, data, model);
  if (a.sampleOnly) {
    await samples(a.numSamples, new TorchGenerator(a.seed + 1));
    model.dispose();
    return 0;
  }
  if (a.maxSteps !== -1 && startStep >= a.maxSteps) {
    console.log(
      `the run in ${rel(workDir)} is at step ${startStep}, --max-steps is ${a.maxSteps}: nothing to train (give a larger --max-steps to continue)`,
    );
    model.dispose();
    return 0;
  }
  const logPath = path.join(workDir, 'log.jsonl');
  startLogs(
    [{ file: logPath }, { file: path.join(workDir, 'log.csv'), header: LOG_CSV_HEADER }],
    a.resume ? startStep : null,
  );
  const progress: Progress = { step: startStep, best, batchRng, savedAt: startStep, ran: 0 };
  const savers = checkpointWriters(a, paths, data, { model, opt }, progress);
  const t0 = await trainRun({ a, paths, run: data, model, opt, samples, logPath, ...savers }, progress, signals);
  opt.dispose();
  const seconds = (performance.now() - t0) / 1000;

  // the report and the loss chart (a chart that cannot be written loses nothing: the checkpoints are saved)
  try {
    writeLossChart(a.type, workDir, logPath);
  } catch (e) {
    console.error(
      `makemore: warning: the loss chart (loss.html) could not be written: ${(e as Error).message}; the checkpoints and logs are saved`,
    );
  }
  const { ran, step } = progress;
  console.log(
    `${ran} steps (to step ${step}) in ${formatDuration(seconds)} (${((1000 * seconds) / Math.max(1, ran)).toFixed(1)} ms/step); best test loss ${progress.best.toFixed(4)}; logs, loss.html and checkpoints (latest/, best/) in ${rel(workDir)}`,
  );
  model.dispose();
  if (signals.stopped()) {
    console.log(`stopped at step ${step}: continue with --resume`);
    return signals.exitCode();
  }
  return 0;
}

const MAKEMORE: Cli<typeof TABLE, RunData> = {
  tool: 'makemore',
  table: TABLE,
  epilogue: EPILOGUE,
  saved: SAVED,
  savedFacts: FACTS,
  entries: ['latest', 'latest.prev', 'best', 'best.prev', 'log.jsonl', 'log.csv', 'loss.html', 'plotly.min.js'],
  // model/, optimizer/: an older makemore's checkpoint, which --overwrite never removes
  older: ['model', 'optimizer'],
  validate,
  recorded,
  prepare,
  stopping: (sig) => `stopping after this step and saving the latest state; ${sig} again to quit now`,
  run,
};

if (process.argv[2] === 'convert')
  convert(process.argv.slice(3)).then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      console.error(`makemore convert: ${e instanceof Error ? e.message : String(e)}`);
      process.exitCode = 1;
    },
  );
else main(MAKEMORE);
