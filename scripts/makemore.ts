/**
 * makemore for Sequentia: train any model of the zoo on a one-word-per-line file, checkpoint the best,
 * sample from it.
 *
 *   npm run makemore -- --type transformer --input data/names.txt --work-dir out/names --max-steps 2000
 *   npm run makemore -- --work-dir out/names --sample-only --num-samples 20 --temperature 0.8
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { tf, initTf } from '../lib/tf';
import { loadWords, Vocab } from '../lib/data';
import { buildSequences, makemoreSplit, takeSequences, type Sequences } from '../lib/dataset';
import { createOptimizer, type Adam } from '../lib/optim';
import { DataParallel } from '../lib/parallel';
import { readLossLog } from '../lib/curves';
import { createModel, MODEL_TYPES, DEFAULT_CONFIG, type LanguageModel, type ModelConfig } from '../lib/models/makemore';
import { generate, rowsToWords } from '../lib/generate';
import { saveWeights, loadWeights, type SavedTopology } from '../lib/io';
import { TorchGenerator, FastGenerator } from '../lib/random';
import { train, formatDuration, evaluateSequences } from '../lib/train';
import { sequenceBatch } from '../lib/lecture';
import { lineChart, plotlyJsPath } from '../lib/plots';
import { standaloneHtml } from '../lib/export';

const USAGE = `usage: npm run makemore -- [options]
  --input FILE          one word per line (default data/names.txt)
  --work-dir DIR        checkpoints, logs and the loss chart (default out/makemore)
  --type T              ${MODEL_TYPES.join(' | ')} (default transformer)
  --max-steps N         training steps (default 2000; -1 = until interrupted)
  --resume              continue from the checkpoint in --work-dir
  --sample-only         only print samples from the checkpoint
  --seed N              (default 3407) seeds the split, the initialisation and the batches
  --init-seed N         reseeds the initialisation and the batches only (same test set, another run)
  --batch-size N        (default 32)      --learning-rate X   (default 5e-4)
  --weight-decay X      (default 0.01)    --eval-every N      (default 500)
  --n-layer N --n-head N --n-embd N --n-embd2 N   model size (defaults 4, 4, 64, 64)
  --num-samples N       (default 10)      --temperature X (default 1)   --top-k N
  --workers 1|2         threads that share each batch (default 1). 2 uses the second core: the
                        transformer step went from 71 to 48.5 ms on a quiet 2-core machine; small
                        models gain nothing. Results differ from --workers 1 in float rounding only.
  --help`;

class UsageError extends Error {}

function num(v: string | undefined, name: string, opts: { int?: boolean; min?: number; allowNegOne?: boolean } = {}): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || (opts.int && !Number.isInteger(x)) || (opts.allowNegOne && x === -1 ? false : opts.min !== undefined && x < opts.min)) {
    throw new UsageError(`--${name} must be ${opts.int ? 'an integer' : 'a number'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}, got '${v}'`);
  }
  return x;
}

function parse() {
  const { values } = parseArgs({
    options: {
      input: { type: 'string', default: 'data/names.txt' }, 'input-file': { type: 'string' }, 'work-dir': { type: 'string', default: 'out/makemore' },
      type: { type: 'string', default: 'transformer' }, 'max-steps': { type: 'string', default: '2000' }, resume: { type: 'boolean', default: false },
      'sample-only': { type: 'boolean', default: false }, seed: { type: 'string', default: '3407' }, 'batch-size': { type: 'string', default: '32' },
      'learning-rate': { type: 'string', default: '5e-4' }, 'weight-decay': { type: 'string', default: '0.01' }, 'eval-every': { type: 'string', default: '500' },
      'n-layer': { type: 'string' }, 'n-head': { type: 'string' }, 'n-embd': { type: 'string' }, 'n-embd2': { type: 'string' },
      'num-samples': { type: 'string', default: '10' }, temperature: { type: 'string', default: '1' }, 'top-k': { type: 'string' }, help: { type: 'boolean', default: false },
      workers: { type: 'string', default: '1' }, 'init-seed': { type: 'string' },
    },
    allowPositionals: false,
  });
  if (!(MODEL_TYPES as readonly string[]).includes(values.type!)) throw new UsageError(`unknown model type '${values.type}': choose one of ${MODEL_TYPES.join(', ')}`);
  const temperature = num(values.temperature, 'temperature')!;
  if (!(temperature > 0)) throw new UsageError(`--temperature must be > 0, got '${values.temperature}'`);
  const workers = num(values.workers, 'workers', { int: true, min: 1 })!;
  if (workers > 2) throw new UsageError(`--workers must be 1 or 2, got '${values.workers}'`);
  return {
    workers, initSeed: num(values['init-seed'], 'init-seed', { int: true, min: 0 }), help: values.help!, input: values['input-file'] ?? values.input!, workDir: values['work-dir']!, type: values.type!,
    maxSteps: num(values['max-steps'], 'max-steps', { int: true, min: 0, allowNegOne: true })!, resume: values.resume!, sampleOnly: values['sample-only']!,
    seed: num(values.seed, 'seed', { int: true, min: 0 })!, batchSize: num(values['batch-size'], 'batch-size', { int: true, min: 1 })!,
    lr: num(values['learning-rate'], 'learning-rate', { min: 0 })!, wd: num(values['weight-decay'], 'weight-decay', { min: 0 })!,
    evalEvery: num(values['eval-every'], 'eval-every', { int: true, min: 1 })!,
    nLayer: num(values['n-layer'], 'n-layer', { int: true, min: 1 }), nHead: num(values['n-head'], 'n-head', { int: true, min: 1 }),
    nEmbd: num(values['n-embd'], 'n-embd', { int: true, min: 1 }), nEmbd2: num(values['n-embd2'], 'n-embd2', { int: true, min: 1 }),
    numSamples: num(values['num-samples'], 'num-samples', { int: true, min: 0 })!, temperature, topK: num(values['top-k'], 'top-k', { int: true, min: 1 }),
  };
}

interface Saved { type: string; step: number; bestTestLoss: number }

function evaluate(model: LanguageModel, d: Sequences): number {
  return evaluateSequences((X, Y) => model.forward(X, Y).loss!, d, { chunk: 100, maxRows: 1000 });
}

function printSamples(model: LanguageModel, vocab: Vocab, blockSize: number, train: Set<string>, test: Set<string>, count: number, rng: TorchGenerator, opts: { temperature: number; topK?: number }): void {
  if (count === 0) return;
  const words = rowsToWords(generate(model, blockSize, count, blockSize - 1, rng, opts), vocab);
  const tagged = { 'in train': [] as string[], 'in test': [] as string[], new: [] as string[] };
  for (const w of words) (train.has(w) ? tagged['in train'] : test.has(w) ? tagged['in test'] : tagged.new).push(w);
  console.log('-'.repeat(60));
  for (const [tag, ws] of Object.entries(tagged)) {
    console.log(`${ws.length} samples that are ${tag}:`);
    for (const w of ws) console.log(`  ${w}`);
  }
  console.log('-'.repeat(60));
}

async function main(): Promise<void> {
  let a: ReturnType<typeof parse>;
  try {
    a = parse();
  } catch (e) {
    console.error(`makemore: ${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (a.help) { console.log(USAGE); return; }
  await initTf();
  const workDir = path.resolve(a.workDir);
  const ckpt = path.join(workDir, 'model');

  // data: vocabulary from the file itself; makemore's split: the last min(1000, 10 %) of a seeded permutation
  const words = loadWords(a.input);
  const vocab = Vocab.fromWords(words, words.some((w) => w.includes('.')) ? '\u0000' : '.');
  const blockSize = Math.max(...words.map((w) => [...w].length)) + 1;
  const { train: trainWords, test: testWords } = makemoreSplit(words, a.seed);
  const data = { train: buildSequences(trainWords, vocab, blockSize), test: buildSequences(testWords, vocab, blockSize) };
  console.log(`${words.length} words, ${vocab.size} symbols (${JSON.stringify(vocab.itos.slice(1).join(''))}), block size ${blockSize}; ${trainWords.length} train / ${testWords.length} test`);

  let config: ModelConfig = { ...DEFAULT_CONFIG, vocabSize: vocab.size, blockSize };
  for (const [k, v] of [['nLayer', a.nLayer], ['nHead', a.nHead], ['nEmbd', a.nEmbd], ['nEmbd2', a.nEmbd2]] as const) if (v !== undefined) config = { ...config, [k]: v };
  let type = a.type;
  let startStep = 0;
  let best = Infinity;
  let saved: { topology: SavedTopology<ModelConfig>; weights: Record<string, tf.Tensor> } | null = null;
  if (a.resume || a.sampleOnly) {
    saved = await loadWeights<ModelConfig>(ckpt);
    if (saved.topology.itos.join('') !== vocab.itos.join('')) throw new Error(`the checkpoint in ${ckpt} was trained on another vocabulary`);
    config = saved.topology.config;
    const extra = saved.topology.extra as unknown as Saved;
    type = saved.topology.type;
    startStep = extra.step;
    best = extra.bestTestLoss;
    console.log(`loaded ${type} from ${path.relative(process.cwd(), ckpt)} (step ${startStep}, best test loss ${best.toFixed(4)})`);
  }
  const runSeed = a.initSeed ?? a.seed;
  const model = createModel(type, config, new TorchGenerator(runSeed));
  if (saved) { model.loadWeights(saved.weights); tf.dispose(Object.values(saved.weights)); }
  console.log(`model ${type}: ${model.numParams().toLocaleString('en-US')} parameters`);
  const sampleRng = new TorchGenerator(a.seed + 1);
  const sets = { train: new Set(trainWords), test: new Set(testWords) };
  if (a.sampleOnly) {
    printSamples(model, vocab, blockSize, sets.train, sets.test, a.numSamples, sampleRng, { temperature: a.temperature, topK: a.topK });
    return;
  }

  fs.mkdirSync(workDir, { recursive: true });
  const logPath = path.join(workDir, 'log.jsonl');
  if (!a.resume) { fs.writeFileSync(logPath, ''); fs.writeFileSync(path.join(workDir, 'log.csv'), 'step,train_loss,test_loss,batch_loss\n'); }
  let stop = false;
  process.on('SIGINT', () => { if (stop) process.exit(130); stop = true; console.log('\ninterrupt: stopping after this step (the best checkpoint is kept); Ctrl-C again to quit now'); });

  // AdamW with its moments saved beside the checkpoint (by stable weight names), so --resume continues exactly
  const opt = createOptimizer('adamw', a.lr, { beta1: 0.9, beta2: 0.99, weightDecay: a.wd }) as Adam;
  const stable = new Map(Object.entries(model.namedWeights()).map(([k, v]) => [(v as tf.Variable).name, k]));
  const optDir = path.join(workDir, 'optimizer');
  if (a.resume && fs.existsSync(optDir)) {
    const st = await loadWeights<object>(optDir);
    const at = (st.topology.extra as { step?: number } | undefined)?.step;
    if (at === startStep) {
      const byStable = new Map([...stable].map(([v, k]) => [k, v]));
      const pick = (prefix: string) => Object.fromEntries(Object.entries(st.weights).filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [byStable.get(k.slice(prefix.length)) ?? k, t.dataSync() as Float32Array]));
      opt.loadState({ step: (st.topology.extra as { adamStep: number }).adamStep, m: pick('m:'), v: pick('v:') });
      console.log(`optimizer state restored (AdamW step ${(st.topology.extra as { adamStep: number }).adamStep})`);
    } else console.log(`optimizer state in ${optDir} is from step ${at}, not ${startStep}: AdamW restarts its moments`);
    tf.dispose(Object.values(st.weights));
  }
  const saveOptimizer = async (step: number) => {
    const s = opt.state();
    const w: Record<string, tf.Tensor> = {};
    for (const [which, table] of [['m', s.m], ['v', s.v]] as const) for (const [name, arr] of Object.entries(table)) w[`${which}:${stable.get(name) ?? name}`] = tf.tensor(arr);
    await saveWeights(optDir, { sequentia: 1, type: 'adamw-state', config: {}, itos: [...vocab.itos], boundary: vocab.boundary, extra: { step, adamStep: s.step } }, w);
    tf.dispose(Object.values(w));
  };
  const parallel = a.workers > 1 ? await DataParallel.start({ type, config }, model, a.batchSize) : null;

  const batchRng = new FastGenerator(`${runSeed}-${startStep}`);
  const steps = a.maxSteps === -1 ? Number.MAX_SAFE_INTEGER / 2 : a.maxSteps;
  const t0 = performance.now();
  const res = await train({
    steps: Math.min(steps, 1e9), params: model.params(), optimizer: opt, learningRate: a.lr, label: type,
    ...(parallel
      ? { gradients: () => { const b = takeSequences(data.train, batchRng.randint(0, data.train.n, a.batchSize)); return parallel.gradients(b.X, b.Y, a.batchSize); } }
      : { loss: () => { const b = sequenceBatch(data.train, batchRng, a.batchSize); return model.forward(b.X, b.Y).loss!; } }),
    onStep: async (i, loss) => {
      const step = startStep + i + 1;
      if ((i + 1) % a.evalEvery !== 0 && i + 1 !== steps) return;
      const trainLoss = evaluate(model, data.train);
      const testLoss = evaluate(model, data.test);
      fs.appendFileSync(logPath, JSON.stringify({ step, train_loss: trainLoss, test_loss: testLoss, batch_loss: loss, seconds: (performance.now() - t0) / 1000 }) + '\n');
      fs.appendFileSync(path.join(workDir, 'log.csv'), `${step},${trainLoss},${testLoss},${loss}\n`);
      let note = '';
      if (testLoss < best) {
        best = testLoss;
        await saveWeights(ckpt, { sequentia: 1, type, config, itos: [...vocab.itos], boundary: vocab.boundary, extra: { type, step, bestTestLoss: best } }, model.namedWeights());
        await saveOptimizer(step);
        note = ' → saved best';
      }
      console.log(`\nstep ${step} train loss ${trainLoss.toFixed(4)} test loss ${testLoss.toFixed(4)}${note}`);
      printSamples(model, vocab, blockSize, sets.train, sets.test, Math.min(a.numSamples, 10), sampleRng, { temperature: a.temperature, topK: a.topK });
    },
    shouldStop: () => stop,
  }).finally(() => parallel?.close());
  opt.dispose();
  const all = readLossLog(logPath);
  const fig = lineChart([{ name: 'train', x: all.map((r) => r.step), y: all.map((r) => r.train_loss), mode: 'lines+markers' }, { name: 'test', x: all.map((r) => r.step), y: all.map((r) => r.test_loss), mode: 'lines+markers' }], { title: `makemore ${type}: loss`, xTitle: 'step', yTitle: 'loss' });
  fs.copyFileSync(plotlyJsPath(), path.join(workDir, 'plotly.min.js'));
  fs.writeFileSync(path.join(workDir, 'loss.html'), standaloneHtml(fig, `makemore ${type}`));
  console.log(`${res.losses.length} steps in ${formatDuration(res.seconds)} (${(1000 / res.stepsPerSecond).toFixed(1)} ms/step); best test loss ${best.toFixed(4)}; logs, loss.html and the checkpoint in ${path.relative(process.cwd(), workDir)}`);
  model.dispose();
}

main().catch((e: unknown) => {
  console.error(`makemore: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
