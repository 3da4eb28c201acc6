/**
 * nanoGPT's train.py and sample.py for Sequentia: a character-level GPT (lib/models/gpt.ts) on any UTF-8
 * text file — nanoGPT's 90/10 split, random windows, warm-up and cosine learning rate, AdamW with decay on
 * ≥ 2-D weights, gradients clipped, train and val loss every --eval-interval iterations, best and latest
 * checkpoints, --resume bit for bit; and streaming samples from the best checkpoint.
 *
 *   npm run gpt -- --config configs/shakespeare-char-cpu.json --work-dir out/shakespeare-char
 *   npm run gpt -- --work-dir out/shakespeare-char --resume --max-iters 3000
 *   npm run gpt -- sample --work-dir out/shakespeare-char --start "ROMEO:" --num-samples 3
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { tf, initTf } from '../../lib/runtime/tf';
import { Vocab } from '../../lib/data/vocab';
import { readText, describeChar } from '../../lib/data/files';
import type { Batch } from '../../lib/data/batches';
import { batchTensors } from '../../lib/data/batches';
import { GPT } from '../../lib/models/gpt';
import { gptParamCount, gptNonEmbeddingParams } from '../../lib/models/gpt-config';
import { FusedStep } from '../../lib/fused/step';
import { stepperFor } from '../../lib/sample/generate';
import { probsFromLogits } from '../../lib/sample/draw';
import { createOptimizer, type Adam } from '../../lib/train/optimizers';
import { loadCheckpoint, optimizerStateByName, restoreOptimizer, saveCheckpoint } from '../../lib/train/checkpoint';
import { appendLine, savingStep } from '../../lib/train/run-dir';
import { modelTopology } from '../../lib/train/saved-model';
import { dropoutRng } from '../../lib/train/parallel';
import { TorchGenerator } from '../../lib/random/torch-generator';
import { FastGenerator } from '../../lib/random/fast-generator';
import { train, formatDuration, yieldToEventLoop } from '../../lib/train/loop';
import { readJsonLines } from '../../lib/data/read-checked';
import { MAX_MODEL_PARAMS, nearest } from './flags';
import { main, rel, startLogs, usageExit, type Cli, type ExitCode, type Resumed, type Signals } from './run/lifecycle';
import { toSettings } from './run/options';
import {
  EPILOGUE,
  gptConfig,
  learningRateSchedule,
  SAVED,
  settingsProblem,
  TABLE,
  validate,
  type Args,
} from './gpt/args';

type GptResumed = Resumed<typeof TABLE>;

/** The text, its vocabulary and nanoGPT's split of the encoded characters. */
interface RunData {
  vocab: Vocab;
  train: Int32Array;
  val: Int32Array;
  dataSha256: string;
}

/** What samples continue: --start, or a newline (nanoGPT's sample.py). */
const startText = (a: Args): string => a.start ?? '\n';

/** The text's first character outside `vocab` (by position), or null. */
function firstUnknown(chars: readonly string[], vocab: Vocab): { ch: string; at: number } | null {
  for (let i = 0; i < chars.length; i++) if (!vocab.has(chars[i]!)) return { ch: chars[i]!, at: i };
  return null;
}

/**
 * Before the lock: the model's size, the text (a readable UTF-8 file with room for a window in each
 * split) and, from a checkpoint, its vocabulary (every character of the text and of --start in it).
 */
