// lib/sample: the one draw loop and its adapters give every family the distribution a direct forward
// pass gives, the counting table the lecture's exact words, and batching keeps each seed's words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { Vocab, LOWERCASE } from '../../lib/data/vocab';
import { draw, probsFromLogits, type SampleOptions, type Stepper } from '../../lib/sample/draw';
import {
  generate,
  generateStream,
  generateText,
  generateWords,
  generateWordsStream,
  stepperFor,
  type GenerateOptions,
} from '../../lib/sample/generate';
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
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ temperature: -1 }, /^RangeError: temperature must be a finite number ≥ 0 \(0: greedy\), got -1$/],
    [{ temperature: NaN }, /temperature .* got NaN/],
    [{ temperature: Infinity }, /temperature .* got Infinity/],
    [{ temperature: -Infinity }, /temperature .* got -Infinity/],
    [{ temperature: '0.8' }, /^TypeError: temperature must be a number, got the string "0.8"$/],
    [{ topK: 0 }, /^RangeError: topK must be a positive integer, got 0$/],
    [{ topK: -2 }, /topK must be a positive integer, got -2/],
    [{ topK: 1.5 }, /topK must be a positive integer, got 1.5/],
    [{ topK: NaN }, /topK must be a positive integer, got NaN/],
    [{ topK: Infinity }, /topK must be a positive integer, got Infinity/],
    [{ topK: '3' }, /^TypeError: topK must be a number, got the string "3"$/],
    [{ count: 1.5 }, /^RangeError: count must be a whole number ≥ 0, got 1.5$/],
    [{ count: -1 }, /count must be a whole number ≥ 0, got -1/],
    [{ count: NaN }, /count must be a whole number ≥ 0, got NaN/],
    [{ maxLength: -1 }, /^RangeError: maxLength must be a whole number ≥ 0, got -1$/],
    [{ maxLength: NaN }, /maxLength must be a whole number ≥ 0, got NaN/],
    [{ maxLength: 1.5 }, /maxLength must be a whole number ≥ 0, got 1.5/],
    [{ maxLength: Infinity }, /maxLength must be a whole number ≥ 0, got Infinity/],
    [{ maxLength: '9' }, /^TypeError: maxLength must be a number, got the string "9"$/],
    [{ batch: 0 }, /batch must be a whole number ≥ 1, got 0/],
    [{ batch: -0 }, /batch must be a whole number ≥ 1, got -0/],
    [{ prefix: [1.5] }, /^RangeError: prefix\[0\] is 1.5: a token id must be an integer ≥ 0$/],
    [{ prefix: [0, -1] }, /prefix\[1\] is -1/],
    [{ prefix: [] }, /prefix is empty/],
    [{ prefix: ['a'] }, /^TypeError: prefix\[0\] must be a token id, got the string "a"$/],
    [{ prefix: 'ab' }, /^TypeError: prefix must be an array of token ids/],
    [{ stopAtBoundary: 'no' }, /^TypeError: stopAtBoundary must be true or false/],
  ];
  for (const [o, want] of bad)
    assert.throws(
      () => draw(never, g, { count: 2, maxLength: 3, ...o } as unknown as Parameters<typeof draw>[2]),
      (e: Error) => want.test(`${e.name}: ${e.message}`),
      JSON.stringify(o, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)),
    );
  // the vocabulary bound, where the caller knows it
  assert.throws(() => draw(never, g, { count: 1, maxLength: 3, prefix: [0, 27] }, 27), {
    name: 'RangeError',
    message: 'prefix[1] is 27: a token id must be an integer in [0, 27)',
  });
  // no number was taken from the generator by any of these
  assert.deepEqual(
    g.multinomial(Float32Array.of(0.5, 0.5), 4, true),
    new TorchGenerator(1).multinomial(Float32Array.of(0.5, 0.5), 4, true),
  );
  // the limits that are not errors: 0 rows, 0 tokens, −0 as 0
  const empty = (): Stepper => ({ gives: 'logits', next: () => Float32Array.of(0, 0), dispose() {} });
  assert.deepEqual(draw(empty, g, { count: 0, maxLength: 3 }).ids, []);
  assert.deepEqual(draw(empty, g, { count: 2, maxLength: 0 }).ids, [[], []]);
  assert.deepEqual(draw(empty, g, { count: -0, maxLength: -0 }).ids, []);
});

