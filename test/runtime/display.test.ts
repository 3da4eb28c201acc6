import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sourceOf } from '../../lib/runtime/display';

test('sourceOf: a method, a function and a class exactly as written in lib (what notebooks show)', () => {
  const forward = sourceOf('lib/nn/batchnorm.ts', 'BatchNorm1d', 'forward');
  const lines = forward.split('\n');
  assert.equal(lines[0], 'forward(x: tf.Tensor, training = false): tf.Tensor {');
  assert.equal(lines.at(-1), '}');
  assert.match(forward, /\n {4}const m = tf\.moments\(rows, 0\);\n/, 'body indented relative to the signature');
  assert.match(forward, /mean = this\.runningMean;/);
  assert.doesNotMatch(forward, /params\(\)/, 'stops at the end of the method');
  const smooth = sourceOf('lib/viz/smooth.ts', 'smooth');
  assert.ok(smooth.startsWith('export function smooth(') && smooth.endsWith('return { x, y };\n}'), smooth);
  const cell = sourceOf('lib/nn/recurrent.ts', 'cell');
  assert.ok(cell.startsWith('export function cell(') && cell.includes("case 'lstm': {"), cell);
  const half = sourceOf('lib/nn/linear.ts', 'FusedLinear');
  assert.ok(half.startsWith('class FusedLinear') && half.includes('backward(f: StepFrame'), 'classes not exported too');
  const made = sourceOf('lib/models/lecture/mlp.ts', 'MLP', 'constructor');
  assert.ok(made.startsWith('constructor(') && made.includes('Linear.of(this.W1, this.b1)'), 'constructors');
  assert.ok(sourceOf('lib/models/presets.ts', 'batchNormMLP').includes('new BatchNorm1d(c.nHidden)'));
  // a parameter whose object type spans lines (`o: {`) is not the body: the whole function is shown
  const schedule = sourceOf('lib/train/schedules.ts', 'warmupCosine');
  assert.ok(schedule.startsWith('export function warmupCosine(') && schedule.endsWith('  };\n}'), schedule);
  assert.match(schedule, /return min \+ 0\.5 \* \(1 \+ Math\.cos\(Math\.PI \* ratio\)\) \* \(peak - min\);/);
  assert.throws(() => sourceOf('lib/nn/batchnorm.ts', 'BatchNorm1d', 'backward'), /BatchNorm1d\.backward not found/);
  assert.throws(() => sourceOf('lib/nn/layers.ts', 'NoSuchLayer'), /NoSuchLayer not found/);
});