function prepare(a: Args, resumed: GptResumed | null): RunData | ExitCode {
  const saved = resumed?.topology.itos;
  if (a.sampleOnly) {
    const vocab = new Vocab(saved ?? [], null);
    const bad = firstUnknown([...startText(a)], vocab);
    if (bad)
      return usageExit(
        'gpt',
        `--start ${JSON.stringify(startText(a))}: character ${describeChar(bad.ch)} at position ${bad.at + 1} is not in the model's vocabulary (${vocab.size} characters: ${JSON.stringify(vocab.itos.join(''))})`,
      );
    return { vocab, train: new Int32Array(0), val: new Int32Array(0), dataSha256: '' };
  }
  const bad = settingsProblem(a);
  if (bad) return usageExit('gpt', bad);
  const text = readText(a.input);
  const chars = [...text];
  let vocab = new Vocab(chars, null);
  if (saved) {
    const theirs = new Vocab(saved, null);
    const bad = firstUnknown(chars, theirs);
    if (bad)
      return usageExit(
        'gpt',
        `--input ${a.input}: character ${describeChar(bad.ch)} at position ${bad.at} is not in the vocabulary of the checkpoint in ${rel(resumed!.from)} (${theirs.size} characters): it was trained on other text`,
      );
    vocab = theirs;
  }
  if (vocab.size < 2)
    return usageExit('gpt', `--input ${a.input} uses ${vocab.size} distinct character: nothing to learn`);
  const n = chars.length;
  const cut = Math.floor(n * 0.9);
  // get_batch draws offsets in [0, len − block): each split needs at least block + 1 characters
  if (n - cut < a.blockSize + 1)
    return usageExit(
      'gpt',
      `--input ${a.input} has ${n.toLocaleString('en-US')} characters: its last 10 % (the validation split, ${n - cut}) is shorter than --block-size ${a.blockSize} + 1`,
    );
  const config = gptConfig(a, vocab.size);
  const params = gptParamCount(config);
  if (params > MAX_MODEL_PARAMS)
    return usageExit(
      'gpt',
      `a GPT with --n-layer ${a.nLayer} --n-embd ${a.nEmbd} has ${params.toLocaleString('en-US')} parameters, more than the ${MAX_MODEL_PARAMS.toLocaleString('en-US')} this CLI builds`,
    );
  const ids = Int32Array.from(chars, (c) => vocab.stoi(c));
  const dataSha256 = createHash('sha256').update(text).digest('hex');
  if (resumed && a.resume && resumed.info.settings.dataSha256 !== dataSha256)
    console.log(`note: ${a.input} is not the text this run was trained on: the split and batches differ from here on`);
  console.log(
    `${a.input}: ${n.toLocaleString('en-US')} characters, ${vocab.size} distinct; train ${cut.toLocaleString('en-US')}, val ${(n - cut).toLocaleString('en-US')}`,
  );
  return { vocab, train: ids.subarray(0, cut), val: ids.subarray(cut), dataSha256 };
}

/** nanoGPT's get_batch: `rows` windows at random offsets of `data`, targets shifted by one. */
function getBatch(data: Int32Array, rng: FastGenerator, rows: number, T: number): Batch {
  const ix = rng.randint(0, data.length - T, rows);
  const X = new Int32Array(rows * T);
  const Y = new Int32Array(rows * T);
  for (let r = 0; r < rows; r++) {
    const i = ix[r] as number;
    X.set(data.subarray(i, i + T), r * T);
    Y.set(data.subarray(i + 1, i + 1 + T), r * T);
  }
  return { X, Y, rows };
}

/**
 * nanoGPT's estimate_loss for one split: the mean loss of `iters` batches (eval mode: no dropout) —
 * through the fused step's forward where the model has one, else the tfjs ops. Null when a signal asked
 * to stop: the event loop runs between batches, so Ctrl-C is heard within a batch, not after all of them
 * (200 batches of the lecture's model through the tfjs ops take hours).
 */
async function estimateLoss(
  model: GPT,
  fused: FusedStep | null,
  data: Int32Array,
  rng: FastGenerator,
  a: Args,
  stop: () => boolean,
): Promise<number | null> {
  let sum = 0;
  for (let k = 0; k < a.evalIters; k++) {
    await yieldToEventLoop();
    if (stop()) return null;
    const b = getBatch(data, rng, a.batchSize, a.blockSize);
    sum += fused
      ? fused.loss(b)
      : tf.tidy(() => {
          const { X, Y } = batchTensors(b, 'sequence');
          return model.loss(X, Y).dataSync()[0] as number;
        });
  }
  return sum / a.evalIters;
}

/** What training changes as it goes (read by every save, so that a resumed run continues exactly). */
interface Progress {
  /** Iterations done (nanoGPT's iter_num). */
  step: number;
  best: number;
  readonly batchRng: FastGenerator;
  savedAt: number;
  ran: number;
  /** Seconds spent in this session's evaluations and saves (the time per iteration is given without them too). */
  evalSeconds: number;
}

interface Trainee {
  model: GPT;
  /** The model's fused step (null: dropout, or a block size the kernels do not take). */
  fused: FusedStep | null;
  opt: Adam;
  progress: Progress;
}

