import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  findParameters,
  injectedSource,
  parseAssignment,
  parseLiteral,
  planParameters,
  prepareNotebook,
  stripRun,
  ParameterError,
  type NotebookJson,
} from '../../scripts/notebooks/parameters';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (rel: string): NotebookJson => JSON.parse(fs.readFileSync(path.join(ROOT, rel), 'utf8')) as NotebookJson;
const PARAMS = 'test/fixtures/notebooks-parameters/01-params.ipynb';
const src = (c: { source: string | string[] }): string => (Array.isArray(c.source) ? c.source.join('') : c.source);

test('literals: numbers (with _ separators, exponents, signs), strings in either quote, booleans; nothing else', () => {
  assert.equal(parseLiteral('200_000'), 200000);
  assert.equal(parseLiteral('-0.05'), -0.05);
  assert.equal(parseLiteral('5e-4'), 5e-4);
  assert.equal(parseLiteral('.5'), 0.5);
  assert.equal(parseLiteral("'it\\'s'"), "it's");
  assert.equal(parseLiteral('"a \\"b\\""'), 'a "b"');
  assert.equal(parseLiteral('true'), true);
  assert.equal(parseLiteral('false'), false);
  for (const bad of ['1 / 10', 'NaN', 'Infinity', 'x', '[1]', '`t`', "'a' + 'b'", '1e999', ''])
    assert.equal(parseLiteral(bad), undefined, bad);
});

test('the parameters cell: found by its tag, one declaration a line, comments and blank lines allowed', () => {
  const p = findParameters(read(PARAMS), PARAMS)!;
  assert.equal(p.index, 1);
  assert.deepEqual(
    p.decls.map((d) => [d.keyword, d.name, d.value, d.comment]),
    [
      ['const', 'steps', 10, 'training steps'],
      ['const', 'lr', 0.5, 'learning rate'],
      ['const', 'name', 'abc', 'a label'],
      ['const', 'verbose', false, 'print more'],
    ],
  );
  assert.equal(findParameters(read('test/fixtures/notebooks-parameters/02-plain.ipynb'), 'x'), null);
});

test('a parameters cell that is not `const name = literal;` lines is an error naming the line', () => {
  const nb = read('test/fixtures/notebooks-parameters-bad/01-expression.ipynb');
  assert.throws(
    () => findParameters(nb, 'nb.ipynb'),
    (e: Error) =>
      e instanceof ParameterError &&
      e.message ===
        'nb.ipynb: parameters cell (cell 1) line 2 is not `const name = literal; // comment` with a number, string or boolean literal: const lr = 1 / 10; // not a literal',
  );
  const twice = read(PARAMS);
  twice.cells[2]!.metadata = { tags: ['parameters'] };
  assert.throws(() => findParameters(twice, 'nb.ipynb'), /cells 2 and 3 are both tagged 'parameters'/);
  const typed = read(PARAMS);
  typed.cells[1]!.source = 'let steps: number = 10; // typed is fine\nconst lr: string = 0.5;';
  assert.throws(() => findParameters(typed, 'nb.ipynb'), /lr is declared string but its value is a number/);
});

test('-p values: JSON when they parse, else text', () => {
  assert.deepEqual(parseAssignment('steps=50000'), { name: 'steps', value: 50000, text: '50000' });
  assert.deepEqual(parseAssignment('lr=0.05'), { name: 'lr', value: 0.05, text: '0.05' });
  assert.deepEqual(parseAssignment('verbose=true'), { name: 'verbose', value: true, text: 'true' });
  assert.deepEqual(parseAssignment('name=hello world'), { name: 'name', value: 'hello world', text: 'hello world' });
  assert.deepEqual(parseAssignment('name="42"'), { name: 'name', value: '42', text: '"42"' });
  assert.deepEqual(parseAssignment('expr=a=b'), { name: 'expr', value: 'a=b', text: 'a=b' });
  assert.throws(() => parseAssignment('steps'), /-p steps: expected name=value/);
});

test('plan: defaults, then the named set, then -p; every parameter recorded', () => {
  const nb = read(PARAMS);
  const full = planParameters(nb, PARAMS, null, []);
  assert.equal(full.set, 'full');
  assert.deepEqual(full.injected, {});
  assert.deepEqual(full.values, { steps: 10, lr: 0.5, name: 'abc', verbose: false });
  const quick = planParameters(nb, PARAMS, 'quick', ['lr=0.25']);
  assert.equal(quick.set, 'quick');
  assert.deepEqual(quick.injected, { steps: 4, name: 'quick', lr: 0.25 });
  assert.deepEqual(quick.overrides, { lr: 0.25 });
  assert.deepEqual(quick.values, { steps: 4, lr: 0.25, name: 'quick', verbose: false });
  // -p wins over the set
  assert.equal(planParameters(nb, PARAMS, 'quick', ['steps=7']).values.steps, 7);
  // a notebook without parameters: --quick still names the set (its reference file), -p is an error
  assert.equal(planParameters(read('test/fixtures/notebooks-parameters/02-plain.ipynb'), 'x', 'quick', []).set, 'quick');
});

