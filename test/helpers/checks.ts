// For the exercise checks' tests: run a check and assert it left the tensor count as it found it.
import assert from 'node:assert/strict';
import { tf } from '../../lib/runtime/tf';
import type { Verdict } from '../../lib/exercises/check';

export function run(check: () => Verdict): Verdict {
  const before = tf.memory().numTensors;
  const v = check();
  assert.equal(tf.memory().numTensors, before, `${v.exercise}: tensors left behind`);
  return v;
}