async function buildModel(a: Args, run: RunData, resumed: GptResumed | null): Promise<Trainee> {
  await initTf();
  const model = new GPT(gptConfig(a, run.vocab.size), new TorchGenerator(a.seed));
  const opt = createOptimizer('adamw', a.learningRate, {
    beta1: a.beta1,
    beta2: a.beta2,
    weightDecay: a.weightDecay,
    noDecay: model.noDecay(),
  }) as Adam;
  const progress: Progress = {
    step: 0,
    best: Infinity,
    batchRng: new FastGenerator(`gpt-${a.seed}`),
    savedAt: 0,
    ran: 0,
    evalSeconds: 0,
  };
  if (resumed) {
    const c = await loadCheckpoint(resumed.from, model.namedWeights());
    model.loadWeights(c.weights);
    tf.dispose(Object.values(c.weights));
    progress.step = progress.savedAt = c.info.step;
    progress.best = c.info.bestTestLoss ?? Infinity;
    if (a.resume) {
      if (!c.optimizer || !c.info.batchRng)
        throw new Error(
          `${rel(resumed.from)} lacks the optimizer or batch generator state: it cannot be resumed exactly`,
        );
      restoreOptimizer(opt, c.optimizer, model.namedWeights());
      Object.assign(progress, { batchRng: FastGenerator.fromState(c.info.batchRng) });
    }
    console.log(
      `loaded the GPT from ${rel(resumed.from)} (iteration ${progress.step}, best val loss ${progress.best.toFixed(4)})`,
    );
  }
  const c = model.config;
  console.log(
    `GPT: ${c.nLayer} layer${c.nLayer === 1 ? '' : 's'}, ${c.nHead} head${c.nHead === 1 ? '' : 's'}, n_embd ${c.nEmbd}, block ${c.blockSize}; ${model.numParams().toLocaleString('en-US')} parameters (${(gptNonEmbeddingParams(c) / 1e6).toFixed(2)}M without the position table, as nanoGPT counts)`,
  );
  const fused = FusedStep.for(model);
  // said before the first evaluation, which takes minutes this way
  const slow = [
    ...(c.dropout > 0 ? [`--dropout ${c.dropout} (the fused step has none)`] : []),
    ...(c.blockSize > 64 ? [`--block-size ${c.blockSize} (the fused attention takes ≤ 64)`] : []),
  ];
  if (!fused && !a.sampleOnly)
    console.log(
      `training through the tfjs ops, several times slower than the fused step: ${slow.join(', ') || 'a layer without its fused half'}`,
    );
  return { model, fused, opt, progress };
}

/** Saves of latest/ (model, AdamW moments, batch generator) and best/ (model only), as `progress` stands. */
function checkpointWriters(a: Args, workDir: string, run: RunData, { model, opt, progress }: Trainee) {
  const settings = { ...toSettings(a, SAVED), dataSha256: run.dataSha256 };
  const topology = modelTopology(model, run.vocab);
  const info = (step: number) => ({
    step,
    bestTestLoss: Number.isFinite(progress.best) ? progress.best : null,
    batchRng: progress.batchRng.state(),
    settings,
  });
  const [latest, best] = [path.join(workDir, 'latest'), path.join(workDir, 'best')];
  return {
    latest: async () => {
      const step = progress.step;
      await savingStep(latest, step, progress.savedAt, () =>
        saveCheckpoint(latest, {
          topology,
          weights: model.namedWeights(),
          optimizer: optimizerStateByName(opt, model.namedWeights()),
          info: info(step),
        }),
      );
      progress.savedAt = step;
    },
    best: () =>
      savingStep(best, progress.step, null, () =>
        saveCheckpoint(best, { topology, weights: model.namedWeights(), optimizer: null, info: info(progress.step) }),
      ),
  };
}

/**
 * An evaluation at progress.step: train and val loss logged, best/ (if better) and latest/ saved. One a
 * signal cuts short logs and saves nothing: the stop saves latest/, and --resume evaluates first.
 */
