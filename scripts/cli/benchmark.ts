/**
 * Training-step benchmark: each model's step in Sequentia (tfjs) and in an equivalent PyTorch script,
 * in one run on the same machine, written to a markdown report.
 *
 *   npm run benchmark [-- --out docs/benchmark.md --only mlp-batch32 --steps-scale 0.2]
 *
 * PyTorch is optional: when Debian's python3-torch is missing the report has Sequentia's column only.
 * The reference is PyTorch at its best on this machine: OPENBLAS_NUM_THREADS=1 (one BLAS thread per torch
 * thread), OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, and per case the faster of one and two torch threads.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseFlags } from './flags';
import { tf, initTf } from '../../lib/runtime/tf';
import { loadWords } from '../../lib/data/files';
import { Vocab } from '../../lib/data/vocab';
import { buildWindows } from '../../lib/data/windows';
import { minibatch, sampleSequences, sampleWindows, sequenceBatch, type Batch } from '../../lib/data/batches';
import { FusedStep } from '../../lib/fused/step';
import { fusedThreads } from '../../lib/backend/native/threads';
import { BigramNet } from '../../lib/models/lecture/bigram-net';
import { MLP } from '../../lib/models/lecture/mlp';
import { RecurrentLM } from '../../lib/models/recurrent';
import { loadMysteriousIsland, randomWindowBatch, randomWindows } from '../../lib/data/corpus';
import { zooModel, ZOO_TYPES } from '../../lib/models/registry';
import { defaultConfig } from '../../lib/models/zoo/config';
import { buildSequences, takeSequences, sequenceBlockSize } from '../../lib/data/sequences';
import { LECTURE_MLP, MAKEMORE_TRAINING, batchNormMLP } from '../../lib/models/presets';
import { createOptimizer, type TrainOptimizer } from '../../lib/train/optimizers';
import { DataParallel } from '../../lib/train/parallel';
import { TorchGenerator } from '../../lib/random/torch-generator';
import type { LanguageModel } from '../../lib/models/language-model';
import { gptShakespeareCase } from './bench-gpt';
import { PRODUCTS, productsSection } from './bench-products';

const ROOT = path.resolve(__dirname, '..', '..');

interface Case {
  name: string;
  what: string;
  warmup: number;
  steps: number;
  /** The step through the tfjs ops: the "before" of lib/fused. */
  make: () => Bench | Promise<Bench>;
  /** The same step as train() runs it now, where it differs (a fused step). */
  fused?: () => Bench | Promise<Bench>;
  /** The PyTorch case to compare with (default: the same name). */
  torchCase?: string;
}

interface Bench {
  step: () => void;
  dispose: () => void | Promise<void>;
}

/** A training step with its own optimizer, and a disposer for both (so cases do not leak into each other). */
function sgdStep(
  params: tf.Variable[],
  lr: number,
  loss: () => tf.Scalar,
  dispose: () => void,
): { step: () => void; dispose: () => void } {
  const opt = tf.train.sgd(lr);
  return {
    step: () => {
      const c = opt.minimize(loss, true, params);
      c?.dataSync();
      c?.dispose();
    },
    dispose: () => {
      opt.dispose();
      dispose();
    },
  };
}

/**
 * A model's fused step (lib/fused) with `opt`, on the batch `batch()` gives: what train() runs (writes to
 * the model's variables deferred; train() makes them every ~100 ms, the benchmark once at the end).
 */
function fusedStep(model: LanguageModel, opt: TrainOptimizer, batch: () => Batch, opts: { reg?: number } = {}): Bench {
  const fused = FusedStep.for(model, opts);
  if (!fused) throw new Error(`no fused step for ${model.type}`);
  return {
    step: () => void fused.step(batch(), opt, opt.learningRate, { defer: true }),
    dispose: () => {
      fused.release();
      opt.dispose();
      model.dispose();
    },
  };
}

