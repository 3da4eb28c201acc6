// lib/viz/projection: principal components recover a known plane and its variance shares.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { principalComponents, projectToPlane } from '../../lib/viz/projection';
import { TorchGenerator } from '../../lib/random/torch-generator';

test('points spread along two known directions: those directions, in order, with their variance shares', () => {
  const d = 6;
  const u = [1, 1, 0, 0, 0, 0].map((x) => x / Math.SQRT2);
  const v = [0, 0, 1, -1, 0, 0].map((x) => x / Math.SQRT2);
  const g = new TorchGenerator(3);
  const a = g.randn(200);
  const b = g.randn(200);
  const noise = g.randn(200 * d);
  // variance 9 along u, 1 along v, 1e-6 elsewhere; offset by a constant (centring must remove it)
  const rows = Array.from({ length: 200 }, (_, i) =>
    Array.from({ length: d }, (_, j) => 3 * a[i]! * u[j]! + b[i]! * v[j]! + 1e-3 * noise[i * d + j]! + 5),
  );
  const { directions, explained } = principalComponents(rows, 2);
  const dot = (p: number[], q: number[]) => p.reduce((s, x, i) => s + x * q[i]!, 0);
  assert.ok(Math.abs(Math.abs(dot(directions[0]!, u)) - 1) < 1e-3, 'first direction is u');
  assert.ok(Math.abs(Math.abs(dot(directions[1]!, v)) - 1) < 1e-3, 'second direction is v');
  assert.ok(Math.abs(dot(directions[0]!, directions[1]!)) < 1e-9, 'orthogonal');
  assert.ok(
    explained[0]! > 0.85 && explained[0]! < 0.95 && explained[1]! > 0.05 && explained[1]! < 0.15,
    `${explained}`,
  );
  const p = projectToPlane(rows);
  assert.equal(p.x.length, 200);
  assert.ok(Math.abs(p.x.reduce((s, x) => s + x, 0)) < 1e-6, 'centred');
  const meanA = Array.from(a).reduce((s, x) => s + x, 0) / 200;
  assert.ok(Math.abs(Math.abs(p.x[7]!) - Math.abs(3 * (a[7]! - meanA))) < 0.01, 'coordinates along u');
  assert.throws(() => principalComponents([[1, 2]]), /at least 2 rows/);
});
