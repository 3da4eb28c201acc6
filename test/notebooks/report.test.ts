import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { junitXml, stripAnsi, writeReports, xmlText, type RunReport } from '../../scripts/notebooks/report';
import { cleanup } from '../helpers/cleanup';
import { JOBS } from '../../scripts/test/run';
import { TSX } from '../../scripts/node-tsx';
import { formatSeconds } from '../../scripts/notebooks/executor';

const ROOT = path.resolve(__dirname, '..', '..');
const FAULTS = 'test/fixtures/notebooks-faults';

const { tmp, started } = cleanup('sequentia-report-');

test('times print as 4.2s under a minute, else minutes and whole seconds (59.96 s is 1m00s, 419.6 s 7m00s)', () => {
  assert.deepEqual(
    [0, 4.24, 59.9, 59.96, 60, 187.4, 419.6, 3599.5].map(formatSeconds),
    ['0.0s', '4.2s', '59.9s', '1m00s', '1m00s', '3m07s', '7m00s', '60m00s'],
  );
});

function runner(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, [...TSX, path.join(ROOT, 'scripts', 'notebooks', 'run.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env,
  });
}

interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
}

const unescapeXml = (s: string): string =>
  s
    .replace(/&#(\d+);/g, (_m, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

/**
 * A small strict XML parser for the report's subset (declaration, elements, attributes, text): fails on
 * unbalanced tags, stray '<' or '&', and characters XML 1.0 forbids.
 */
function parseXml(xml: string): XmlNode {
  // eslint-disable-next-line no-control-regex -- looking for the forbidden control characters
  const bad = /[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u.exec(xml);
  assert.equal(bad, null, `character XML 1.0 forbids: U+${bad?.[0].codePointAt(0)?.toString(16)}`);
  assert.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n/);
  const root: XmlNode = { name: '#root', attrs: {}, children: [], text: '' };
  const stack = [root];
  const token = /<(\/?)([A-Za-z][\w.-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let pos = xml.indexOf('?>') + 2;
  token.lastIndex = pos;
  while (pos < xml.length) {
    const m = token.exec(xml);
    assert.ok(m, `malformed XML at ${pos}: ${xml.slice(pos, pos + 60)}`);
    pos = token.lastIndex;
    const top = stack[stack.length - 1]!;
    if (m[5] !== undefined) {
      assert.doesNotMatch(m[5], /&(?!(?:lt|gt|amp|quot|apos|#\d+);)/, `bare '&' in text: ${m[5].slice(0, 60)}`);
      top.text += unescapeXml(m[5]);
      continue;
    }
    if (m[1]) {
      assert.equal(top.name, m[2], `</${m[2]}> closes <${top.name}>`);
      stack.pop();
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of (m[3] ?? '').matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]!] = unescapeXml(a[2]!);
    const node: XmlNode = { name: m[2]!, attrs, children: [], text: '' };
    top.children.push(node);
    if (!m[4]) stack.push(node);
  }
  assert.equal(stack.length, 1, `unclosed <${stack[stack.length - 1]!.name}>`);
  assert.equal(root.children.length, 1, 'one root element');
  return root.children[0]!;
}

const find = (n: XmlNode, name: string): XmlNode[] =>
  n.children.flatMap((c) => [...(c.name === name ? [c] : []), ...find(c, name)]);

/** python3's expat agrees that the file is well-formed XML (when python3 is there). */
function expatAccepts(file: string): void {
  if (!fs.existsSync('/usr/bin/python3')) return;
  const r = spawnSync('/usr/bin/python3', ['-c', 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])', file], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
}

interface JsonReport {
  status: string;
  settings: Record<string, unknown>;
  figures: { status: string; reason?: string };
  interrupted?: { signal: string; notebook: string; cell: number };
  notebooks: {
    name: string;
    status: string;
    seconds: number;
    reason?: string;
    cells: { cell: number; code_cell: number; status: string; seconds: number | null; head: string }[];
    failure?: { kind: string; cell: number; code_cell: number; message: string; source_head: string; error: string };
  }[];
}
const readJson = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')) as JsonReport;

test('JUnit XML: everything escaped, forbidden characters and colour codes stripped, counts right', () => {
  const nasty = 'a <b> & "c" \'d\'\x00\x07\x1b[31mred\x1b[0m \ud800 \uffff tab\tnl\n\u{1f600}';
  const r: RunReport = {
    suite: 'notebooks',
    status: 'failed',
    started: '2025-01-02T03:04:05.678Z',
    seconds: 12.3456,
    settings: { quick: true, only: ['01', '02'], backend: null },
    figures: { status: 'failed', reason: 'figure export failed: <boom>' },
    notebooks: [
      { name: 'ok.ipynb', path: 'nb/ok.ipynb', status: 'passed', seconds: 1.5, cells: [] },
      {
        name: `bad ${nasty}.ipynb`,
        path: 'nb/bad.ipynb',
        status: 'failed',
        seconds: 2,
        cells: [],
        failure: {
          kind: 'error',
          cell: 3,
          code_cell: 2,
          message: `cell 3 (code cell 2) failed (error): ${nasty}`,
          error: nasty,
          source_head: 'x < y',
          text: `nb/bad.ipynb: cell 3 (code cell 2) failed (error)\n  source:\n    | x < y && z\n  error:\n    ${nasty}`,
        },
      },
      { name: 'stopped.ipynb', path: 'nb/stopped.ipynb', status: 'interrupted', seconds: 0.5, cells: [] },
      { name: 'later.ipynb', path: 'nb/later.ipynb', status: 'skipped', seconds: 0, cells: [], reason: 'not run: --bail' },
    ],
  };
  const xml = junitXml(r);
  const root = parseXml(xml);
  assert.equal(root.name, 'testsuites');
  assert.deepEqual(
    { tests: root.attrs.tests, failures: root.attrs.failures, errors: root.attrs.errors, skipped: root.attrs.skipped },
    { tests: '5', failures: '2', errors: '1', skipped: '1' },
  );
  const [suite, figures] = find(root, 'testsuite');
  assert.deepEqual(suite!.attrs, {
    name: 'notebooks',
    tests: '4',
    failures: '1',
    errors: '1',
    skipped: '1',
    time: '12.346',
    timestamp: '2025-01-02T03:04:05',
  });
  assert.equal(figures!.attrs.name, 'figures');
  assert.equal(find(figures!, 'failure')[0]!.attrs.message, 'figure export failed: <boom>');
  const props = Object.fromEntries(find(suite!, 'property').map((p) => [p.attrs.name, p.attrs.value]));
  assert.deepEqual(props, { quick: 'true', only: '01,02', backend: 'null', status: 'failed' });
  const cases = find(suite!, 'testcase');
  assert.deepEqual(
    cases.map((c) => [c.attrs.name, c.attrs.time, c.children.map((k) => k.name).join()]),
    [
      ['ok.ipynb', '1.500', ''],
      ["bad a <b> & \"c\" 'd'red   tab\tnl\n\u{1f600}.ipynb", '2.000', 'failure'],
      ['stopped.ipynb', '0.500', 'error'],
      ['later.ipynb', '0.000', 'skipped'],
    ],
  );
  const failure = find(cases[1]!, 'failure')[0]!;
  assert.equal(failure.attrs.type, 'error');
  assert.equal(failure.attrs.message, "cell 3 (code cell 2) failed (error): a <b> & \"c\" 'd'red   tab\tnl\n\u{1f600}");
  assert.match(failure.text, /\| x < y && z\n/);
  assert.equal(find(cases[3]!, 'skipped')[0]!.attrs.message, 'not run: --bail');
  assert.equal(xmlText('\x1b[1;31mError\x1b[0m: <x>'), 'Error: &lt;x&gt;');
  assert.equal(stripAnsi('\x1b[33mwarn\x1b[39m'), 'warn');
});

test('reports are written atomically: both files, no temporary file left, replaced on rewrite', () => {
  const dir = path.join(tmp(), 'new', 'out');
  const r: RunReport = {
    suite: 'notebooks',
    status: 'running',
    started: new Date().toISOString(),
    seconds: 0,
    settings: {},
    figures: { status: 'pending' },
    notebooks: [],
  };
  const files = writeReports(dir, r);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['report.json', 'report.xml']);
  assert.equal(files.xml, path.join(dir, 'report.xml'));
  r.status = 'passed';
  writeReports(dir, r);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['report.json', 'report.xml']);
  assert.equal(readJson(dir).status, 'passed');
  assert.match(fs.readFileSync(files.xml, 'utf8'), /<property name="status" value="passed"\/>/);
});

test('a failing run: report.xml names each failing cell, its source and error; report.json has every cell', () => {
  const out = tmp();
  const r = runner(['--dir', 'test/fixtures/notebooks-failing', '--out', out, '--no-figures']);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /reports: .*report\.xml \(JUnit\), .*report\.json/);
  assert.ok(!fs.readdirSync(out).some((f) => f.endsWith('.tmp')));
  const xmlFile = path.join(out, 'report.xml');
  expatAccepts(xmlFile);
  const root = parseXml(fs.readFileSync(xmlFile, 'utf8'));
  const suite = find(root, 'testsuite')[0]!;
  assert.equal(find(root, 'testsuite').length, 1, 'no figures suite with --no-figures');
  assert.equal(suite.attrs.name, 'notebooks');
  assert.equal(suite.attrs.tests, '2');
  assert.equal(suite.attrs.failures, '2');
  assert.equal(suite.attrs.skipped, '0');
  assert.ok(Number(suite.attrs.time) > 0, suite.attrs.time);
  const cases = find(suite, 'testcase');
  assert.deepEqual(
    cases.map((c) => c.attrs.name),
    ['01-throws.ipynb', '02-type-error.ipynb'],
  );
  assert.equal(cases[0]!.attrs.file, 'test/fixtures/notebooks-failing/01-throws.ipynb');
  for (const c of cases) assert.ok(Number(c.attrs.time) > 0, `${c.attrs.name} time ${c.attrs.time}`);
  const f1 = find(cases[0]!, 'failure')[0]!;
  assert.equal(f1.attrs.type, 'error');
  assert.equal(
    f1.attrs.message,
    `cell 4 (code cell 3) failed (error): Error: character 'z' (U+007A) at position 2 of "abz" is not in the vocabulary`,
  );
  assert.match(f1.text, /01-throws\.ipynb: cell 4 \(code cell 3\) failed \(error\)\n {2}source:\n {4}\| \/\/ an unknown/);
  assert.match(f1.text, /\| v\.encode\('abz'\);/);
  const f2 = find(cases[1]!, 'failure')[0]!;
  assert.equal(
    f2.attrs.message,
    "cell 2 (code cell 1) failed (error): 1:7 - Type 'string' is not assignable to type 'number'.",
  );
  assert.match(f2.text, /\| const n: number = 'not a number';/);

  const json = readJson(out);
  assert.equal(json.status, 'failed');
  assert.equal(json.settings.quick, false);
  assert.equal(json.settings.dir, 'test/fixtures/notebooks-failing');
  assert.deepEqual(json.figures, { status: 'skipped', reason: '--no-figures' });
  const [nb1, nb2] = json.notebooks;
  assert.deepEqual(
    nb1!.cells.map((c) => [c.cell, c.code_cell, c.status, c.seconds === null ? null : typeof c.seconds]),
    [
      [2, 1, 'passed', 'number'],
      [3, 2, 'passed', 'number'],
      [4, 3, 'failed', 'number'],
      [5, 4, 'not run', null],
    ],
  );
  assert.equal(nb1!.cells[3]!.head, "console.log('never reached');");
  assert.ok(nb1!.cells[0]!.seconds! > 0);
  assert.equal(nb1!.status, 'failed');
  assert.deepEqual(
    [nb1!.failure!.kind, nb1!.failure!.cell, nb1!.failure!.code_cell],
    ['error', 4, 3],
  );
  assert.match(nb1!.failure!.error, /Error: character 'z'/);
  assert.doesNotMatch(nb1!.failure!.error, /\x1b/); // eslint-disable-line no-control-regex
  assert.deepEqual(
    nb2!.cells.map((c) => c.status),
    ['failed'],
  );
});

test('--bail: the notebooks after the failing one are <skipped/> with the reason', () => {
  const out = tmp();
  const r = runner(['--dir', 'test/fixtures/notebooks-failing', '--out', out, '--no-figures', '--bail']);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  const suite = find(parseXml(fs.readFileSync(path.join(out, 'report.xml'), 'utf8')), 'testsuite')[0]!;
  assert.deepEqual([suite.attrs.tests, suite.attrs.failures, suite.attrs.skipped], ['2', '1', '1']);
  const skipped = find(suite, 'skipped');
  assert.equal(skipped.length, 1);
  assert.equal(skipped[0]!.attrs.message, 'not run: --bail stopped the run after 01-throws.ipynb failed');
  assert.deepEqual(
    readJson(out).notebooks.map((n) => [n.name, n.status, n.cells.map((c) => c.status).join()]),
    [
      ['01-throws.ipynb', 'failed', 'passed,passed,failed,not run'],
      ['02-type-error.ipynb', 'skipped', 'not run'],
    ],
  );
});

test('a passing run in quick mode: one testcase without failure, settings recorded', () => {
  const out = tmp();
  const r = runner(['--dir', FAULTS, '--only', 'ok.ipynb', '--out', out, '--no-figures', '--quick']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const root = parseXml(fs.readFileSync(path.join(out, 'report.xml'), 'utf8'));
  const suite = find(root, 'testsuite')[0]!;
  assert.deepEqual(
    [suite.attrs.tests, suite.attrs.failures, suite.attrs.errors, suite.attrs.skipped],
    ['1', '0', '0', '0'],
  );
  const cases = find(suite, 'testcase');
  assert.equal(cases.length, 1);
  assert.equal(cases[0]!.attrs.name, 'ok.ipynb');
  assert.deepEqual(cases[0]!.children, []);
  const props = Object.fromEntries(find(suite, 'property').map((p) => [p.attrs.name, p.attrs.value]));
  assert.equal(props.quick, 'true');
  assert.equal(props.only, 'ok.ipynb');
  assert.equal(props.status, 'passed');
  const json = readJson(out);
  assert.equal(json.status, 'passed');
  assert.equal(json.settings.quick, true);
  assert.deepEqual(json.settings.only, ['ok.ipynb']);
  assert.equal(json.settings.timeout, 3600);
  assert.deepEqual(
    json.notebooks[0]!.cells.map((c) => [c.cell, c.code_cell, c.status, c.head]),
    [[2, 1, 'passed', 'console.log(1 + 1);']],
  );
});

test('SIGTERM mid-cell: the reports say interrupted, naming the running cell, and are complete XML', async () => {
  const dir = tmp();
  const out = path.join(dir, 'out');
  const mark = path.join(dir, 'kernel.pid');
  const child = spawn(
    process.execPath,
    [...TSX, path.join(ROOT, 'scripts', 'notebooks', 'run.ts'), '--dir', FAULTS, '--only', 'sleep', '--only', 'timeout', '--out', out, '--no-figures'],
    { cwd: ROOT, env: { ...process.env, SEQUENTIA_TEST_MARK: mark }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  started.add(child.pid!);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const t0 = Date.now();
  while (!(fs.existsSync(mark) && fs.readFileSync(mark, 'utf8').length > 0)) {
    if (Date.now() - t0 > 60_000) assert.fail(`the sleeping cell never started:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  started.add(Number(fs.readFileSync(mark, 'utf8')));
  process.kill(child.pid!, 'SIGTERM');
  assert.equal(await exit, 143, output);
  const xmlFile = path.join(out, 'report.xml');
  expatAccepts(xmlFile);
  const suite = find(parseXml(fs.readFileSync(xmlFile, 'utf8')), 'testsuite')[0]!;
  assert.deepEqual(
    [suite.attrs.tests, suite.attrs.failures, suite.attrs.errors, suite.attrs.skipped],
    ['2', '0', '1', '1'],
  );
  const error = find(suite, 'error')[0]!;
  assert.equal(error.attrs.type, 'interrupted');
  assert.equal(error.attrs.message, 'stopped by SIGTERM while running cell 3 (code cell 2)');
  assert.equal(find(suite, 'skipped')[0]!.attrs.message, 'not run: the run was stopped by SIGTERM');
  const json = readJson(out);
  assert.equal(json.status, 'interrupted');
  assert.deepEqual(json.interrupted, { signal: 'SIGTERM', notebook: 'sleep.ipynb', cell: 3 });
  const sleep = json.notebooks.find((n) => n.name === 'sleep.ipynb')!;
  assert.equal(sleep.status, 'interrupted');
  assert.deepEqual(
    sleep.cells.map((c) => c.status),
    ['passed', 'interrupted', 'not run'].slice(0, sleep.cells.length),
  );
  assert.ok(sleep.cells[1]!.seconds! > 0);
  assert.ok(!fs.readdirSync(out).some((f) => f.endsWith('.tmp')));
});

test('the GitHub workflow: valid YAML with on/jobs/runs-on/steps, and every npm script it runs exists', () => {
  const file = path.join(ROOT, '.github', 'workflows', 'notebooks.yml');
  const text = fs.readFileSync(file, 'utf8');
  const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
    .scripts;
  let runs: string[];
  const py = fs.existsSync('/usr/bin/python3')
    ? spawnSync(
        '/usr/bin/python3',
        [
          '-c',
          `import json, sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
on = d.get('on', d.get(True))
jobs = d['jobs']
print(json.dumps({"on": sorted(on) if isinstance(on, dict) else on, "jobs": {k: {"runs-on": j["runs-on"], "container": j.get("container"), "steps": [s.get("run") or s.get("uses") for s in j["steps"]], "runs": [s["run"] for s in j["steps"] if "run" in s]} for k, j in jobs.items()}}))`,
          file,
        ],
        { encoding: 'utf8' },
      )
    : null;
  if (py && py.status === 0) {
    const d = JSON.parse(py.stdout) as {
      on: string[];
      jobs: Record<string, { 'runs-on': string; container: string | null; steps: string[]; runs: string[] }>;
    };
    assert.deepEqual(d.on, ['pull_request', 'push']);
    const job = d.jobs.notebooks!;
    assert.equal(job['runs-on'], 'ubuntu-latest');
    assert.match(job.container ?? '', /^debian:/);
    assert.ok(job.steps.includes('actions/setup-node@v4'));
    assert.ok(job.steps.some((s) => s.startsWith('actions/upload-artifact@')));
    runs = job.runs;
  } else {
    // No PyYAML: a structural check of the keys and the run: lines.
    assert.ok(!py || /No module named 'yaml'/.test(py.stderr), py?.stderr);
    assert.match(text, /^on:\n {2}push:\n {2}pull_request:/m);
    assert.match(text, /^jobs:\n {2}notebooks:\n(?: {4}.*\n|\s*\n|\s*#.*\n)* {4}runs-on: ubuntu-latest/m);
    assert.match(text, /^ {4}steps:\n {6}- /m);
    runs = [...text.matchAll(/^\s+(?:- )?run: (?!\|)(.+)$/gm)].map((m) => m[1]!);
  }
  const npmRuns = runs.flatMap((r) => [...r.matchAll(/\bnpm (?:run )?([\w:-]+)/g)].map((m) => m[1]!));
  assert.deepEqual(npmRuns, ['ci', 'test']);
  for (const s of npmRuns.filter((s) => s !== 'ci')) assert.ok(scripts[s], `package.json has no script '${s}'`);
  assert.match(text, /apt-get install[^\n]*\n?[^\n]*jupyter-nbconvert jupyter-client jupyter-notebook chromium/);
  assert.match(text, /node-version: 20\n\s+cache: npm/);
  // npm test ends by executing the notebooks into out/ci-notebooks and the solutions into out/ci-solutions
  // (both with the output check): the workflow uploads and publishes exactly those
  assert.equal(scripts.test, 'node --require tsx/cjs scripts/test/run.ts');
  const jobs = JOBS.map((j) => j.command.join(' ')).join('\n');
  assert.match(jobs, /scripts\/notebooks\/run\.ts --quick --check --out out\/ci-notebooks$/m);
  assert.match(jobs, /run\.ts --quick --check --dir notebooks\/solutions --out out\/ci-solutions/);
  assert.match(text, /path: \|\n\s+out\/ci-notebooks\n\s+out\/ci-solutions\n/);
  assert.match(text, /report_paths: out\/ci-notebooks\/report\.xml,out\/ci-solutions\/report\.xml/);
});
