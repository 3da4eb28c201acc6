// lib/backend/native/kernels.c's exact GELU (nn.GELU(), nanoGPT's): y = x Φ(x) and dy/dx = Φ(x) + x φ(x),
// against Φ's values to 16 digits (scipy.stats.norm.cdf), in the tails too, and over every float32 tail
// length of a vector loop (n not a multiple of 4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Frame } from '../../../lib/backend/native/loader';

/** x → Φ(x), the standard normal CDF. */
const PHI: [number, number][] = [
  [-8, 6.220960574271785e-16],
  [-6, 9.865876450376946e-10],
  [-4, 3.167124183311992e-5],
  [-3, 0.0013498980316300957],
  [-2, 0.022750131948179195],
  [-1, 0.15865525393145707],
  [-0.5, 0.3085375387259869],
  [0, 0.5],
  [0.1, 0.539827837277029],
  [0.5, 0.6914624612740131],
  [1, 0.8413447460685429],
  [2, 0.9772498680518208],
  [3, 0.9986501019683699],
  [4, 0.9999683287581669],
];
const density = (x: number) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);

function run(xs: number[], dys: number[]) {
  const f = new Frame();
  const n = xs.length;
  const [x, y, dy, dx] = [f.put(n, xs), f.put(n), f.put(n, dys), f.put(n)];
  f.k.gelu_erf_forward(x, y, n);
  f.k.gelu_erf_backward(x, y, dy, dx, n);
  return { y: f.take(y, n), dx: f.take(dx, n) };
}

test('exact GELU and its derivative to float32 accuracy, from Φ(−8) to Φ(4)', () => {
  const xs = PHI.map(([x]) => x);
  const { y, dx } = run(
    xs,
    xs.map(() => 1),
  );
  PHI.forEach(([x, phi], i) => {
    const want = x * phi;
    assert.ok(Math.abs(y[i]! - want) <= 1e-5 * Math.abs(want) + 1e-30, `gelu(${x}) = ${y[i]}, want ${want}`);
    const slope = phi + x * density(x);
    assert.ok(Math.abs(dx[i]! - slope) <= 2e-6 * Math.abs(slope) + 1e-12, `gelu'(${x}) = ${dx[i]}, want ${slope}`);
  });
});

test('exact GELU: large inputs saturate (x and 0, slopes 1 and 0), and every tail of the vector loop is written', () => {
  const { y, dx } = run([30, -30, 1e20, -1e20], [2, 2, 2, 2]);
  assert.deepEqual(Array.from(y), [30, -0, 1e20, -0].map(Math.fround)); // gelu(-30) = -1.5e-196
  assert.deepEqual(Array.from(dx), [2, 0, 2, 0]);
  const phi = new Map(PHI);
  for (let n = 1; n <= 9; n++) {
    const xs = [-4, -3, -2, -1, 0, 1, 2, 3, 4].slice(0, n);
    const { y: out } = run(xs, xs);
    xs.forEach((x, i) => assert.ok(Math.abs(out[i]! - x * phi.get(x)!) < 1e-5, `n ${n}, x ${x}: ${out[i]}`));
  }
});
