// lib/nn/losses: cross-entropy against its definition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { crossEntropy } from '../../lib/nn/losses';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

test('crossEntropy equals −mean log softmax at the targets, and ignores ignoreIndex rows', async () => {
  await initTf();
  const logits = [
    [1, 2, 3],
    [0.5, -1, 2],
    [3, 3, 0],
  ];
  const targets = [2, 0, 1];
  const expected =
    -targets.reduce((s, t, i) => {
      const row = logits[i]!;
      const lse = Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
      return s + row[t]! - lse;
    }, 0) / 3;
  const ce = crossEntropy(tf.tensor2d(logits), tf.tensor1d(targets, 'int32'));
  assert.ok(Math.abs(ce.dataSync()[0]! - expected) < 1e-6);
  const masked = crossEntropy(tf.tensor2d(logits), tf.tensor1d([2, -1, -1], 'int32'), -1);
  const first = -(3 - Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)));
  assert.ok(Math.abs(masked.dataSync()[0]! - first) < 1e-6);
});

test('an out-of-range target is named by its batch row and position, not a flattened gather index', async () => {
  await initTf();
  const before = tf.memory().numTensors;
  tf.engine().startScope(); // the inputs made below
  const B = 11;
  const T = 4;
  const V = 27;
  const logits = tf.zeros([B, T, V]);
  const y = new Int32Array(B * T).fill(1);
  y[10 * T + 3] = 27; // the last row: the flattened index 10·4·27 + 3·27 + 27 = 1296 is past the end
  assert.throws(() => crossEntropy(logits, tf.tensor2d(y, [B, T], 'int32'), -1), {
    name: 'RangeError',
    message: 'target 27 at batch row 10, position 3 is outside the vocabulary [0, 27) (or -1, ignored)',
  });
  // not the last row: the gather would have picked row 3's first logit silently
  y[10 * T + 3] = 1;
  y[2 * T + 1] = 27;
  assert.throws(() => crossEntropy(logits, tf.tensor2d(y, [B, T], 'int32')), {
    name: 'RangeError',
    message: 'target 27 at batch row 2, position 1 is outside the vocabulary [0, 27)',
  });
  y[2 * T + 1] = -5;
  assert.throws(() => crossEntropy(logits, tf.tensor2d(y, [B, T], 'int32'), -1), {
    message: 'target -5 at batch row 2, position 1 is outside the vocabulary [0, 27) (or -1, ignored)',
  });
  // a recurrent model's time-major targets [T, B]
  y[2 * T + 1] = 1;
  const tb = new Int32Array(T * B).fill(1);
  tb[3 * B + 10] = 30; // position 3, batch row 10
  assert.throws(() => crossEntropy(tf.zeros([T, B, V]), tf.tensor2d(tb, [T, B], 'int32'), -1, { timeMajor: true }), {
    message: 'target 30 at batch row 10, position 3 is outside the vocabulary [0, 27) (or -1, ignored)',
  });
  // rank 1: a row; mismatched sizes: said so
  assert.throws(() => crossEntropy(tf.zeros([3, 5]), tf.tensor1d([0, 5, 1], 'int32')), {
    message: 'target 5 at row 1 is outside the vocabulary [0, 5)',
  });
  assert.throws(() => crossEntropy(tf.zeros([3, 5]), tf.tensor1d([0, 1], 'int32')), {
    message: 'logits [3, 5] hold 3 rows of 5 classes, but targets [2] hold 2 ids',
  });
  tf.engine().endScope();
  assert.equal(tf.memory().numTensors, before, 'a rejected target leaves no tensor behind');
});