function cases(words: string[], vocab: Vocab): Case[] {
  return [
    {
      name: 'bigram-full-batch',
      what: 'bigram net, one-hot @ W, 228,146 examples, lr 50',
      warmup: 3,
      steps: 50,
      make: () => {
        const all = buildWindows(words, vocab, 1);
        const X = tf.tensor1d(all.X, 'int32');
        const Y = tf.tensor1d(all.Y, 'int32');
        const net = new BigramNet(new TorchGenerator(2147483647));
        return sgdStep(
          net.params(),
          50,
          () => net.loss(X, Y, { reg: 0.01, via: 'onehot' }),
          () => {
            net.dispose();
            tf.dispose([X, Y]);
          },
        );
      },
      fused: () => {
        const all = buildWindows(words, vocab, 1);
        const batch = { X: all.X, Y: all.Y, rows: all.n };
        const net = new BigramNet(new TorchGenerator(2147483647));
        return fusedStep(net, createOptimizer('sgd', 50), () => batch, { reg: 0.01 });
      },
    },
    {
      name: 'mlp-batch32',
      what: 'MLP E10/H200, block 3, batch 32, SGD',
      warmup: 50,
      steps: 1000,
      make: () => {
        const d = buildWindows(words, vocab, 3);
        const g = new TorchGenerator(2147483647);
        const m = new MLP(LECTURE_MLP, g);
        return sgdStep(
          m.params(),
          0.1,
          () => {
            const b = minibatch(d, g, 32);
            return m.loss(b.X, b.Y);
          },
          () => m.dispose(),
        );
      },
      fused: () => {
        const d = buildWindows(words, vocab, 3);
        const g = new TorchGenerator(2147483647);
        return fusedStep(new MLP(LECTURE_MLP, g), createOptimizer('sgd', 0.1), () => sampleWindows(d, g, 32));
      },
    },
    {
      name: 'mlp-batchnorm-batch32',
      what: 'MLP + BatchNorm E10/H200, batch 32, SGD',
      warmup: 50,
      steps: 1000,
      make: () => {
        const d = buildWindows(words, vocab, 3);
        const g = new TorchGenerator(2147483647);
        const m = batchNormMLP(g);
        return sgdStep(
          m.params(),
          0.1,
          () => {
            const b = minibatch(d, g, 32);
            return m.loss(b.X, b.Y, { training: true });
          },
          () => m.dispose(),
        );
      },
      fused: () => {
        const d = buildWindows(words, vocab, 3);
        const g = new TorchGenerator(2147483647);
        return fusedStep(batchNormMLP(g), createOptimizer('sgd', 0.1), () => sampleWindows(d, g, 32));
      },
    },
    ...(
      [
        [64, 128, 50],
        [256, 512, 50],
      ] as const
    ).map(([E, H, steps]): Case => ({
      name: `lstm-e${E}-h${H}`,
      what: `LSTM on the novel, E${E}/H${H}, seq 40, batch 64, Adam`,
      warmup: 3,
      steps,
      make: () => {
        const corpus = loadMysteriousIsland(path.join(ROOT, 'data', 'mysterious-island.txt'));
        const m = new RecurrentLM(
          { cell: 'lstm', vocabSize: corpus.vocab.size, blockSize: 40, nEmbd: E, nHidden: H },
          new TorchGenerator(1),
        );
        const rng = new TorchGenerator(2);
        const opt = createOptimizer('adam', 0.005);
        return {
          step: () => {
            const c = opt.minimize(
              () => {
                const b = randomWindows(corpus, rng, 64, 40);
                return m.forward(b.X, b.Y).loss!;
              },
              true,
              m.params(),
            );
            c?.dataSync();
            c?.dispose();
          },
          dispose: () => {
            m.dispose();
            opt.dispose();
          },
        };
      },
      fused: () => {
        const corpus = loadMysteriousIsland(path.join(ROOT, 'data', 'mysterious-island.txt'));
        const m = new RecurrentLM(
          { cell: 'lstm', vocabSize: corpus.vocab.size, blockSize: 40, nEmbd: E, nHidden: H },
          new TorchGenerator(1),
        );
        const rng = new TorchGenerator(2);
        return fusedStep(m, createOptimizer('adam', 0.005), () => randomWindowBatch(corpus, rng, 64, 40));
      },
    })),
    ...ZOO_TYPES.map((type): Case => ({
      name: `zoo-${type}`,
      what:
        type === 'wavenet'
          ? "the WaveNet lecture's model on makemore's sequences (context 8, n_embd 24, n_hidden 128), batch 32, AdamW"
          : `makemore ${type} (n_layer 4, n_head 4, n_embd 64, n_embd2 64), batch 32, AdamW`,
      warmup: 10,
      steps: 100,
      make: () => zooCase(words, vocab, type),
      fused: () => zooFused(words, vocab, type),
    })),
    {
      name: 'zoo-transformer-2threads',
      what: 'the same transformer step, the batch split over two threads (lib/train/parallel, `--workers 2`), each half one thread',
      warmup: 10,
      steps: 100,
      torchCase: 'zoo-transformer',
      make: () => zooCase(words, vocab, 'transformer', { fused: false }),
      fused: () => zooCase(words, vocab, 'transformer', { fused: true }),
    },
    gptShakespeareCase(ROOT),
  ];
}

