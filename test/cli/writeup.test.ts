import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHROMIUM_ARGS, findChromium } from '../../lib/viz/export';
import { lineChart } from '../../lib/viz/plots';
import { markdownToHtml, printFigure } from '../../scripts/cli/writeup';
import { TSX } from '../../scripts/node-tsx';

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURE = 'test/fixtures/notebooks-writeup';

const tmpDirs: string[] = [];
const tmp = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sequentia-writeup-'));
  tmpDirs.push(d);
  return d;
};
after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

function writeup(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [...TSX, path.join(ROOT, 'scripts', 'cli', 'writeup.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(file: string): [number, number] {
  const b = fs.readFileSync(file);
  assert.deepEqual([...b.subarray(1, 4)], [0x50, 0x4e, 0x47], `${file} is a PNG`);
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}

/** Files under dir, relative, sorted. */
const listing = (dir: string): string[] =>
  (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();

test(
  'write-up of an executed notebook with a figure: index.md, index.html and the print figures',
  { skip: findChromium() ? false : 'Chromium not installed (apt-get install chromium)' },
  () => {
    const out = path.join(tmp(), 'writeup');
    const r = writeup(['--from', FIXTURE, '--only', '01', '--out', out, '--width', '600']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.deepEqual(fs.readdirSync(out), ['01-tiny'], 'only the notebook asked for');
    const dir = path.join(out, '01-tiny');
    assert.deepEqual(listing(dir), [
      'figures/01-tiny--tiny-loss.png',
      'figures/01-tiny--tiny-loss.svg',
      'index.html',
      'index.md',
    ]);
    // --width 600, the figure's own height (300, no own width), PNG at 2×
    assert.deepEqual(pngSize(path.join(dir, 'figures/01-tiny--tiny-loss.png')), [1200, 600]);
    const svg = fs.readFileSync(path.join(dir, 'figures/01-tiny--tiny-loss.svg'), 'utf8');
    assert.match(svg, /^<svg[^>]*width="600" height="300"/);
    assert.match(svg, /Tiny loss/);
    assert.match(svg, /font-size: 18px[^"]*"[^>]*>Tiny loss</, 'title at 18 px');
    assert.match(svg, /fill: rgb\(255, 255, 255\)/, 'white background');

    const md = fs.readFileSync(path.join(dir, 'index.md'), 'utf8');
    assert.ok(md.startsWith('# Tiny write-up\n\nSome **bold** text'), md.slice(0, 80));
    assert.equal(md.match(/^```ts$/gm)?.length, 4, 'one ts block per code cell');
    assert.ok(
      md.includes(
        "```ts\nconsole.log('hello');\nconsole.log('<world> & more');\n```\n\n```\nhello\n<world> & more\n```",
      ),
    );
    assert.ok(
      md.includes(
        '![Tiny loss](figures/01-tiny--tiny-loss.svg)\n\n*Figure `tiny-loss`* · [PNG (2×)](figures/01-tiny--tiny-loss.png)',
      ),
    );
    assert.ok(
      md.includes('**Results**\n\n| model | dev loss |\n| --- | --- |\n| mlp | 2.1234 |\n| a\\|b | 2.5000 |'),
      'the HTML table as a Markdown table',
    );
    assert.ok(md.includes('```ts\n6 * 7\n```\n\n```\n42\n```'));
    assert.ok(md.endsWith('## Done\n\nThe end.\n'));

    const html = fs.readFileSync(path.join(dir, 'index.html'), 'utf8');
    assert.doesNotMatch(html, /<script/i, 'no scripts');
    assert.doesNotMatch(html, /https?:\/\/(?!example\.org)/, 'nothing loaded from the network');
    assert.match(html, /<title>Tiny write-up<\/title>/);
    assert.match(html, /<h1>Tiny write-up<\/h1>/);
    assert.match(
      html,
      /<strong>bold<\/strong> text, a <code>code span<\/code> and a <a href="https:\/\/example\.org\/a\?b=1&amp;c=2">link<\/a>/,
    );
    assert.match(html, /<ul><li>one<\/li><li>two<\/li><\/ul>/);
    assert.match(html, /<pre class="output stdout">hello\n&lt;world&gt; &amp; more<\/pre>/);
    assert.match(
      html,
      /<img src="figures\/01-tiny--tiny-loss\.svg" alt="Tiny loss" width="600" height="300">\n<figcaption>Figure <code>tiny-loss<\/code>: Tiny loss · <a href="figures\/01-tiny--tiny-loss\.png">PNG \(2×\)<\/a>/,
    );
    assert.match(
      html,
      /<caption>Results<\/caption><thead><tr><th>model<\/th><th>dev loss<\/th><\/tr><\/thead><tbody><tr><td>mlp<\/td>/,
    );
    assert.equal(html.match(/<pre class="code">/g)?.length, 4);
    assert.ok(!fs.readdirSync(out).some((f) => f.startsWith('.')), 'no temporary folder left');
  },
);

test(
  '--embed-plotly: index.html alone, copied anywhere, draws its figure offline (plotly.js and the PNG inside)',
  { skip: findChromium() ? false : 'Chromium not installed (apt-get install chromium)' },
  async () => {
    const out = path.join(tmp(), 'writeup');
    const r = writeup(['--from', FIXTURE, '--only', '01', '--out', out, '--embed-plotly']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const alone = path.join(tmp(), 'shared.html');
    fs.copyFileSync(path.join(out, '01-tiny', 'index.html'), alone);
    const html = fs.readFileSync(alone, 'utf8');
    assert.ok(html.length > 3_000_000, `plotly.js inside: ${html.length} characters`);
    assert.equal(html.match(/<img src="data:image\/png;base64,/g)?.length, 1, 'the PNG inside, as the fallback');
    assert.doesNotMatch(html, /src="figures\//);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: findChromium()!, args: [...CHROMIUM_ARGS] });
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on('request', (q) => {
        if (!/^(file|data):/.test(q.url())) requests.push(q.url());
      });
      await page.goto('file://' + alone);
      await page.waitForSelector('#figure-tiny-loss .sequentia-figure .main-svg', { timeout: 20_000 });
      assert.match((await page.locator('#figure-tiny-loss .sequentia-figure').textContent()) ?? '', /Tiny loss/);
      assert.deepEqual(requests, []);
    } finally {
      await browser.close();
    }
  },
);

test("--hide-code without Chromium: code left out, outputs kept, the runner's figure export copied", () => {
  const from = path.join(tmp(), 'executed');
  fs.mkdirSync(path.join(from, 'figures'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, FIXTURE, '01-tiny.ipynb'), path.join(from, '01-tiny.ipynb'));
  fs.writeFileSync(path.join(from, 'figures', '01-tiny--tiny-loss.svg'), '<svg>runner export</svg>');
  fs.writeFileSync(path.join(from, 'figures', '01-tiny--tiny-loss.png'), 'png bytes');
  const out = path.join(from, 'writeup');
  const r = writeup(['--from', from, '--out', out, '--hide-code'], { SEQUENTIA_CHROMIUM: '/nonexistent/chromium' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stderr, /Chromium not found: copying the runner's figure export/);
  const dir = path.join(out, '01-tiny');
  assert.equal(fs.readFileSync(path.join(dir, 'figures/01-tiny--tiny-loss.svg'), 'utf8'), '<svg>runner export</svg>');
  assert.equal(fs.readFileSync(path.join(dir, 'figures/01-tiny--tiny-loss.png'), 'utf8'), 'png bytes');
  const md = fs.readFileSync(path.join(dir, 'index.md'), 'utf8');
  assert.doesNotMatch(md, /```ts/);
  assert.doesNotMatch(md, /console\.log/);
  assert.ok(md.includes('```\nhello\n<world> & more\n```'));
  assert.ok(md.includes('![Tiny loss](figures/01-tiny--tiny-loss.svg)'));
  assert.ok(md.includes('| mlp | 2.1234 |'));
  const html = fs.readFileSync(path.join(dir, 'index.html'), 'utf8');
  assert.doesNotMatch(html, /class="code"/);
  assert.match(html, /<pre class="output stdout">42<\/pre>/);
});

test('without Chromium and without an export to copy: the hint and exit 3, nothing written', () => {
  const out = path.join(tmp(), 'writeup');
  const r = writeup(['--from', FIXTURE, '--out', out], { SEQUENTIA_CHROMIUM: '/nonexistent/chromium' });
  assert.equal(r.status, 3, r.stdout + r.stderr);
  assert.match(r.stderr, /1 figure\(s\) to render and Chromium was not found/);
  assert.match(r.stderr, /sudo apt-get install -y --no-install-recommends chromium/);
  assert.ok(!fs.existsSync(out));
});

test('a notebook without figures needs no Chromium', () => {
  const out = path.join(tmp(), 'writeup');
  const r = writeup(['--from', FIXTURE, '--only', '02-other', '--out', out], {
    SEQUENTIA_CHROMIUM: '/nonexistent/chromium',
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.deepEqual(listing(path.join(out, '02-other')), ['index.html', 'index.md']);
  assert.equal(
    fs.readFileSync(path.join(out, '02-other', 'index.md'), 'utf8'),
    "# Other\n\nNo figures here.\n\n```ts\nconsole.log('other');\n```\n\n```\nother\n```\n",
  );
});

test('the newest executed copy among the --from folders; a quick run says so and hides the injected cell', () => {
  const base = tmp();
  const [full, ci] = [path.join(base, 'notebooks'), path.join(base, 'ci-notebooks')];
  for (const d of [full, ci]) fs.mkdirSync(d);
  const nb = JSON.parse(fs.readFileSync(path.join(ROOT, FIXTURE, '02-other.ipynb'), 'utf8')) as {
    cells: { cell_type: string; metadata: Record<string, unknown>; source: string[]; outputs?: unknown[] }[];
    metadata: Record<string, unknown>;
  };
  fs.writeFileSync(path.join(full, '02-other.ipynb'), JSON.stringify(nb));
  // The quick copy: the parameters cell, the runner's injected cell after it, the run's metadata.
  nb.cells.splice(
    1,
    0,
    {
      cell_type: 'code',
      metadata: { tags: ['parameters'] },
      source: ['const steps = 1000;'],
      outputs: [],
    },
    {
      cell_type: 'code',
      metadata: { tags: ['injected-parameters'] },
      source: ['const steps = 10;'],
      outputs: [],
    },
  );
  nb.metadata.sequentia = {
    parameter_sets: { quick: { steps: 10 } },
    parameters: { steps: 10 },
    parameter_set: 'quick',
    overrides: {},
  };
  fs.writeFileSync(path.join(ci, '02-other.ipynb'), JSON.stringify(nb));
  const older = new Date(Date.now() - 60_000);
  fs.utimesSync(path.join(full, '02-other.ipynb'), older, older);
  const out = path.join(base, 'writeup');
  const r = writeup(['--from', full, '--from', ci, '--only', '02', '--out', out]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    new RegExp(`writeup: 02-other from ${ci.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/02-other\\.ipynb \\(quick mode\\)`),
  );
  const md = fs.readFileSync(path.join(out, '02-other', 'index.md'), 'utf8');
  assert.equal(
    md,
    "# Other\n\nNo figures here.\n\n> **Quick mode.** This write-up comes from a quick run (steps = 10): training is shrunken so every cell runs fast, and the numbers and figures below are that run's — not the full run the prose describes.\n\n```ts\nconst steps = 1000;\n```\n\n```ts\nconsole.log('other');\n```\n\n```\nother\n```\n",
  );
  // The full run's copy is newer now: it is the one used, with no banner.
  const newer = new Date(Date.now() + 60_000);
  fs.utimesSync(path.join(full, '02-other.ipynb'), newer, newer);
  const again = writeup(['--from', full, '--from', ci, '--only', '02', '--out', out]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /writeup: 02-other from [^\n]*\/notebooks\/02-other\.ipynb\n/);
  assert.doesNotMatch(fs.readFileSync(path.join(out, '02-other', 'index.md'), 'utf8'), /Quick mode/);
});

test('bad flags and missing or unexecuted notebooks: exit 2 naming the flag or file, nothing written', () => {
  const out = path.join(tmp(), 'writeup');
  const cases: [string[], RegExp][] = [
    [['--frobnicate'], /Unknown option '--frobnicate'[^]*usage: node --require tsx\/cjs scripts\/cli\/writeup\.ts/],
    [['--width', 'wide'], /--width must be a whole number of pixels from 50 to 10000, got 'wide'/],
    [['--height', '10'], /--height must be a whole number of pixels from 50 to 10000, got '10'/],
    [['--scale', '0'], /--scale must be a number above 0 and at most 8, got '0'/],
    [['--out'], /--out needs a value/],
    [['--from', 'no/such/dir'], /--from no\/such\/dir: folder not found/],
    [
      ['--from', FIXTURE, '--only', '05'],
      /--only 05: no executed notebook in test\/fixtures\/notebooks-writeup matches \(there: 01-tiny\.ipynb, 02-other\.ipynb\)/,
    ],
    [
      ['--from', 'test/fixtures/notebooks-faults', '--only', 'ok'],
      /notebooks-faults\/ok\.ipynb: not an executed notebook \(no code cell has outputs\)/,
    ],
    [
      ['--from', 'test/fixtures/notebooks-malformed', '--only', '01-not-json'],
      /01-not-json\.ipynb: not a readable notebook: /,
    ],
  ];
  for (const [args, message] of cases) {
    const r = writeup([...args, ...(args.includes('--out') ? [] : ['--out', out])]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.stdout, '');
  }
  assert.ok(!fs.existsSync(out), 'nothing written');
  // a folder in --out that is not a write-up is not overwritten
  fs.mkdirSync(path.join(out, '02-other'), { recursive: true });
  fs.writeFileSync(path.join(out, '02-other', 'notes.txt'), 'mine');
  const r = writeup(['--from', FIXTURE, '--only', '02', '--out', out]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /02-other exists and is not a write-up \(no index\.md\); not overwriting it/);
  assert.equal(fs.readFileSync(path.join(out, '02-other', 'notes.txt'), 'utf8'), 'mine');
});

test('--help lists every flag and the exit codes', () => {
  const r = writeup(['--help']);
  assert.equal(r.status, 0);
  for (const flag of ['--from', '--only', '--out', '--hide-code', '--width', '--height', '--scale', '--embed-plotly'])
    assert.match(r.stdout, new RegExp(`\\n {2}${flag} `), flag);
  assert.match(
    r.stdout,
    /exit codes:\n {2}0 {4}written\n {2}1 {4}rendering failed\n {2}2 {4}bad flag[^\n]*\n {2}3 {4}Chromium is missing/,
  );
});

test('markdownToHtml: the prose the notebooks use', () => {
  assert.equal(
    markdownToHtml('# 05 · The MLP\n\nA *small* net: `x < y`, **not** <b>html</b>.\nSecond line.'),
    '<h1>05 · The MLP</h1>\n<p>A <em>small</em> net: <code>x &lt; y</code>, <strong>not</strong> &lt;b&gt;html&lt;/b&gt;.\nSecond line.</p>',
  );
  assert.equal(markdownToHtml('1. one\n2. two\n   more'), '<ol><li>one</li><li>two\nmore</li></ol>');
  assert.equal(
    markdownToHtml('| a | b |\n|---|--:|\n| `x|y` | 2 |'.replace('`x|y`', 'x \\| y')),
    '<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>x | y</td><td>2</td></tr></tbody></table>',
  );
  assert.equal(
    markdownToHtml('```ts\nconst a = 1 < 2;\n```'),
    '<pre><code class="language-ts">const a = 1 &lt; 2;</code></pre>',
  );
  assert.equal(markdownToHtml('> quoted\n\n---'), '<blockquote><p>quoted</p></blockquote>\n<hr>');
  assert.equal(markdownToHtml('snake_case_name stays'), '<p>snake_case_name stays</p>');
});

test('printFigure: light theme and print fonts, traces and size as asked', () => {
  const fig = lineChart([{ name: 'loss', y: [3, 2] }], { title: 'Loss', xTitle: 'step', height: 300 });
  const p = printFigure(fig, { width: 700, height: 350 });
  assert.equal(p.data, fig.data);
  const l = p.layout as Record<string, Record<string, unknown> & { font?: { size?: number } }>;
  assert.equal(p.layout.width, 700);
  assert.equal(p.layout.height, 350);
  assert.equal(p.layout.paper_bgcolor, '#ffffff');
  assert.equal(l.font!.size, 14);
  assert.deepEqual((l.title as { text: string; font: { size: number } }).font.size, 18);
  assert.equal((l.title as { text: string }).text, 'Loss');
  assert.equal((l.xaxis!.tickfont as { size: number }).size, 13);
  assert.equal((l.xaxis!.title as { text: string; font: { size: number } }).text, 'step');
  assert.equal((l.xaxis!.title as { font: { size: number } }).font.size, 15);
  assert.equal(fig.layout.width, undefined, 'the original is untouched');
});
