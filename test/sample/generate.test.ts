// lib/sample: the one draw loop and its adapters give every family the distribution a direct forward
// pass gives, the counting table the lecture's exact words, and batching keeps each seed's words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { Vocab, LOWERCASE } from '../../lib/data/vocab';
import { draw, probsFromLogits, type Stepper } from '../../lib/sample/draw';
import { generate, generateText, generateWords, stepperFor } from '../../lib/sample/generate';
import { createModel, zooModel } from '../../lib/models/registry';
import { DEFAULT_CONFIG } from '../../lib/models/zoo/config';
import { MLP } from '../../lib/models/lecture/mlp';
import { TorchGenerator } from '../../lib/random/torch-generator';
import type { LanguageModel } from '../../lib/models/language-model';

const vocab = new Vocab(LOWERCASE);

test('probsFromLogits: temperature and top-k', () => {
  const p = probsFromLogits([1, 2, 3, 4], { topK: 2 });
  assert.equal(p[0], 0);
  assert.equal(p[1], 0);
  assert.ok(Math.abs(p[3]! / p[2]! - Math.E) < 1e-5);
  const cold = probsFromLogits([1, 2], { temperature: 0.5 });
  assert.ok(Math.abs(cold[1]! / cold[0]! - Math.exp(2)) < 1e-4);
});

test('draw: bad options are named before anything is drawn', () => {
  const never = (): Stepper => assert.fail('no stepper should open');
  const g = new TorchGenerator(1);
  assert.throws(() => draw(never, g, { count: 1, maxLength: 3, temperature: 0 }), /temperature must be > 0/);
  assert.throws(() => draw(never, g, { count: 1, maxLength: 3, topK: 0 }), /topK must be a positive integer/);
  assert.throws(() => draw(never, g, { count: 1.5, maxLength: 3 }), /count must be a whole number/);
  assert.throws(() => draw(never, g, { count: 2, maxLength: 3, batch: 0 }), /batch must be a positive integer/);
});

/** The last position's logits of a full forward pass over `ctx` (what each adapter must reproduce). */
function direct(model: LanguageModel, ctx: number[]): Float32Array {
  return tf.tidy(() => {
    const logits = model.forward(tf.tensor2d(ctx, [1, ctx.length], 'int32')).logits;
    return (logits.rank === 3 ? logits.slice([0, ctx.length - 1, 0], [1, 1, -1]) : logits).dataSync() as Float32Array;
  });
}

test('every adapter gives the logits of a direct forward pass over the same context', async () => {
  await initTf();
  const before = tf.memory().numTensors;
  const config = { ...DEFAULT_CONFIG, nLayer: 1, nEmbd: 8, nEmbd2: 8, vocabSize: 27, blockSize: 6 };
  const models: LanguageModel[] = [
    new MLP({ vocabSize: 27, blockSize: 3, nEmbd: 4, nHidden: 8 }, new TorchGenerator(1)),
    zooModel('transformer', config, new TorchGenerator(2)),
    zooModel('lstm', config, new TorchGenerator(3)),
    zooModel('gru', config, new TorchGenerator(4)),
  ];
  const drawn = [5, 1, 14, 14];
  for (const m of models) {
    const stepper = stepperFor(m)(1, [0]);
    const seen: Float32Array[] = [stepper.next(null)];
    for (const id of drawn) seen.push(stepper.next([id]));
    stepper.dispose();
    seen.forEach((got, k) => {
      const history = [0, ...drawn.slice(0, k)];
      // a window model reads the last blockSize tokens, boundary-padded; the others the whole sequence
      const ctx = m.reads === 'window' ? [...new Array(m.blockSize).fill(0), ...history].slice(-m.blockSize) : history;
      const want = direct(m, ctx);
      const err = Math.max(...Array.from(got, (v, i) => Math.abs(v - (want[i] as number))));
      assert.ok(err < 1e-4, `${m.type} step ${k}: max |Δlogit| ${err}`);
    });
    m.dispose();
  }
  assert.equal(tf.memory().numTensors, before, 'the adapters free every tensor they make');
});

test('generate: seeded, batched draws keep the boundary rule; words are cut at it; text continues its seed', async () => {
  await initTf();
  const config = { ...DEFAULT_CONFIG, nLayer: 1, nEmbd: 8, nEmbd2: 8, vocabSize: 27, blockSize: 10 };
  const m = zooModel('rnn', config, new TorchGenerator(7));
  const a = generate(m, new TorchGenerator(42), { count: 6, batch: 3 });
  const b = generate(m, new TorchGenerator(42), { count: 6, batch: 3 });
  assert.deepEqual(a, b, 'same seed, same rows');
  assert.equal(a.length, 6);
  for (const r of a) {
    assert.ok(r.length <= 10);
    assert.ok(!r.includes(0), 'rows stop at the boundary, which is not returned');
  }
  // one row at a time draws from the generator in a different order than three rows per step
  assert.notDeepEqual(generate(m, new TorchGenerator(42), { count: 6 }), a);
  const fixed = generate(m, new TorchGenerator(1), { count: 4, batch: 4, maxLength: 9, stopAtBoundary: false });
  assert.deepEqual(
    fixed.map((r) => r.length),
    [9, 9, 9, 9],
  );
  const words = generateWords(m, vocab, new TorchGenerator(1), {
    count: 4,
    batch: 4,
    maxLength: 9,
    stopAtBoundary: false,
  });
  assert.deepEqual(
    words,
    fixed.map((r) => vocab.decode(r.includes(0) ? r.slice(0, r.indexOf(0)) : r)),
  );
  const text = generateText(m, vocab, 'emma', 12, new TorchGenerator(3));
  assert.ok(text.startsWith('emma'));
  assert.equal(text.length, 4 + 12);
  m.dispose();
  const bigram = createModel('bigram-net', { vocabSize: 27, blockSize: 1 }, new TorchGenerator(2147483647));
  assert.equal(generateWords(bigram, vocab, new TorchGenerator(5), { count: 3 }).length, 3);
  bigram.dispose();
});

test("a window model samples as the lecture's loop does: words longer than its context, same seed same words", async () => {
  await initTf();
  // an untrained MLP (b2 = 0, small W2): near-uniform, so words run long and the boundary comes late
  const m = new MLP({ vocabSize: 27, blockSize: 3, nEmbd: 4, nHidden: 8 }, new TorchGenerator(1), { W2: 0.01, b2: 0 });
  const lecture = (g: TorchGenerator): string[] =>
    Array.from({ length: 5 }, () => {
      const out: number[] = [];
      let context = [0, 0, 0];
      while (out.length < 50) {
        const logits = tf.tidy(() => m.forward(tf.tensor2d(context, [1, 3], 'int32')).logits.dataSync());
        const ix = g.multinomial(probsFromLogits(logits), 1, true)[0] as number;
        if (ix === 0) break;
        context = [...context.slice(1), ix];
        out.push(ix);
      }
      return vocab.decode(out);
    });
  const want = lecture(new TorchGenerator(2147483657));
  assert.deepEqual(generateWords(m, vocab, new TorchGenerator(2147483657), { count: 5 }), want);
  assert.ok(Math.max(...want.map((w) => w.length)) > m.blockSize, 'the test exercises words longer than the context');
  m.dispose();
});
