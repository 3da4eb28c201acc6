import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sourceOf } from '../../lib/runtime/display';

test('sourceOf: a method, a function and a class exactly as written in lib (what notebooks show)', () => {
  const forward = sourceOf('lib/nn/layers.ts', 'BatchNorm1d', 'forward');
  const lines = forward.split('\n');
  assert.equal(lines[0], 'forward(x: tf.Tensor, training: boolean): tf.Tensor {');
  assert.equal(lines.at(-1), '}');
  assert.match(forward, /\n {4}const m = tf\.moments\(rows, 0\);\n/, 'body indented relative to the signature');
  assert.match(forward, /mean = this\.runningMean;/);
  assert.doesNotMatch(forward, /params\(\)/, 'stops at the end of the method');
  const smooth = sourceOf('lib/viz/smooth.ts', 'smooth');
  assert.ok(smooth.startsWith('export function smooth(') && smooth.endsWith('return { x, y };\n}'), smooth);
  const step = sourceOf('lib/models/recurrent.ts', 'RecurrentLM', 'cellStep');
  assert.ok(step.startsWith('private cellStep(') && step.includes("case 'lstm': {"), 'private methods too');
  assert.ok(sourceOf('lib/models/presets.ts', 'batchNormMLP').includes('new BatchNorm1d(c.nHidden)'));
  assert.throws(() => sourceOf('lib/nn/layers.ts', 'BatchNorm1d', 'backward'), /BatchNorm1d\.backward not found/);
  assert.throws(() => sourceOf('lib/nn/layers.ts', 'NoSuchLayer'), /NoSuchLayer not found/);
});
