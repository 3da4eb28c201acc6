/**
 * Soak test: trains a makemore model as `npm run makemore` does (same data, split, config, AdamW and, with
 * --workers 2, the same lib/train/parallel path) for many steps, printing the process's RSS and the tensor
 * counts every --every steps, and fails when RSS keeps growing: a leak of a few KB a step only shows over
 * thousands of steps, far beyond what a unit test can run.
 *
 *   npm run soak -- --workers 2 --steps 20000 --type transformer
 *
 * RSS covers both threads (the worker lives in this process). Each reading follows a full garbage
 * collection of this thread's heap (--no-gc: none), so the series shows what is retained: without it
 * the per-step garbage of the data-parallel path piles up in V8's old generation for thousands of steps
 * (about 11 KB a step) and drops at the next major collection, and a verdict would depend on when that
 * comes (docs/soak.md). Growth is measured from --baseline-step (default 2,000: the allocators, V8's heap
 * and the wasm memories have settled by then) to the last step; more than --max-growth-mb (default 40)
 * exits 1. Nothing is written to disk.
 */
import { tf, initTf } from '../../lib/runtime/tf';
import { loadWords } from '../../lib/data/files';
import { Vocab } from '../../lib/data/vocab';
import { sequenceBlockSize, takeSequences } from '../../lib/data/sequences';
import { makemoreData } from '../../lib/data/setups';
import { sampleSequences } from '../../lib/data/batches';
import { MAKEMORE_BATCH_SIZE, MAKEMORE_TRAINING } from '../../lib/models/presets';
import { createOptimizer, type Adam } from '../../lib/train/optimizers';
import { DataParallel } from '../../lib/train/parallel';
import { isZooType, zooModel, ZOO_TYPES } from '../../lib/models/registry';
import { defaultConfig, type ZooConfig } from '../../lib/models/zoo/config';
import { TorchGenerator } from '../../lib/random/torch-generator';
import { FastGenerator } from '../../lib/random/fast-generator';
import { train } from '../../lib/train/loop';
import { parseFlags, UsageError } from './flags';

const USAGE = `usage: npm run soak -- [options]
  --type T              ${ZOO_TYPES.join(' | ')} (default transformer)
  --workers 1|2         as makemore's --workers (default 2)
  --steps N             training steps (default 20000)
  --every N             print RSS and tensor counts every N steps (default 1000)
  --baseline-step N     RSS growth is measured from this step (default 2000)
  --max-growth-mb X     exit 1 if RSS grows more than X MB from --baseline-step to the end (default 40)
  --input FILE          one word per line (default data/names.txt)
  --batch-size N        (default ${MAKEMORE_BATCH_SIZE})
  --seed N              (default 3407)
  --no-gc               no full garbage collection before each reading (by default there is one, through
                        node --expose-gc, which npm run soak sets): RSS then includes garbage V8 has not
                        collected yet, which grows for thousands of steps and drops at a major collection
  --help

exit codes: 0 RSS stayed within the bound · 1 it grew more (a leak) · 2 bad flags`;

const STRINGS = ['type', 'workers', 'steps', 'every', 'baseline-step', 'max-growth-mb', 'input', 'batch-size', 'seed'];

interface SoakArgs {
  type: string;
  workers: number;
  steps: number;
  every: number;
  baselineStep: number;
  maxGrowthMb: number;
  input: string;
  batchSize: number;
  seed: number;
  gc: boolean;
}

function parse(argv: readonly string[]): SoakArgs | 'help' {
  const { values: v } = parseFlags(argv, STRINGS, ['help', 'no-gc']);
  if (v.help) return 'help';
  const str = (k: string, d: string): string => {
    const x = v[k];
    return typeof x === 'string' ? x : d;
  };
  const int = (k: string, d: string, min: number): number => {
    const s = str(k, d);
    const n = Number(s);
    if (!(Number.isInteger(n) && n >= min)) throw new UsageError(`--${k} must be a whole number ≥ ${min}, got '${s}'`);
    return n;
  };
  const type = str('type', 'transformer');
  if (!isZooType(type)) throw new UsageError(`--type must be one of ${ZOO_TYPES.join(', ')}, got '${type}'`);
  const workers = int('workers', '2', 1);
  if (workers > 2) throw new UsageError(`--workers must be 1 or 2, got '${str('workers', '')}'`);
  const maxGrowthMb = Number(str('max-growth-mb', '40'));
  if (!(maxGrowthMb >= 0 && Number.isFinite(maxGrowthMb)))
    throw new UsageError(`--max-growth-mb must be a number ≥ 0, got '${str('max-growth-mb', '')}'`);
  const a: SoakArgs = {
    type,
    workers,
    steps: int('steps', '20000', 1),
    every: int('every', '1000', 1),
    baselineStep: int('baseline-step', '2000', 0),
    maxGrowthMb,
    input: str('input', 'data/names.txt'),
    batchSize: int('batch-size', String(MAKEMORE_BATCH_SIZE), workers),
    seed: int('seed', '3407', 0),
    gc: v['no-gc'] !== true,
  };
  if (a.baselineStep >= a.steps)
    throw new UsageError(`--baseline-step (${a.baselineStep}) must be before the last step (--steps ${a.steps})`);
  return a;
}

