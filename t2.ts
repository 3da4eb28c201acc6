import { tf, initTf } from './lib/tf';
import { loadWords, Vocab } from './lib/data';
import { buildWindows, lectureSplit, takeRows } from './lib/dataset';
import { MLP } from './lib/models/mlp';
import { TorchGenerator } from './lib/random';
(async () => {
  await initTf();
  const words = loadWords('data/names.txt'); const vocab = Vocab.fromWords(words);
  const split = lectureSplit(words);
  const tr = buildWindows(split.train, vocab, 3);
  const mg = new TorchGenerator(2147483647);
  const mlp = new MLP({ vocabSize: 27, blockSize: 3, nEmbd: 10, nHidden: 200 }, mg);
  const Xtr = tf.tensor2d(tr.X, [tr.n, 3], 'int32'), Ytr = tf.tensor1d(tr.Y, 'int32');
  const opt = tf.train.sgd(0.1);
  const step = () => { const c = opt.minimize(() => { const b = takeRows(tr, mg.randint(0, tr.n, 32)); return mlp.loss(tf.tensor2d(b.X, [32, 3], 'int32'), tf.tensor1d(b.Y, 'int32')); }, true, mlp.params()); c!.dataSync(); c!.dispose(); };
  for (let i = 0; i < 200; i++) step();
  const prof = await tf.profile(() => { for (let i = 0; i < 100; i++) step(); });
  const agg = new Map<string, {n: number, ms: number}>();
  for (const k of prof.kernels) { const e = agg.get(k.name) ?? {n:0, ms:0}; e.n++; e.ms += (k.kernelTimeMs as number); agg.set(k.name, e); }
  console.log([...agg.entries()].sort((a,b)=>b[1].ms-a[1].ms).map(([k,v])=>`${k} n=${v.n/100} ms/step=${(v.ms/100).toFixed(3)}`).join('\n'));
  console.log('kernels/step', prof.kernels.length/100);
  const t0 = performance.now(); for (let i = 0; i < 1000; i++) step(); console.log('ms/step', (performance.now()-t0)/1000);
})();