async function evaluate(
  a: Args,
  run: RunData,
  t: Trainee,
  out: { workDir: string; save: ReturnType<typeof checkpointWriters>; stop: () => boolean },
  t0: number,
): Promise<void> {
  const { progress: p, model } = t;
  const e0 = performance.now();
  // a generator per evaluation, apart from the batches': a resumed run evaluates on the same batches
  const rng = new FastGenerator(`gpt-eval-${a.seed}-${p.step}`);
  const trainLoss = await estimateLoss(model, t.fused, run.train, rng, a, out.stop);
  const valLoss = trainLoss === null ? null : await estimateLoss(model, t.fused, run.val, rng, a, out.stop);
  if (trainLoss === null || valLoss === null) {
    p.evalSeconds += (performance.now() - e0) / 1000;
    console.log(
      `step ${p.step}: evaluation cut short by the signal${p.step > 0 ? ' (--resume evaluates it first)' : ''}`,
    );
    return;
  }
  const seconds = (performance.now() - t0) / 1000;
  const lr = learningRateSchedule(a)(p.step);
  appendLine(
    path.join(out.workDir, 'log.jsonl'),
    p.step,
    JSON.stringify({ step: p.step, train_loss: trainLoss, val_loss: valLoss, lr, seconds }) + '\n',
  );
  appendLine(path.join(out.workDir, 'log.csv'), p.step, `${p.step},${trainLoss},${valLoss},${lr},${seconds}\n`);
  let note = '';
  if (valLoss < p.best) {
    p.best = valLoss;
    if (p.step > 0) {
      await out.save.best();
      note = ' → saved best';
    }
  }
  if (p.step > 0) await out.save.latest();
  p.evalSeconds += (performance.now() - e0) / 1000;
  console.log(
    `step ${p.step}: train loss ${trainLoss.toFixed(4)}, val loss ${valLoss.toFixed(4)} (${seconds.toFixed(1)} s)${note}`,
  );
}

/**
 * Whether the run starts with an evaluation: at iteration 0 (nanoGPT's), and where a signal cut short the
 * evaluation at the checkpoint's iteration (the log has no row for it): as the run that was never stopped.
 */
function evaluationDue(a: Args, step: number, workDir: string): boolean {
  if (step === 0) return true;
  if (step % a.evalInterval !== 0 && step !== a.maxIters) return false;
  const log = path.join(workDir, 'log.jsonl');
  const last = (fs.existsSync(log) ? readJsonLines(log).at(-1)?.value : undefined) as { step?: unknown } | undefined;
  return last?.step !== step;
}

/** Training to --max-iters (or Ctrl-C): fused where the model allows, evaluating and saving as nanoGPT does. */
async function trainRun(a: Args, run: RunData, t: Trainee, workDir: string, signals: Signals): Promise<number> {
  const { model, opt, fused, progress: p } = t;
  const save = checkpointWriters(a, workDir, run, t);
  const out = { workDir, save, stop: signals.stopped };
  const t0 = performance.now();
  signals.startTraining();
  if (evaluationDue(a, p.step, workDir)) await evaluate(a, run, t, out, t0);
  if (signals.stopped() || p.step >= a.maxIters) {
    // stopped in the first evaluation: latest/ at iteration 0, so that --resume starts the same run
    if (p.savedAt !== p.step || p.step === 0) await save.latest();
    return t0;
  }
  const batch = () => getBatch(run.train, p.batchRng, a.batchSize, a.blockSize);
  console.log(`training iterations ${p.step + 1}…${a.maxIters}`);
  const lrAt = learningRateSchedule(a);
  const common = {
    steps: a.maxIters - p.step,
    optimizer: opt,
    // the iteration about to run is p.step (nanoGPT's get_lr(iter_num))
    learningRate: () => lrAt(p.step),
    gradClip: a.gradClip > 0 ? a.gradClip : undefined,
    label: 'gpt',
    onStep: async () => {
      p.step++;
      p.ran++;
      if (p.step % a.evalInterval === 0 || p.step === a.maxIters) await evaluate(a, run, t, out, t0);
    },
    shouldStop: signals.stopped,
  };
  if (fused) await train({ ...common, fusedStep: fused, batch });
  else
    await train({
      ...common,
      params: model.params(),
      loss: () => {
        const b = batch();
        const seed = p.batchRng.randint(0, 2 ** 31 - 1, 1)[0] as number;
        const { X, Y } = batchTensors(b, 'sequence');
        return model.loss(X, Y, { training: true, rng: dropoutRng(seed, 0) });
      },
    });
  if (p.savedAt !== p.step) await save.latest();
  return t0;
}

/**
 * Streams samples: the --start text, then each character as it is drawn (nanoGPT's sample.py). The event
 * loop runs every 50 ms, so that Ctrl-C quits at once (the lecture's model takes seconds a line).
 */