/** A makemore model's fused AdamW step at the defaults (the same draws as zooCase's). */
function zooFused(words: string[], vocab: Vocab, type: string): Bench {
  const T = sequenceBlockSize(words);
  const seqs = buildSequences(words, vocab, T);
  const m = zooModel(type, { ...defaultConfig(type), vocabSize: vocab.size, blockSize: T }, new TorchGenerator(3407));
  const rng = new TorchGenerator(1);
  const { learningRate, beta1, beta2, weightDecay } = MAKEMORE_TRAINING;
  const opt = createOptimizer('adamw', learningRate, { beta1, beta2, weightDecay });
  return fusedStep(m, opt, () => sampleSequences(seqs, rng, 32));
}

/**
 * A makemore model's AdamW step at the defaults through the ops, or with `split` the batch split over two
 * threads (DataParallel), each half fused or through the ops.
 */
async function zooCase(words: string[], vocab: Vocab, type: string, split?: { fused: boolean }): Promise<Bench> {
  const T = sequenceBlockSize(words);
  const seqs = buildSequences(words, vocab, T);
  const config = { ...defaultConfig(type), vocabSize: vocab.size, blockSize: T };
  const m = zooModel(type, config, new TorchGenerator(3407));
  const rng = new TorchGenerator(1);
  const { learningRate, beta1, beta2, weightDecay } = MAKEMORE_TRAINING;
  const opt = createOptimizer('adamw', learningRate, { beta1, beta2, weightDecay });
  const dp = split ? await DataParallel.start(m, 32, split) : null;
  return {
    step: () => {
      const v = tf.tidy(() => {
        if (dp) {
          const b = takeSequences(seqs, rng.randint(0, seqs.n, 32));
          const r = dp.gradients(b.X, b.Y, 32);
          opt.applyGradients(r.grads);
          return r.loss.dataSync()[0];
        }
        const c = opt.minimize(
          () => {
            const b = sequenceBatch(seqs, rng, 32);
            return m.forward(b.X, b.Y, { training: true }).loss!;
          },
          true,
          m.params(),
        );
        return c?.dataSync()[0];
      });
      void v;
    },
    dispose: async () => {
      await dp?.close();
      m.dispose();
      opt.dispose();
    },
  };
}

