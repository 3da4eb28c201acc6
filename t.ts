import { tf, initTf } from './lib/tf';
import { loadWords, Vocab } from './lib/data';
import { buildWindows, lectureSplit } from './lib/dataset';
import { BigramNet } from './lib/models/bigram-net';
import { MLP } from './lib/models/mlp';
import { TorchGenerator } from './lib/random';
import { train } from './lib/train';
(async () => {
  await initTf();
  const words = loadWords('data/names.txt'); const vocab = Vocab.fromWords(words);
  const g = new TorchGenerator(2147483647);
  const net = new BigramNet(g);
  const emma = buildWindows(['emma'], vocab, 1);
  const x = tf.tensor1d(emma.X, 'int32'), y = tf.tensor1d(emma.Y, 'int32');
  console.log('emma loss', net.loss(x, y, {via: 'onehot'}).dataSync()[0], net.loss(x, y).dataSync()[0]);
  const all = buildWindows(words, vocab, 1);
  const X = tf.tensor1d(all.X, 'int32'), Y = tf.tensor1d(all.Y, 'int32');
  for (const via of ['onehot', 'gather'] as const) {
    const t0 = performance.now();
    const r = train({ steps: 20, params: net.params(), loss: () => net.loss(X, Y, { reg: 0.01, via }), learningRate: 50, progressMs: 0 });
    console.log(via, 'ms/step', ((performance.now() - t0) / 20).toFixed(1), r.losses[0], r.losses[19], tf.memory().numTensors);
  }
  const split = lectureSplit(words);
  const tr = buildWindows(split.train, vocab, 3);
  console.log(split.train.length, split.dev.length, split.test.length, tr.n);
  const mg = new TorchGenerator(2147483647);
  const mlp = new MLP({ vocabSize: 27, blockSize: 3, nEmbd: 10, nHidden: 200 }, mg);
  console.log('params', mlp.numParams());
  const Xtr = tf.tensor2d(tr.X, [tr.n, 3], 'int32'), Ytr = tf.tensor1d(tr.Y, 'int32');
  const r = train({ steps: 2000, params: mlp.params(), loss: () => { const ix = tf.tensor1d(mg.randint(0, tr.n, 32), 'int32'); return mlp.loss(tf.gather(Xtr, ix) as tf.Tensor2D, tf.gather(Ytr, ix) as tf.Tensor1D); }, learningRate: 0.1, progressMs: 0 });
  console.log('mlp steps/s', r.stepsPerSecond.toFixed(0), 'ms/step', (1000/r.stepsPerSecond).toFixed(3), r.losses[0], r.losses[1999], tf.memory().numTensors);
})();