test('plan errors: unknown name (the known ones listed), wrong type, no parameters cell, a bad set', () => {
  const nb = read(PARAMS);
  const err = (f: () => unknown, message: string) =>
    assert.throws(f, (e: Error) => e instanceof ParameterError && e.message === message);
  err(() => planParameters(nb, PARAMS, null, ['stepz=5']), `${PARAMS}: -p stepz=5: no parameter 'stepz' (known: steps, lr, name, verbose)`);
  err(
    () => planParameters(nb, PARAMS, null, ['steps=fast']),
    `${PARAMS}: -p steps=fast: steps is a number (default 10), got the string "fast"`,
  );
  err(() => planParameters(nb, PARAMS, null, ['verbose=1']), `${PARAMS}: -p verbose=1: verbose is a boolean (default false), got the number 1`);
  err(() => planParameters(nb, PARAMS, null, ['name=[1]']), `${PARAMS}: -p name=[1]: name is a string (default "abc"), got the array [1]`);
  const plain = 'test/fixtures/notebooks-parameters/02-plain.ipynb';
  err(
    () => planParameters(read(plain), plain, null, ['steps=5']),
    `${plain}: -p steps=5: the notebook has no parameters cell (a code cell tagged 'parameters')`,
  );
  const bad = 'test/fixtures/notebooks-parameters-bad/02-bad-quick-set.ipynb';
  err(
    () => planParameters(read(bad), bad, 'quick', []),
    `${bad}: parameter set 'quick' (metadata.sequentia.parameter_sets): steps is a number (default 10), got the string "300"`,
  );
});

test('injection: a cell tagged injected-parameters right after the parameters cell, metadata records the run', () => {
  const nb = read(PARAMS);
  const plan = planParameters(nb, PARAMS, 'quick', ['lr=0.25']);
  assert.equal(
    injectedSource(plan),
    "// Parameters injected by the runner (parameter set 'quick', -p lr=0.25)\nconst steps = 4;\nconst lr = 0.25;\nconst name = \"quick\";",
  );
  const out = prepareNotebook(nb, plan);
  assert.equal(out.cells.length, nb.cells.length + 1);
  const injected = out.cells[2]!;
  assert.deepEqual(injected.metadata, { tags: ['injected-parameters'] });
  assert.equal(injected.id, 'injected-parameters');
  assert.equal(src(injected), injectedSource(plan));
  assert.deepEqual(out.metadata.sequentia, {
    parameter_sets: { quick: { steps: 4, name: 'quick' } },
    parameters: { steps: 4, lr: 0.25, name: 'quick', verbose: false },
    parameter_set: 'quick',
    overrides: { lr: 0.25 },
  });
  // the source is untouched; nothing is injected with the defaults
  assert.equal(nb.cells.length, 6);
  assert.equal(prepareNotebook(nb, planParameters(nb, PARAMS, null, [])).cells.length, 6);
  // --in-place takes the run back out
  assert.deepEqual(stripRun(out), nb);
});

test('cells without an id get a stable one (nbformat would invent random ones)', () => {
  const nb = read(PARAMS);
  delete nb.cells[3]!.id;
  const out = prepareNotebook(nb, planParameters(nb, PARAMS, null, []));
  assert.equal(out.cells[3]!.id, 'cell-4');
});

test('non-finite numbers are refused naming the parameter and the text given', () => {
  const nb = read(PARAMS);
  for (const [given, shown] of [
    ['steps=1e400', '1e400, which is Infinity'],
    ['steps=NaN', 'NaN'],
    ['steps=Infinity', 'Infinity'],
    ['steps=-Infinity', '-Infinity'],
  ] as const) {
    assert.throws(
      () => planParameters(nb, PARAMS, null, [given]),
      (e: Error) => e instanceof ParameterError && e.message === `${PARAMS}: -p ${given}: steps must be a finite number (default 10), got ${shown}`,
      given,
    );
  }
  const quick = structuredClone(nb);
  (quick.metadata.sequentia as { parameter_sets: { quick: Record<string, unknown> } }).parameter_sets.quick.steps = Infinity;
  assert.throws(() => planParameters(quick, PARAMS, 'quick', []), /parameter_sets\): steps must be a finite number \(default 10\), got Infinity/);
  assert.equal(parseAssignment('steps=1e400').text, '1e400');
});
