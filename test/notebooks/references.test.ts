import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkSpec,
  compareReferences,
  extractNumbers,
  matches,
  outputText,
  referencesOf,
  serializeReferences,
  type ReferenceFile,
} from '../../scripts/notebooks/references';
import type { NotebookJson } from '../../scripts/notebooks/parameters';

const tokens = (s: string): string[] => extractNumbers(s).map((n) => n.token);

test('numbers as printed: signs, fractions, exponents, thousands separators; not inside words', () => {
  assert.deepEqual(tokens('step 300/300  loss 2.1234, lr 5.00e-4'), ['300', '300', '2.1234', '5.00e-4']);
  assert.deepEqual(tokens('32,033 names; [ 1, 2, -3 ] and 1,5'), ['32,033', '1', '2', '-3', '1', '5']);
  assert.deepEqual(tokens('E256/H512 c001 x1 Float32Array(3) tensor2d 1m09s 2-1'), ['3', '2', '1']);
  assert.deepEqual(tokens('v1.2.3 and 0.5.'), ['0.5']);
  assert.deepEqual(extractNumbers('a\nloss 2.5 here\nb'), [{ token: '2.5', line: 'loss 2.5 here' }]);
});

test('the text a check reads: stdout and text/plain, colour codes removed; not stderr, HTML or images', () => {
  const text = outputText([
    { output_type: 'stream', name: 'stdout', text: ['a 1\n', 'b 2\n'] },
    { output_type: 'stream', name: 'stderr', text: 'warning 99\n' },
    { output_type: 'execute_result', data: { 'text/plain': '{ n: \x1b[33m300\x1b[39m }', 'text/html': '<b>77</b>' } },
    { output_type: 'display_data', data: { 'image/png': 'iVBOR0w0', 'text/plain': '<Figure f: loss 2.5 (1 trace)>' } },
  ]);
  assert.equal(text, 'a 1\nb 2\n{ n: 300 }\n<Figure f: loss 2.5 (1 trace)>\n');
  assert.deepEqual(tokens(text), ['1', '2', '300', '2.5', '1']);
});

test('tolerance: integers exact; other numbers rel 1e-4 plus one unit in the last printed digit; a cell may declare its own', () => {
  assert.equal(matches('27', '27', undefined), true);
  assert.equal(matches('32,033', '32033', undefined), true);
  assert.equal(matches('27', '28', undefined), false);
  assert.equal(matches('27', '28', { rel: 0.5 }), false, 'integers are exact under any rel');
  // 2.4731: allowed 1e-4 (last digit) + 2.4731e-4 (rel)
  assert.equal(matches('2.4731', '2.4732', undefined), true);
  assert.equal(matches('2.4731', '2.4734', undefined), true);
  assert.equal(matches('2.4731', '2.4735', undefined), false);
  assert.equal(matches('2.4731', '2.4831', undefined), false);
  assert.equal(matches('0.0123', '0.0124', undefined), true, 'a rounding flip in the last digit is noise');
  assert.equal(matches('1.5e-7', '1.50001e-7', undefined), true);
  assert.equal(matches('1.5e-7', '1.6e-7', undefined), false);
  assert.equal(matches('2.4731', '2.4732', 'exact'), false);
  assert.equal(matches('2.4731', '2.4731', 'exact'), true);
  assert.equal(matches('2.4731', '2.5', { rel: 0.05 }), true);
  assert.equal(matches('1.5e-7', '3.1e-7', { abs: 1e-6 }), true);
  assert.deepEqual(checkSpec({ metadata: { sequentia: { check: { rel: 1e-3 } } } }), { rel: 1e-3 });
  assert.equal(checkSpec({ metadata: { sequentia: { check: 'skip' } } }), 'skip');
  assert.equal(checkSpec({ metadata: {} }), undefined);
  assert.throws(() => checkSpec({ metadata: { sequentia: { check: 'loose' } } }), /must be "exact", "skip" or \{"rel": r, "abs": a\}, got "loose"/);
  assert.throws(() => checkSpec({ metadata: { sequentia: { check: { rel: -1 } } } }), /got \{"rel":-1\}/);
});

