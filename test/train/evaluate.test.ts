// lib/train/evaluate: chunked evaluation equals the one-shot mean.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { lectureData } from '../../lib/data/setups';
import { TorchGenerator } from '../../lib/random/torch-generator';
import { buildSequences } from '../../lib/data/sequences';
import { evaluateSequences } from '../../lib/train/evaluate';
import { RecurrentLM } from '../../lib/models/recurrent';

process.env.SEQUENTIA_QUIET_BACKEND = '1';
const data = lectureData(3);

test('evaluateSequences: chunked, padding-weighted mean equals the one-shot mean', async () => {
  await initTf();
  const seqs = buildSequences(data.split.dev.slice(0, 250), data.vocab, 16);
  const m = new RecurrentLM({ cell: 'rnn', vocabSize: 27, blockSize: 16, nEmbd: 8, nHidden: 8 }, new TorchGenerator(1));
  const f = (X: tf.Tensor2D, Y: tf.Tensor2D) => m.forward(X, Y).loss!;
  const whole = evaluateSequences(f, seqs, { chunk: 1000 });
  const chunked = evaluateSequences(f, seqs, { chunk: 64 });
  assert.ok(Math.abs(whole - chunked) < 1e-5, `${whole} vs ${chunked}`);
  m.dispose();
});
