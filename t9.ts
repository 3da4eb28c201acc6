import { tf, initTf } from './lib/tf';
import { loadMysteriousIsland, randomWindows } from './lib/text';
import { RecurrentLM } from './lib/models/recurrent';
import { TorchGenerator, FastGenerator } from './lib/random';
(async () => {
  await initTf();
  const c = loadMysteriousIsland();
  const [E, H, B] = process.argv.slice(2).map(Number);
  const m = new RecurrentLM({ cell: 'lstm', vocabSize: c.vocab.size, blockSize: 40, nEmbd: E!, nHidden: H! }, new TorchGenerator(1));
  const opt = tf.train.adam(0.005);
  const rng = new FastGenerator(1);
  const t0 = performance.now(); let acc = 0;
  for (let i = 1; i <= 100000; i++) {
    const cost = opt.minimize(() => { const b = randomWindows(c, rng, B!, 40); return m.forward(b.X, b.Y).loss!; }, true, m.params());
    acc += cost!.dataSync()[0]!; cost!.dispose();
    if (i % 100 === 0) { console.log(`${E}/${H}/${B} step ${i} loss ${(acc / 100).toFixed(4)} t ${((performance.now() - t0) / 1000).toFixed(0)}s`); acc = 0; }
    if (performance.now() - t0 > 15 * 60 * 1000) break;
  }
})();