function executed(cells: { id: string; text: string; check?: unknown; tags?: string[] }[]): NotebookJson {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [
      { cell_type: 'markdown', id: 'm0', metadata: {}, source: 'title' },
      ...cells.map((c) => ({
        cell_type: 'code',
        id: c.id,
        metadata: { ...(c.check ? { sequentia: { check: c.check } } : {}), ...(c.tags ? { tags: c.tags } : {}) },
        source: `// cell ${c.id}\nwork();`,
        outputs: [{ output_type: 'stream', name: 'stdout', text: c.text }],
      })),
    ],
  };
}

const RUN = [
  { id: 'p', text: '', tags: ['parameters'] },
  { id: 'inj', text: 'steps 4\n', tags: ['injected-parameters'] },
  { id: 'a', text: 'vocab 27, names 32,033\n' },
  { id: 'b', text: 'step 300: loss 2.4731, dev 2.5012\n' },
  { id: 't', text: 'took 123.4 ms\n', check: 'skip' },
  { id: 'e', text: 'torch says 0.7759\n', check: 'exact' },
];

test('references: the numbers of every code cell but skipped and injected ones, in a reviewable file', () => {
  const ref = referencesOf(executed(RUN), 'nb.ipynb', 'quick', { steps: 4 });
  assert.deepEqual(Object.keys(ref.cells), ['a', 'b', 'e']);
  assert.deepEqual(ref.cells.b, { cell: 5, head: '// cell b', numbers: ['300', '2.4731', '2.5012'] });
  const text = serializeReferences(ref);
  assert.deepEqual(JSON.parse(text), ref);
  assert.match(text, /\n {2}"b": \{"cell": 5, "head": "\/\/ cell b",\n {4}"numbers": \["300","2\.4731","2\.5012"\]\}/);
});

test('the check: passes on the same run and on noise within tolerance, skips "skip" cells, fails on a changed number', () => {
  const ref: ReferenceFile = referencesOf(executed(RUN), 'nb.ipynb', 'quick', { steps: 4 });
  assert.deepEqual(compareReferences(executed(RUN), ref), []);
  const noisy = RUN.map((c) =>
    c.id === 'b' ? { ...c, text: 'step 300: loss 2.4733, dev 2.5011\n' } : c.id === 't' ? { ...c, text: 'took 9876.5 ms\n' } : c,
  );
  assert.deepEqual(compareReferences(executed(noisy), ref), []);
  const changed = RUN.map((c) => (c.id === 'b' ? { ...c, text: 'step 300: loss 2.4731, dev 2.5112\n' } : c));
  assert.deepEqual(compareReferences(executed(changed), ref), [
    {
      cell: 5,
      code_cell: 4,
      id: 'b',
      message:
        'number 3 of 3: expected 2.5012, got 2.5112 (tolerance: rel 0.0001 + 1 in the last printed digit) in "step 300: loss 2.4731, dev 2.5112"',
    },
  ]);
  const exact = RUN.map((c) => (c.id === 'e' ? { ...c, text: 'torch says 0.7758\n' } : c));
  assert.match(compareReferences(executed(exact), ref)[0]!.message, /^number 1 of 1: expected 0\.7759, got 0\.7758 \(tolerance: exact\)/);
  const count = RUN.map((c) => (c.id === 'a' ? { ...c, text: 'vocab 27, names 32,033, words 3\n' } : c));
  assert.equal(compareReferences(executed(count), ref)[0]!.message, 'expected 2 numbers, got 3, the first extra one 3 in "vocab 27, names 32,033, words 3"');
  const integer = RUN.map((c) => (c.id === 'a' ? { ...c, text: 'vocab 28, names 32,033\n' } : c));
  assert.match(compareReferences(executed(integer), ref)[0]!.message, /expected 27, got 28 \(tolerance: exact \(integer\)\)/);
});

test('the check: a new cell with numbers and a cell that is gone both fail', () => {
  const ref = referencesOf(executed(RUN), 'nb.ipynb', 'quick', {});
  const added = [...RUN, { id: 'new', text: 'loss 1.5\n' }];
  assert.match(compareReferences(executed(added), ref)[0]!.message, /^no reference for this cell, which printed 1 number\(s\) \(first: 1\.5 in "loss 1\.5"\)/);
  const gone = RUN.filter((c) => c.id !== 'a');
  assert.match(compareReferences(executed(gone), ref)[0]!.message, /the reference has cell a \("\/\/ cell a"\), which the notebook no longer has/);
});
