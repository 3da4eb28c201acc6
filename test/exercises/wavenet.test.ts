// lib/exercises/wavenet: FlattenConsecutive, BatchNorm statistics on [B, T, C] and the dev-loss bar accept
// correct answers, name the usual slips (no squeeze, strided groups, the lecture's dim-0 bug, the unbiased
// variance, a loss above the bar with the bar stated), report unanswered and leave the tensor count flat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { run } from '../helpers/checks';
import {
  checkFlattenConsecutive,
  checkBatchNormStats,
  checkBeatsLecture,
  LECTURE_DEV_LOSS,
  QUICK_DEV_LOSS,
  type WindowModel,
} from '../../lib/exercises/wavenet';
import { lectureData } from '../../lib/data/setups';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

const flatten = (x: tf.Tensor3D, n: number) => {
  const [B, T, C] = x.shape;
  return T === n ? x.reshape([B, C * n]) : x.reshape([B, T / n, C * n]);
};

test('FlattenConsecutive: accepts lib’s behaviour; names a missing squeeze and strided groups', async () => {
  await initTf();
  assert.equal(run(() => checkFlattenConsecutive(flatten)).status, 'passed');
  const noSqueeze = run(() =>
    checkFlattenConsecutive((x, n) => x.reshape([x.shape[0], x.shape[1] / n, x.shape[2] * n])),
  );
  assert.match(
    noSqueeze.message,
    /^flatten\(x \[4, 8, 10\], 8\) has shape \[4, 1, 80\]; expected \[4, 80\]: when T\/n = 1 the time axis is squeezed away/,
  );
  const strided = (x: tf.Tensor3D, n: number) => {
    const [B, T, C] = x.shape;
    const y = x.reshape([B, n, T / n, C]).transpose([0, 2, 1, 3]);
    return T === n ? y.reshape([B, C * n]) : y.reshape([B, T / n, C * n]);
  };
  assert.match(
    run(() => checkFlattenConsecutive(strided)).message,
    /^flatten\(x \[4, 8, 10\], 2\): first differs at \[0, 0, 10\]: .*You grouped positions t, t \+ 4/,
  );
  assert.equal(run(() => checkFlattenConsecutive(() => undefined)).status, 'unanswered');
});

test('BatchNorm statistics: accepts moments over all but the last axis (kept dims too); names the dim-0 bug and the unbiased variance', async () => {
  await initTf();
  const right = (x: tf.Tensor) => tf.moments(x, x.shape.map((_, i) => i).slice(0, -1));
  assert.equal(run(() => checkBatchNormStats(right)).status, 'passed');
  assert.equal(
    run(() => checkBatchNormStats((x) => tf.moments(x, x.shape.map((_, i) => i).slice(0, -1), true))).status,
    'passed',
  );
  const bug = run(() => checkBatchNormStats((x) => tf.moments(x, 0, true)));
  assert.match(
    bug.message,
    /^the mean for x \[32, 4, 68\] has shape \[1, 4, 68\]: one statistic per position and channel, over the 32 examples only — the lecture's bug/,
  );
  const unbiased = run(() =>
    checkBatchNormStats((x) => {
      const m = right(x);
      const N = x.size / (x.shape.at(-1) as number);
      return { mean: m.mean, variance: m.variance.mul(N / (N - 1)) };
    }),
  );
  assert.match(
    unbiased.message,
    /^the variance for x \[32, 4, 68\]: first differs .*the unbiased variance \(÷ N − 1\); BatchNorm normalises with the biased one \(÷ N, N = 128 here\)/,
  );
  assert.equal(run(() => checkBatchNormStats(undefined)).status, 'unanswered');
});

/** A window model from a table of next-character counts per context of `dev` (it memorises the dev set). */
function memoriser(): WindowModel {
  const dev = lectureData(8).windows.dev;
  const table = new Map<string, Float32Array>();
  for (let i = 0; i < dev.n; i++) {
    const key = dev.X.subarray(i * 8, i * 8 + 8).join(',');
    const row = table.get(key) ?? new Float32Array(27).fill(0.01);
    row[dev.Y[i]!]! += 1;
    table.set(key, row);
  }
  return {
    blockSize: 8,
    forward(idx: tf.Tensor2D) {
      const ids = idx.arraySync();
      const rows = ids.map((r) => Array.from(table.get(r.join(',')) ?? new Float32Array(27).fill(1), Math.log));
      return { logits: tf.tensor2d(rows) };
    },
  };
}

test('beat 1.993: measures the dev loss itself; the bar (and quick mode’s relaxed bar) is stated', async () => {
  await initTf();
  const saved = process.env.SEQUENTIA_QUICK;
  try {
    delete process.env.SEQUENTIA_QUICK;
    const ok = run(() => checkBeatsLecture(memoriser()));
    assert.equal(ok.status, 'passed', ok.message);
    assert.match(ok.message, /^dev loss 1\.\d{4}, \d\.\d{4} below the lecture's 1\.993$/);
    const uniform: WindowModel = { blockSize: 8, forward: (idx) => ({ logits: tf.zeros([idx.shape[0], 27]) }) };
    const flat = run(() => checkBeatsLecture(uniform));
    assert.match(
      flat.message,
      /^dev loss 3\.29\d\d \(22,\d{3} dev windows, context 8\) is not below the lecture's 1\.993$/,
    );
    process.env.SEQUENTIA_QUICK = '1';
    assert.match(
      run(() => checkBeatsLecture(uniform)).message,
      new RegExp(`is not below the quick-mode bar ${QUICK_DEV_LOSS} \\(relaxed from the lecture's ${LECTURE_DEV_LOSS}`),
    );
    const sequence: WindowModel = { blockSize: 8, forward: (idx) => ({ logits: tf.zeros([idx.shape[0], 8, 27]) }) };
    assert.match(
      run(() => checkBeatsLecture(sequence)).message,
      /the logits for 4 windows has shape \[4, 8, 27\]; expected \[B, 27\] = \[4, 27\]/,
    );
    const nan: WindowModel = { blockSize: 8, forward: (idx) => ({ logits: tf.fill([idx.shape[0], 27], NaN) }) };
    assert.match(run(() => checkBeatsLecture(nan)).message, /NaN or infinite logits/);
    assert.equal(run(() => checkBeatsLecture(undefined)).status, 'unanswered');
  } finally {
    if (saved === undefined) delete process.env.SEQUENTIA_QUICK;
    else process.env.SEQUENTIA_QUICK = saved;
  }
});