/** The table of the first measurements (`baseline`: Sequentia and PyTorch then) against this run's. */
function startingPoint(
  baseline: Results,
  selected: Case[],
  ours: Record<string, Measured>,
  torchMs: (c: Case) => number | undefined,
): string[] {
  const x = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? '–' : (a / b).toFixed(2) + '×';
  const rows = selected.filter((c) => baseline.sequentiaMs[c.name] !== undefined);
  return [
    `## Where it started`,
    '',
    `The first measurements (${baseline.measured}, \`docs/benchmark-baseline.json\`) against this run.`,
    '',
    '| case | Sequentia then ms | PyTorch then ms | ratio then | Sequentia now ms | ratio now | Sequentia now / then |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((c) => {
      const [then, torchThen, now] = [baseline.sequentiaMs[c.name], baseline.pytorchMs[c.name], ours[c.name]!.ms];
      return `| ${c.name} | ${then} | ${torchThen ?? '–'} | ${x(then, torchThen)} | ${now.toFixed(3)} | ${x(now, torchMs(c))} | ${x(now, then)} |`;
    }),
    '',
  ];
}

/** The measurements of a run, kept as data beside the report (the next run's "before" column). */
interface Results {
  measured: string;
  sequentiaMs: Record<string, number>;
  pytorchMs: Record<string, number>;
}

/** Where the speed-up started: issue 14's measurements, before lib/fused (the report's last table). */
const BASELINE = path.join(ROOT, 'docs', 'benchmark-baseline.json');

/** The results beside an earlier report (`<report>.json`), if any; a malformed file is named, not fatal. */
function readPrevious(file: string): Results | null {
  if (!fs.existsSync(file)) return null;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Results;
  } catch (e) {
    console.warn(`${path.relative(ROOT, file)} is not readable JSON (${(e as Error).message}): no "before" column`);
    return null;
  }
}

interface Measured {
  ms: number;
  steps: number;
  tensorsBefore: number;
  tensorsAfter: number;
}

/** Median ms per step of one way of running a case, after its warm-up; tensors alive around the timed steps. */
async function measure(c: Case, make: () => Bench | Promise<Bench>, steps: number, how: string): Promise<Measured> {
  const { step, dispose } = await make();
  for (let i = 0; i < c.warmup; i++) step();
  const before = tf.memory().numTensors;
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  const after = tf.memory().numTensors;
  await dispose();
  console.log(
    `sequentia ${how} ${c.name}: ${median(times).toFixed(3)} ms/step (median of ${steps}); tensors ${before} → ${after}`,
  );
  return { ms: median(times), steps, tensorsBefore: before, tensorsAfter: after };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** One torch run's measurements (scripts/torch/bench.py's output). */
interface TorchRun {
  torch: string;
  threads: number;
  blas: { library: string; core: string; config: string };
  cases: Record<string, { median_ms: number; steps: number }>;
}

/** PyTorch at its best here: one and two torch threads, each case's faster of the two the reference. */
interface TorchReference {
  version: string;
  blas: TorchRun['blas'];
  /** Milliseconds per step by torch thread count, and the reference (the lower). */
  ms: { 1: Record<string, number>; 2: Record<string, number>; best: Record<string, number> };
}

/**
 * The PyTorch reference: scripts/torch/bench.py with one torch thread, then two, OPENBLAS_NUM_THREADS=1,
 * and OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for its command alone (machines of this kind set them
 * for older OpenBLAS builds; they pin OpenBLAS to an older, slower kernel).
 */
function runTorch(only: string[] | undefined): TorchReference | string {
  const py = '/usr/bin/python3';
  const probe = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
  if (probe.status !== 0) return 'PyTorch not installed (apt-get install python3-torch libopenblas0-pthread)';
  const script = path.join(ROOT, 'scripts', 'torch', 'bench.py');
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: '1' };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const runs: TorchRun[] = [];
  for (const threads of [1, 2]) {
    const r = spawnSync(
      py,
      [
        script,
        '--threads',
        String(threads),
        '--names',
        path.join(ROOT, 'data', 'names.txt'),
        '--novel',
        path.join(ROOT, 'data', 'mysterious-island.txt'),
        ...(only?.length ? ['--only', only.join(',')] : []),
      ],
      { encoding: 'utf8', env, maxBuffer: 1 << 24 },
    );
    if (r.status !== 0) return `PyTorch run failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`;
    runs.push(JSON.parse(r.stdout) as TorchRun);
  }
  const [one, two] = runs as [TorchRun, TorchRun];
  const ms = (run: TorchRun) => Object.fromEntries(Object.entries(run.cases).map(([k, v]) => [k, v.median_ms]));
  const [ms1, ms2] = [ms(one), ms(two)];
  const best = Object.fromEntries(Object.keys(ms1).map((k) => [k, Math.min(ms1[k]!, ms2[k] ?? Infinity)]));
  return { version: one.torch, blas: one.blas, ms: { 1: ms1, 2: ms2, best } };
}

