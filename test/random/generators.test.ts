import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { TorchGenerator } from '../../lib/random/torch-generator';
import { FastGenerator } from '../../lib/random/fast-generator';
import { type Rng } from '../../lib/random/rng';
import { pythonShuffle } from '../../lib/random/python-shuffle';
import { loadWords } from '../../lib/data/files';

interface Op {
  op: string;
  args: unknown[];
  value: number[];
}
interface Case {
  seed: number;
  ops: Op[];
}
const fixture = JSON.parse(
  fs.readFileSync(
    process.env.SEQUENTIA_TORCH_FIXTURE ?? path.join(__dirname, '..', 'fixtures', 'torch-random.json'),
    'utf8',
  ),
) as { cases: Case[] };

function run(g: TorchGenerator, o: Op): ArrayLike<number> {
  const a = o.args as [never, never, never, never];
  switch (o.op) {
    case 'rand':
      return g.rand(a[0]);
    case 'randn':
      return g.randn(a[0]);
    case 'randint':
      return g.randint(a[0], a[1], a[2]);
    case 'randperm':
      return g.randperm(a[0]);
    case 'multinomial':
      return g.multinomial(a[0], a[1], a[2], a[3]);
    default:
      throw new Error(`unknown op ${o.op}`);
  }
}

for (const c of fixture.cases) {
  test(`TorchGenerator matches PyTorch 1.13 bit for bit, seed ${c.seed}`, () => {
    const g = new TorchGenerator(c.seed);
    for (const [k, o] of c.ops.entries()) {
      const got = Array.from(run(g, o));
      const want = o.value;
      assert.equal(got.length, want.length, `op ${k} ${o.op} length`);
      const bad = got.findIndex((v, i) => !Object.is(v, want[i]));
      assert.equal(
        bad,
        -1,
        `op ${k} ${o.op}(${JSON.stringify(o.args).slice(0, 40)}) differs at ${bad}: ${got[bad]} vs ${want[bad]}`,
      );
    }
  });
}

test('lecture numbers: rand(3) normalised and multinomial(100)', () => {
  const g = new TorchGenerator(2147483647);
  const p = Array.from(g.rand(3));
  const s = p.reduce((a, b) => a + b, 0);
  assert.deepEqual(
    p.map((x) => (x / s).toFixed(4)),
    ['0.6064', '0.3033', '0.0903'],
  );
  const idx = Array.from(
    g.multinomial(
      p.map((x) => Math.fround(x / s)),
      100,
      true,
    ),
  );
  assert.deepEqual(idx.slice(0, 20), [1, 1, 2, 0, 0, 2, 1, 1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1]);
});

test('manualSeed resets the state (and the cached normal)', () => {
  const g = new TorchGenerator(1);
  const a = Array.from(g.randn(3));
  g.manualSeed(1);
  assert.deepEqual(Array.from(g.randn(3)), a);
});

test('multinomial rejects bad input clearly', () => {
  const g = new TorchGenerator(0);
  assert.throws(() => g.multinomial([0.5, -0.1], 1), /negative/);
  assert.throws(() => g.multinomial([0, 0], 1), /sums to zero/);
  assert.throws(() => g.multinomial([1, 1], 3, false), /without replacement/);
});

test('FastGenerator is deterministic per seed and shares the Rng interface', () => {
  const a: Rng = new FastGenerator(7);
  const b: Rng = new FastGenerator(7);
  assert.deepEqual(Array.from(a.randperm(20)), Array.from(b.randperm(20)));
  const perm = Array.from(new FastGenerator(3).randperm(100)).sort((x, y) => x - y);
  assert.deepEqual(
    perm,
    Array.from({ length: 100 }, (_, i) => i),
  );
  const counts = [0, 0, 0];
  for (const i of new FastGenerator(5).multinomial([0.2, 0.3, 0.5], 10000, true)) counts[i]! += 1;
  assert.ok(Math.abs(counts[2]! / 10000 - 0.5) < 0.02, `counts ${counts}`);
  const noRep = Array.from(new FastGenerator(5).multinomial([1, 1, 1, 1], 4, false)).sort();
  assert.deepEqual(noRep, [0, 1, 2, 3]);
});

test("pythonShuffle reproduces CPython's random.seed(42); random.shuffle(words)", async () => {
  const w = pythonShuffle(loadWords('data/names.txt'), 42);
  // values printed by python3: random.seed(42); random.shuffle(words)
  assert.deepEqual(w.slice(0, 5), ['yuheng', 'diondre', 'xavien', 'jori', 'juanluis']);
  assert.deepEqual(w.slice(-3), ['opal', 'zaylynn', 'yovani']);
  assert.deepEqual(pythonShuffle([...Array(10).keys()], 2n ** 40n + 7n), [0, 5, 2, 3, 6, 1, 8, 4, 7, 9]);
});