test('probsFromLogits: temperature 0 and tiny temperatures are greedy, never NaN; bad logits and options are named', () => {
  const logits = [1, 3, 2, 3, -Infinity];
  const greedy = Array.from(probsFromLogits(logits, { temperature: 0 }));
  assert.deepEqual(greedy, [0, 1, 0, 0, 0], 'temperature 0: the largest logit, the lowest id among ties');
  assert.deepEqual(Array.from(probsFromLogits(logits, { temperature: -0 })), greedy, '−0 is 0');
  assert.deepEqual(Array.from(probsFromLogits(logits, { temperature: 0, topK: 1 })), greedy);
  // a tiny positive temperature: the limit of softmax, the tied largest share the mass, nothing NaN
  for (const t of [1e-40, 5e-324, 1e-300])
    assert.deepEqual(Array.from(probsFromLogits(logits, { temperature: t })), [0, 0.5, 0, 0.5, 0], `t = ${t}`);
  assert.deepEqual(Array.from(probsFromLogits([1, 3, 2], { temperature: 1e-40 })), [0, 1, 0]);
  // huge logits and huge temperatures: the max is subtracted, nothing overflows
  const big = probsFromLogits([1e38, 3e38, -3e38]);
  assert.deepEqual(Array.from(big), [0, 1, 0]);
  const flat = probsFromLogits([1, 2, 3], { temperature: 1e308 });
  for (const p of flat) assert.ok(Math.abs(p - 1 / 3) < 1e-6);
  // −1 used to invert the distribution silently
  assert.throws(() => probsFromLogits([1, 2], { temperature: -1 }), {
    name: 'RangeError',
    message: 'temperature must be a finite number ≥ 0 (0: greedy), got -1',
  });
  for (const temperature of [NaN, Infinity, -1e-40])
    assert.throws(() => probsFromLogits([1, 2], { temperature }), RangeError, String(temperature));
  for (const topK of [0, -2, 1.5, NaN, -Infinity])
    assert.throws(() => probsFromLogits([1, 2], { topK }), {
      name: 'RangeError',
      message: `topK must be a positive integer, got ${topK}`,
    });
  assert.throws(() => probsFromLogits([1, 2], { topK: '1' } as unknown as SampleOptions), TypeError);
  assert.throws(() => probsFromLogits([1, 2], { temperature: null } as unknown as SampleOptions), {
    name: 'TypeError',
    message: 'temperature must be a number, got object null',
  });
  // top-k beyond the vocabulary is clamped: everything kept
  assert.deepEqual(probsFromLogits([1, 2, 3], { topK: 99 }), probsFromLogits([1, 2, 3]));
  // the logits themselves
  assert.throws(() => probsFromLogits([]), {
    name: 'RangeError',
    message: 'logits is empty: there is no token to draw',
  });
  assert.throws(() => probsFromLogits([0, NaN, 1]), { name: 'RangeError', message: /^logits\[1\] is NaN/ });
  assert.throws(() => probsFromLogits([0, 1, Infinity]), { name: 'RangeError', message: /^logits\[2\] is Infinity/ });
  assert.throws(() => probsFromLogits([-Infinity, -Infinity]), /all 2 logits are −Infinity/);
  assert.throws(() => probsFromLogits(['1', 2] as unknown as number[]), /logits\[0\] is 1: logits must be numbers/);
  assert.deepEqual(Array.from(probsFromLogits([-Infinity, 0])), [0, 1], '−Infinity: never drawn');
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

test('generateWords: bad options are errors naming the option before any tensor is made; tiny temperatures sample greedily', async () => {
  await initTf();
  const config = { ...DEFAULT_CONFIG, nLayer: 1, nEmbd: 8, nEmbd2: 8, vocabSize: 27, blockSize: 10 };
  const m = zooModel('transformer', config, new TorchGenerator(7));
  const before = tf.memory().numTensors;
  const bad: [GenerateOptions, string, string][] = [
    [{ maxLength: -1 }, 'RangeError', 'maxLength must be a whole number ≥ 0, got -1'],
    [{ maxLength: NaN }, 'RangeError', 'maxLength must be a whole number ≥ 0, got NaN'],
    [{ maxLength: 1.5 }, 'RangeError', 'maxLength must be a whole number ≥ 0, got 1.5'],
    [{ prefix: [0, 1.5] }, 'RangeError', 'prefix[1] is 1.5: a token id must be an integer in [0, 27)'],
    [{ prefix: [99] }, 'RangeError', 'prefix[0] is 99: a token id must be an integer in [0, 27)'],
    [{ temperature: -1 }, 'RangeError', 'temperature must be a finite number ≥ 0 (0: greedy), got -1'],
    [{ topK: 0 }, 'RangeError', 'topK must be a positive integer, got 0'],
    [{ count: 2.5 }, 'RangeError', 'count must be a whole number ≥ 0, got 2.5'],
  ];
  for (const [o, name, message] of bad) {
    assert.throws(() => generateWords(m, vocab, new TorchGenerator(1), o), { name, message });
    assert.throws(
      () => generateWordsStream(m, vocab, new TorchGenerator(1), o),
      { name, message },
      'checked at the call',
    );
  }
  assert.equal(tf.memory().numTensors, before);
  // temperature 0 and 1e-40 (the CLI's "multinomial: probability NaN") give the argmax path: one word,
  // the same for every seed
  const greedy = generateWords(m, vocab, new TorchGenerator(1), { count: 3, temperature: 0 });
  assert.equal(new Set(greedy).size, 1);
  assert.deepEqual(generateWords(m, vocab, new TorchGenerator(2), { count: 3, temperature: 1e-40 }), greedy);
  assert.deepEqual(generateWords(m, vocab, new TorchGenerator(3), { count: 3, batch: 3, temperature: 0 }), greedy);
  m.dispose();
});

test('generateWordsStream: the same words as generateWords for a seed, one batch at a time, tensors flat', async () => {
  await initTf();
  const config = { ...DEFAULT_CONFIG, nLayer: 1, nEmbd: 8, nEmbd2: 8, vocabSize: 27, blockSize: 8 };
  for (const type of ['transformer', 'lstm'] as const) {
    const m = zooModel(type, config, new TorchGenerator(5));
    // makemore's printSamples options, and the lecture's one-by-one loop
    for (const o of [
      { count: 23, batch: 5, maxLength: 7, stopAtBoundary: false, temperature: 0.8, topK: 10 },
      { count: 7 },
    ]) {
      const want = generateWords(m, vocab, new TorchGenerator(42), o);
      const batches = [...generateWordsStream(m, vocab, new TorchGenerator(42), o)];
      assert.deepEqual(batches.flat(), want, `${type} ${JSON.stringify(o)}`);
      assert.deepEqual(
        batches.map((b) => b.length),
        o.batch ? [5, 5, 5, 5, 3] : new Array(7).fill(1),
      );
      assert.deepEqual(
        [...generateStream(m, new TorchGenerator(42), o)].flat(),
        generate(m, new TorchGenerator(42), o),
      );
    }
    // tensors: the same before, after 10 batches and after 100, and after stopping early
    const before = tf.memory().numTensors;
    const stream = generateWordsStream(m, vocab, new TorchGenerator(1), { count: 1000, batch: 2, maxLength: 4 });
    const counts: number[] = [];
    let n = 0;
    for (const words of stream) {
      n += words.length;
      const batches = n / 2;
      if (batches === 10 || batches === 100) counts.push(tf.memory().numTensors);
      if (batches === 100) break; // return() runs the stepper's dispose
    }
    assert.deepEqual(counts, [before, before], `${type}: tensors after 10 and 100 batches`);
    assert.equal(tf.memory().numTensors, before);
    m.dispose();
  }
});