const USAGE = `usage: npm run benchmark -- [options]
  --out FILE            the markdown report (default docs/benchmark.md; the measurements go next to it as
                        FILE's name with .json)
  --only CASE           run only this case (repeatable: --only a --only b); a case's name is the first
                        column of the report
  --steps-scale X       multiply every case's step count by X > 0 (default 1; 0.2 for a quick look)
  --no-torch            skip the PyTorch reference (otherwise run when python3-torch is installed)
  --help                this text

exit codes: 0 report written · 1 a benchmark failed · 2 an unknown flag, a bad value or no matching case`;

/** The flags, or a usage error (exit 2) naming an unknown flag; --help prints USAGE and exits 0. */
function parseCli() {
  let v: ReturnType<typeof parseFlags>['values'];
  try {
    v = parseFlags(process.argv.slice(2), ['out', 'only', 'steps-scale'], ['no-torch', 'help'], ['only']).values;
  } catch (e) {
    // node:util's message for an unknown flag already names it ("Unknown option '--foo'")
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (v.help === true) {
    console.log(USAGE);
    process.exit(0);
  }
  return {
    out: (v.out as string | undefined) ?? 'docs/benchmark.md',
    only: v.only as string[] | undefined,
    'steps-scale': (v['steps-scale'] as string | undefined) ?? '1',
    'no-torch': v['no-torch'] === true,
  };
}

async function main(): Promise<void> {
  const args = parseCli();
  const scale = Number(args['steps-scale']);
  if (!(scale > 0)) {
    console.error(`--steps-scale must be a number > 0, got '${args['steps-scale']}'\n${USAGE}`);
    process.exit(2);
  }
  const backend = await initTf({ quiet: true });
  const words = loadWords(path.join(ROOT, 'data', 'names.txt'));
  const vocab = Vocab.fromWords(words);
  const selected = cases(words, vocab).filter((c) => !args.only || args.only.includes(c.name));
  if (selected.length === 0) {
    console.error(`no benchmark case matches ${JSON.stringify(args.only)}`);
    process.exit(2);
  }

  const ours: Record<string, Measured> = {};
  const opsOnly: Record<string, Measured> = {};
  for (const c of selected) {
    const steps = Math.max(10, Math.round(c.steps * scale));
    if (c.fused) {
      opsOnly[c.name] = await measure(c, c.make, steps, 'ops  ');
      ours[c.name] = await measure(c, c.fused, steps, 'fused');
    } else {
      ours[c.name] = await measure(c, c.make, steps, '     ');
    }
  }
  const torchNames = args.only ? [...new Set(selected.map((c) => c.torchCase ?? c.name))] : undefined;
  const torch = args['no-torch'] ? 'skipped (--no-torch)' : runTorch(torchNames);
  if (typeof torch !== 'string') {
    console.log(`pytorch   BLAS: ${torch.blas.config || torch.blas.library} (kernel ${torch.blas.core})`);
    for (const k of Object.keys(torch.ms.best))
      console.log(
        `pytorch   ${k}: ${torch.ms[1][k]!.toFixed(3)} ms/step with 1 thread, ${torch.ms[2][k]!.toFixed(3)} with 2 (medians)`,
      );
  }

  const products = productsSection(
    PRODUCTS.filter((p) => selected.some((c) => c.name === p.step)),
    args['no-torch'],
  );
  const out = path.resolve(ROOT, args.out!);
  const resultsFile = out.replace(/(\.md)?$/, '.json');
  const previous = readPrevious(resultsFile);
  const baseline = readPrevious(BASELINE);
  const measured = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const torchAt = (c: Case, which: 1 | 2 | 'best') =>
    typeof torch === 'string' ? undefined : torch.ms[which][c.torchCase ?? c.name];
  const torchMs = (c: Case) => torchAt(c, 'best');
  const ratio = (ms: number | undefined, t: number | undefined) =>
    ms === undefined || t === undefined ? '–' : (ms / t).toFixed(2) + '×';
  const ms = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(3));
  const ratios = selected.flatMap((c) => {
    const t = torchMs(c);
    return t === undefined ? [] : [{ name: c.name, r: ours[c.name]!.ms / t }];
  });
  const summary =
    ratios.length === 0
      ? []
      : [
          `Geometric mean of the ratios: **${Math.exp(ratios.reduce((a, x) => a + Math.log(x.r), 0) / ratios.length).toFixed(2)}×** over ${ratios.length} cases; ` +
            `highest: ${[...ratios]
              .sort((a, b) => b.r - a.r)
              .slice(0, 3)
              .map((x) => `${x.name} ${x.r.toFixed(2)}×`)
              .join(', ')}.`,
          '',
        ];
  const lines = [
    '# Training-step benchmark',
    '',
    `Measured ${measured} UTC on ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
    `Sequentia: @tensorflow/tfjs ${tf.version.tfjs}, backend **${backend}**, with lib/backend's wasm fixes and native kernels; fused steps (lib/fused) use ${fusedThreads()} thread(s) for their larger matrix products.`,
    typeof torch === 'string'
      ? `PyTorch: ${torch}.`
      : `PyTorch ${torch.version} on ${torch.blas.config || torch.blas.library} (kernel **${torch.blas.core}**): OPENBLAS_NUM_THREADS=1, ` +
        'OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for its command; one and two torch threads, the faster of the two per case is the reference.',
    '',
    'Median milliseconds per training step (forward, backward, update, loss read back), after warm-up.',
    '',
    '- **ops**: the step through the tfjs ops (autograd tape, one kernel launch per op), as train() ran every model before lib/fused;',
    '- **Sequentia**: the step as train() runs it now: fused (lib/fused: forward, backward and update in one pass of our kernels) where the case says *fused*, else the ops;',
    `- **before**: the Sequentia column of the report this run replaced${previous ? ` (${previous.measured})` : ''}. PyTorch's columns are this run's.`,
    '',
    '| case | what | before ms | ops ms | Sequentia ms | PyTorch 1 thread ms | PyTorch 2 threads ms | ratio (Sequentia / the faster PyTorch) |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...selected.map((c) => {
      const o = ours[c.name]!;
      const how = c.fused ? ' (*fused*)' : '';
      return `| ${c.name} | ${c.what}${how} | ${ms(previous?.sequentiaMs[c.name])} | ${ms(opsOnly[c.name]?.ms ?? o.ms)} | ${o.ms.toFixed(3)} | ${ms(torchAt(c, 1))} | ${ms(torchAt(c, 2))} | ${ratio(o.ms, torchMs(c))} |`;
    }),
    '',
    ...summary,
    `Tensors alive before/after the timed steps (must not grow): ${selected.map((c) => `${c.name} ${ours[c.name]!.tensorsBefore}→${ours[c.name]!.tensorsAfter}`).join(', ')}.`,
    '',
    ...products,
    ...(baseline ? startingPoint(baseline, selected, ours, torchMs) : []),
    'Reproduce: `npm run benchmark` (needs `apt-get install python3-torch libopenblas0-pthread` for the PyTorch column).',
    '',
  ];
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, lines.join('\n'));
  const results: Results = {
    measured,
    sequentiaMs: Object.fromEntries(selected.map((c) => [c.name, ours[c.name]!.ms])),
    pytorchMs: typeof torch === 'string' ? {} : torch.ms.best,
  };
  fs.writeFileSync(resultsFile, JSON.stringify(results, null, 1) + '\n');
  console.log(`report written to ${path.relative(ROOT, out)}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
