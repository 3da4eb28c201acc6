/**
 * The runner's parameters (-p, --quick's set) and output checks (--check, --update-references), end to
 * end on the small notebooks in test/fixtures/notebooks-parameters: errors before any kernel starts,
 * the injected cell and the metadata of the executed copy, the reference files, a failing and a
 * passing check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cleanup } from '../helpers/cleanup';
import { TSX } from '../../scripts/node-tsx';

const ROOT = path.resolve(__dirname, '..', '..');
const DIR = 'test/fixtures/notebooks-parameters';
const NB = `${DIR}/01-params.ipynb`;
const { tmp } = cleanup('sequentia-checks-');

function runner(args: string[]) {
  return spawnSync(process.execPath, [...TSX, path.join(ROOT, 'scripts', 'notebooks', 'run.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
}

interface Cell {
  id: string;
  execution_count?: number | null;
  metadata: { tags?: string[] };
  source: string | string[];
  outputs?: { text?: string | string[] }[];
}
const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;
const text = (t: string | string[] | undefined): string => (Array.isArray(t) ? t.join('') : (t ?? ''));

test('parameter errors: one line naming notebook, parameter and value, exit 2, before any kernel starts', () => {
  const cases: [string[], string][] = [
    [['--only', '01', '-p', 'stepz=5'], `${NB}: -p stepz=5: no parameter 'stepz' (known: steps, lr, name, verbose)`],
    [['--only', '01', '-p', 'steps=fast'], `${NB}: -p steps=fast: steps is a number (default 10), got the string "fast"`],
    [['--only', '01', '--parameter', 'verbose=yes'], `${NB}: -p verbose=yes: verbose is a boolean (default false), got the string "yes"`],
    [
      ['--only', '02', '-p', 'steps=5'],
      `${DIR}/02-plain.ipynb: -p steps=5: the notebook has no parameters cell (a code cell tagged 'parameters')`,
    ],
    [
      ['--dir', 'test/fixtures/notebooks-parameters-bad', '--only', '01'],
      'test/fixtures/notebooks-parameters-bad/01-expression.ipynb: parameters cell (cell 1) line 2 is not `const name = literal; // comment` with a number, string or boolean literal: const lr = 1 / 10; // not a literal',
    ],
    [
      ['--dir', 'test/fixtures/notebooks-parameters-bad', '--only', '02', '--quick'],
      `test/fixtures/notebooks-parameters-bad/02-bad-quick-set.ipynb: parameter set 'quick' (metadata.sequentia.parameter_sets): steps is a number (default 10), got the string "300"`,
    ],
    [['--check', '-p', 'steps=5'], '--check with -p: references belong to a named parameter set (full, or --quick), not to ad-hoc values'],
  ];
  for (const [args, message] of cases) {
    const out = path.join(tmp(), 'out');
    const r = runner(['--dir', DIR, ...args, '--out', out, '--no-figures']);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stderr, `${message}\n`, args.join(' '));
    assert.equal(r.stdout, '');
    assert.ok(!fs.existsSync(out), 'nothing ran: no output folder');
  }
  const both = runner(['--check', '--update-references']);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /^--check and --update-references do not go together/);
  const missing = runner(['--dir', DIR, '--quick', '--check', '--references', tmp(), '--only', '02']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /02-plain\.ipynb: --check: no reference file .*02-plain\.quick\.json; write it with --update-references --quick and review it\n$/);
});

test('-p: the injected cell follows the parameters cell, the notebook sees the values, the executed copy records them', () => {
  const out = tmp();
  const r = runner(['--dir', DIR, '--only', '01', '-p', 'steps=7', '-p', 'name=xyz', '--out', out, '--no-figures']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const nb = readJson<{ cells: Cell[]; metadata: { sequentia: unknown } }>(path.join(out, '01-params.ipynb'));
  assert.deepEqual(
    nb.cells.map((c) => c.id),
    ['c000', 'c001', 'injected-parameters', 'c002', 'c003', 'c004', 'c005'],
  );
  assert.deepEqual(nb.cells[2]!.metadata.tags, ['injected-parameters']);
  // "In [n]:" as when run by hand: the kernel's count for each code cell, in order (markdown has none).
  assert.deepEqual(
    nb.cells.map((c) => c.execution_count),
    [undefined, 1, 2, 3, 4, 5, 6],
  );
  assert.equal(
    text(nb.cells[2]!.source),
    '// Parameters injected by the runner (-p steps=7 -p name="xyz")\nconst steps = 7;\nconst name = "xyz";',
  );
  assert.equal(text(nb.cells[3]!.outputs?.[0]?.text), 'steps 7 lr 0.5 name xyz verbose false\n');
  assert.deepEqual(nb.metadata.sequentia, {
    parameter_sets: { quick: { steps: 4, name: 'quick' } },
    parameters: { steps: 7, lr: 0.5, name: 'xyz', verbose: false },
    parameter_set: 'full',
    overrides: { steps: 7, name: 'xyz' },
  });
  const report = readJson<{ settings: { parameters: string[] }; notebooks: { parameters: unknown; parameter_set: string }[] }>(
    path.join(out, 'report.json'),
  );
  assert.deepEqual(report.settings.parameters, ['steps=7', 'name=xyz']);
  assert.deepEqual(report.notebooks[0]!.parameters, { steps: 7, lr: 0.5, name: 'xyz', verbose: false });
  // the source notebook is untouched
  assert.equal(readJson<{ cells: Cell[] }>(path.join(ROOT, NB)).cells.length, 6);
});

test('--update-references writes one file per notebook and set; --check fails on a changed number naming cell, position, expected and got, and passes on noise', () => {
  const refs = tmp();
  const out1 = tmp();
  const w = runner(['--dir', DIR, '--quick', '--update-references', '--references', refs, '--out', out1, '--no-figures']);
  assert.equal(w.status, 0, w.stdout + w.stderr);
  assert.deepEqual(fs.readdirSync(refs).sort(), ['01-params.quick.json', '02-plain.quick.json']);
  const file = path.join(refs, '01-params.quick.json');
  const ref = readJson<{ parameter_set: string; parameters: unknown; cells: Record<string, { cell: number; numbers: string[] }> }>(file);
  assert.equal(ref.parameter_set, 'quick');
  assert.deepEqual(ref.parameters, { steps: 4, lr: 0.5, name: 'quick', verbose: false });
  // no entry for the parameters cells (no output) or the timing cell marked "skip"
  assert.deepEqual(Object.keys(ref.cells), ['c002', 'c003', 'c005']);
  assert.deepEqual(ref.cells.c002!.numbers, ['4', '0.5']);
  assert.deepEqual(ref.cells.c003, { cell: 5, head: 'const loss = 2 / steps + lr;', numbers: ['1.0000', '4'] });
  assert.deepEqual(ref.cells.c005!.numbers, ['32033', '0.3333333333333333']);

  // One number changed in 01 (1.0000 → 1.0100: beyond rel 1e-4 + 1e-4), noise in 02 (3.143 → 3.1431: within).
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('["1.0000","4"]', '["1.0100","4"]'));
  const plain = path.join(refs, '02-plain.quick.json');
  fs.writeFileSync(plain, fs.readFileSync(plain, 'utf8').replace('"3.143"', '"3.1431"'));
  const out2 = tmp();
  const c = runner(['--dir', DIR, '--quick', '--check', '--references', refs, '--out', out2, '--no-figures']);
  assert.equal(c.status, 1, c.stdout + c.stderr);
  const relFile = path.relative(ROOT, file);
  assert.ok(
    c.stderr.includes(
      `${NB}: output check failed against ${relFile} (1 cell(s) differ)\n` +
        '  cell 5 (code cell 4), id c003: number 1 of 2: expected 1.0100, got 1.0000 (tolerance: rel 0.0001 + 1 in the last printed digit) in "loss 1.0000 after 4 steps"\n',
    ),
    c.stderr,
  );
  assert.match(c.stdout, /check: every printed number matches .*02-plain\.quick\.json/);
  assert.match(c.stdout, /notebooks: 1 passed, 1 failed/);
  const report = readJson<{ notebooks: { status: string; failure?: { kind: string; cell: number; message: string } }[] }>(
    path.join(out2, 'report.json'),
  );
  assert.equal(report.notebooks[0]!.status, 'failed');
  assert.equal(report.notebooks[0]!.failure!.kind, 'check');
  assert.equal(report.notebooks[0]!.failure!.cell, 5);
  assert.match(report.notebooks[0]!.failure!.message, /^cell 5 \(code cell 4\) \(id c003\) output check failed: number 1 of 2: expected 1\.0100, got 1\.0000/);
  assert.equal(report.notebooks[1]!.status, 'passed');
  assert.match(fs.readFileSync(path.join(out2, 'report.xml'), 'utf8'), /<failure type="check" message="cell 5 \(code cell 4\) \(id c003\) output check failed/);
});
