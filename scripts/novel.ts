/**
 * Trains the character LSTM of notebook 08 on The Mysterious Island from the command line, logging the
 * loss every 100 iterations (JSONL) and saving the model, then prints a sample.
 *
 *   npm run novel -- [--book] [--steps N] [--out DIR] [--seed-text "The island"] [--scale 2]
 *   --book: the book's settings (embedding 256, LSTM 512, batch 64); default: 64 / 256 / batch 32.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { initTf } from '../lib/tf';
import { loadMysteriousIsland, randomWindows } from '../lib/text';
import { RecurrentLM } from '../lib/models/recurrent';
import { generateText } from '../lib/generate';
import { saveWeights } from '../lib/io';
import { TorchGenerator, FastGenerator } from '../lib/random';
import { train } from '../lib/train';

async function main(): Promise<void> {
  let a;
  try {
    a = parseArgs({ options: { book: { type: 'boolean', default: false }, steps: { type: 'string' }, out: { type: 'string', default: 'out/novel' }, 'seed-text': { type: 'string', default: 'The island' }, scale: { type: 'string', default: '2' } } }).values;
  } catch (e) {
    console.error(`${(e as Error).message}\nusage: npm run novel -- [--book] [--steps N] [--out DIR] [--seed-text S] [--scale X]`);
    process.exit(2);
  }
  const s = a.book ? { nEmbd: 256, nHidden: 512, batch: 64, steps: 10_000 } : { nEmbd: 64, nHidden: 256, batch: 32, steps: 1_500 };
  const steps = a.steps === undefined ? s.steps : Number(a.steps);
  const scale = Number(a.scale);
  if (!Number.isInteger(steps) || steps < 1) { console.error(`--steps must be a positive integer, got '${a.steps}'`); process.exit(2); }
  if (!(scale > 0)) { console.error(`--scale must be > 0, got '${a.scale}'`); process.exit(2); }
  await initTf();
  const corpus = loadMysteriousIsland();
  const out = path.resolve(a.out!);
  fs.mkdirSync(out, { recursive: true });
  const log = path.join(out, 'loss.jsonl');
  fs.writeFileSync(log, '');
  const model = new RecurrentLM({ cell: 'lstm', vocabSize: corpus.vocab.size, blockSize: 40, nEmbd: s.nEmbd, nHidden: s.nHidden }, new TorchGenerator(1));
  console.log(`LSTM E${s.nEmbd}/H${s.nHidden}, batch ${s.batch}, ${steps} iterations, ${model.numParams()} parameters`);
  const rng = new FastGenerator('mysterious-island');
  const t0 = performance.now();
  let acc = 0;
  await train({
    steps, params: model.params(), optimizer: 'adam', learningRate: 0.005, label: 'LSTM',
    loss: () => { const b = randomWindows(corpus, rng, s.batch, 40); return model.forward(b.X, b.Y).loss!; },
    onStep: (i, loss) => {
      acc += loss;
      if ((i + 1) % 100 === 0) {
        fs.appendFileSync(log, JSON.stringify({ iteration: i + 1, loss: acc / 100, seconds: (performance.now() - t0) / 1000 }) + '\n');
        acc = 0;
      }
    },
  });
  await saveWeights(path.join(out, 'model'), { sequentia: 1, type: 'lstm', config: model.config, itos: [...corpus.vocab.itos], boundary: null }, model.namedWeights());
  console.log(generateText(model, corpus.vocab, a['seed-text']!, 500, new TorchGenerator(1), { temperature: 1 / scale }));
}

main().catch((e: unknown) => { console.error(e instanceof Error ? e.message : String(e)); process.exit(1); });
