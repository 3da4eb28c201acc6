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