async function sample(a: Args, model: GPT, vocab: Vocab): Promise<void> {
  const rng = new TorchGenerator(a.seed);
  const start = startText(a);
  const prefix = vocab.encode(start);
  const opts = { temperature: a.temperature, topK: a.topK };
  let yielded = performance.now();
  for (let s = 0; s < a.numSamples; s++) {
    process.stdout.write(start);
    const stepper = stepperFor(model)(1, prefix);
    try {
      let drawn: number[] | null = null;
      for (let i = 0; i < a.maxNewTokens; i++) {
        if (performance.now() - yielded > 50) {
          await yieldToEventLoop();
          yielded = performance.now();
        }
        const id = rng.multinomial(probsFromLogits(stepper.next(drawn), opts), 1, true)[0] as number;
        process.stdout.write(vocab.itos[id]!);
        drawn = [id];
      }
    } finally {
      stepper.dispose();
    }
    process.stdout.write('\n---------------\n');
  }
}

async function run(a: Args, data: RunData, resumed: GptResumed | null, signals: Signals): Promise<ExitCode> {
  const workDir = path.resolve(a.workDir);
  const t = await buildModel(a, data, resumed);
  try {
    if (a.sampleOnly) {
      await sample(a, t.model, data.vocab);
      return 0;
    }
    if (t.progress.step >= a.maxIters && !evaluationDue(a, t.progress.step, workDir)) {
      console.log(
        `the run in ${rel(workDir)} is at iteration ${t.progress.step}, --max-iters is ${a.maxIters}: nothing to train (give a larger --max-iters to continue)`,
      );
      return 0;
    }
    startLogs(
      [
        { file: path.join(workDir, 'log.jsonl') },
        { file: path.join(workDir, 'log.csv'), header: 'step,train_loss,val_loss,lr,seconds' },
      ],
      a.resume ? t.progress.step : null,
    );
    const t0 = await trainRun(a, data, t, workDir, signals);
    const seconds = (performance.now() - t0) / 1000;
    const { ran, step, best, evalSeconds } = t.progress;
    const perIteration = (s: number) => ((1000 * s) / Math.max(1, ran)).toFixed(1);
    // best/ is first written at the first evaluation after iteration 0: a run stopped before it has none
    const slots = ['latest/', 'best/'].filter((d) => fs.existsSync(path.join(workDir, d))).join(', ');
    console.log(
      `${ran === 0 ? `no iterations (at ${step}), ${formatDuration(seconds)}` : `${ran} iterations (to ${step}) in ${formatDuration(seconds)} (${perIteration(seconds)} ms/iteration with the evaluations, ${perIteration(seconds - evalSeconds)} without them: evaluations and saves ${evalSeconds.toFixed(1)} s)`}; best val loss ${Number.isFinite(best) ? best.toFixed(4) : 'none yet'}; checkpoints (${slots}) and logs in ${rel(workDir)}`,
    );
    if (signals.stopped()) {
      console.log(`stopped at iteration ${step}: continue with --resume`);
      return signals.exitCode();
    }
    return 0;
  } finally {
    t.fused?.release();
    t.opt.dispose();
    t.model.dispose();
  }
}

const GPT_CLI: Cli<typeof TABLE, RunData> = {
  tool: 'gpt',
  table: TABLE,
  epilogue: EPILOGUE,
  saved: SAVED,
  savedFacts: { dataSha256: { type: 'string', optional: true } },
  entries: ['latest', 'latest.prev', 'best', 'best.prev', 'log.jsonl', 'log.csv'],
  validate,
  conflicts: (_a, r) => (r.topology.type === 'gpt' ? [] : [`the checkpoint holds a ${r.topology.type}, not a GPT`]),
  prepare,
  stopping: (sig) => `stopping after this iteration and saving the latest state; ${sig} again to quit now`,
  run,
};

// `npm run gpt -- sample …` is --sample-only; any other word there is a mistyped command
const command = process.argv[2];
if (command === 'sample') process.argv.splice(2, 1, '--sample-only');
else if (command !== undefined && !command.startsWith('-')) {
  const near = nearest(command, ['sample']);
  console.error(
    `gpt: unknown command '${command}'${near ? ` (did you mean '${near}'?)` : ''}: npm run gpt -- [options] trains, npm run gpt -- sample [options] samples\n(npm run gpt -- --help lists the flags)`,
  );
  process.exit(2);
}
main(GPT_CLI);