const mb = (bytes: number): number => bytes / 2 ** 20;

async function soak(a: SoakArgs): Promise<number> {
  process.env.SEQUENTIA_QUIET_BACKEND ??= '1';
  await initTf({ quiet: true });
  // the data and model as makemore builds them (scripts/cli/makemore.ts loadData and buildModel)
  const words = loadWords(a.input);
  const boundary = words.some((w) => w.includes('.')) ? '\u0000' : '.';
  const vocab = Vocab.fromWords(words, boundary);
  const blockSize = sequenceBlockSize(words);
  const config: ZooConfig = { ...defaultConfig(a.type), vocabSize: vocab.size, blockSize };
  const data = makemoreData(words, { vocab, blockSize, seed: a.seed });
  const model = zooModel(a.type, config, new TorchGenerator(a.seed));
  const opt = createOptimizer('adamw', MAKEMORE_TRAINING.learningRate, {
    beta1: MAKEMORE_TRAINING.beta1,
    beta2: MAKEMORE_TRAINING.beta2,
    weightDecay: MAKEMORE_TRAINING.weightDecay,
  }) as Adam;
  const batchRng = new FastGenerator(`${a.seed}-0`);
  const parallel = a.workers > 1 ? await DataParallel.start(model, a.batchSize) : null;
  console.log(
    `soak: ${a.type}, ${model.numParams().toLocaleString('en-US')} parameters, --workers ${a.workers}, batch ${a.batchSize}, ${a.steps} steps; bound: RSS growth ≤ ${a.maxGrowthMb} MB from step ${a.baselineStep}`,
  );
  console.log('step\tRSS MB\theap MB\texternal MB\ttensors\tworker tensors\tms/step');
  const series: { step: number; rss: number }[] = [];
  let last = performance.now();
  const gc = (globalThis as { gc?: () => void }).gc;
  if (a.gc && !gc) throw new Error('the readings need node --expose-gc (npm run soak sets it), or pass --no-gc');
  const record = (step: number): void => {
    if (a.gc) gc?.();
    const usage = process.memoryUsage();
    const [rss, heap, external] = [mb(usage.rss), mb(usage.heapUsed), mb(usage.external)];
    const now = performance.now();
    const msPerStep = step === 0 ? 0 : (now - last) / a.every;
    last = now;
    series.push({ step, rss });
    const workerTensors = parallel ? String(parallel.workerStats().numTensors) : '-';
    console.log(
      `${step}\t${rss.toFixed(1)}\t${heap.toFixed(1)}\t${external.toFixed(1)}\t${tf.memory().numTensors}\t${workerTensors}\t${msPerStep.toFixed(1)}`,
    );
  };
  record(0);
  try {
    await train({
      steps: a.steps,
      params: model.params(),
      optimizer: opt,
      learningRate: MAKEMORE_TRAINING.learningRate,
      label: a.type,
      progressMs: 0,
      onStepEvery: a.every,
      onStep: (i) => record(i + 1),
      ...(parallel
        ? {
            gradients: () => {
              const b = takeSequences(data.train, batchRng.randint(0, data.train.n, a.batchSize));
              return parallel.gradients(b.X, b.Y, a.batchSize);
            },
          }
        : { model, batch: () => sampleSequences(data.train, batchRng, a.batchSize) }),
    });
  } finally {
    await parallel?.close();
    model.dispose();
    opt.dispose?.();
  }
  // the point at or just after the baseline step, and the last one
  const from = series.find((p) => p.step >= a.baselineStep) ?? series[0]!;
  const to = series[series.length - 1]!;
  const growth = to.rss - from.rss;
  const perStep = (growth * 2 ** 20) / Math.max(1, to.step - from.step);
  const verdict = growth > a.maxGrowthMb ? 'FAIL' : 'ok';
  console.log(
    `${verdict}: RSS ${from.rss.toFixed(1)} MB at step ${from.step} → ${to.rss.toFixed(1)} MB at step ${to.step}: ${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB (${perStep.toFixed(0)} bytes a step; bound ${a.maxGrowthMb} MB)`,
  );
  return growth > a.maxGrowthMb ? 1 : 0;
}

async function main(): Promise<void> {
  let a: SoakArgs | 'help';
  try {
    a = parse(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`${e.message}\n${USAGE}`);
    process.exit(2);
  }
  if (a === 'help') {
    console.log(USAGE);
    return;
  }
  process.exit(await soak(a));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
