// lib/exercises/mlp: "beat the lecture's dev loss" measures the dev loss itself, with a stated bar in quick mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { checkBeatsLectureDevLoss, LECTURE_DEV_LOSS, type WindowScorer } from '../../lib/exercises/mlp';
import { lectureData } from '../../lib/data/setups';

process.env.SEQUENTIA_QUIET_BACKEND = '1';
const data = lectureData(3);

/** A trigram count model (block size 2) as a window model: counted on `words` with add-k smoothing. */
function trigramScorer(words: string[], k: number, extra: Partial<WindowScorer> = {}): WindowScorer {
  const V = 27;
  const N = new Float64Array(V * V * V).fill(k);
  for (const w of words) {
    const ids = [0, 0, ...data.vocab.encode(w), 0];
    for (let i = 0; i + 2 < ids.length; i++) N[(ids[i]! * V + ids[i + 1]!) * V + ids[i + 2]!]! += 1;
  }
  return {
    reads: 'window',
    blockSize: 2,
    vocabSize: V,
    loss(X, Y) {
      const x = X.dataSync();
      const y = Y.dataSync();
      let s = 0;
      for (let r = 0; r < y.length; r++) {
        const ctx = (x[2 * r]! * V + x[2 * r + 1]!) * V;
        let z = 0;
        for (let c = 0; c < V; c++) z += N[ctx + c]!;
        s -= Math.log(N[ctx + y[r]!]! / z);
      }
      return tf.scalar(s / y.length);
    },
    ...extra,
  };
}

test("checkBeatsLectureDevLoss measures the dev loss over every dev example, with the model's block size", async () => {
  await initTf();
  process.env.SEQUENTIA_QUICK = '';
  // counted on dev itself: far below 2.17 (the check cannot see how a model was trained, only score it)
  const v = checkBeatsLectureDevLoss(trigramScorer(data.split.dev, 0.01), data);
  assert.equal(v.status, 'passed', v.message);
  assert.match(
    v.message,
    new RegExp(`dev loss 2\\.0\\d{3} < the lecture's ${LECTURE_DEV_LOSS}; train \\d\\.\\d{4} \\(`),
  );
  assert.equal(checkBeatsLectureDevLoss(undefined, data).status, 'unanswered');
});

test('checkBeatsLectureDevLoss rejects a model above the bar, a sequence model and a wrong vocabulary', async () => {
  await initTf();
  process.env.SEQUENTIA_QUICK = '';
  const trigram = trigramScorer(data.split.train, 0.1);
  assert.match(
    checkBeatsLectureDevLoss(trigram, data).message,
    /dev loss 2\.\d{4} \(over all 22655 dev examples\) is not below the lecture's 2\.17/,
  );
  assert.match(
    checkBeatsLectureDevLoss(trigramScorer([], 1, { reads: 'sequence' }), data).message,
    /this model reads 'sequence's/,
  );
  assert.match(
    checkBeatsLectureDevLoss(trigramScorer([], 1, { vocabSize: 28 }), data).message,
    /the model predicts 28 characters, the data has 27/,
  );
});

test("in quick mode the bar is the bigram model's dev loss, and the message says so", async () => {
  await initTf();
  process.env.SEQUENTIA_QUICK = '1';
  try {
    const pass = checkBeatsLectureDevLoss(trigramScorer(data.split.train, 0.1), data);
    assert.equal(pass.status, 'passed', pass.message);
    assert.match(
      pass.message,
      /< the quick-mode bar 2\.4\d{3} \(relaxed from the lecture's 2\.17: the bigram model's dev loss/,
    );
    const uniform = checkBeatsLectureDevLoss(trigramScorer([], 1), data);
    assert.match(
      uniform.message,
      /dev loss 3\.2958 .* is not below the quick-mode bar 2\.4\d{3} \(relaxed from the lecture's 2\.17/,
    );
  } finally {
    process.env.SEQUENTIA_QUICK = '';
  }
});
