/**
 * The figure check's measurements and rules (scripts/notebooks/figure-layout.ts): its rules on hand-made measurements, then in
 * Chromium on figures with the faults the issue found (a title wider than the figure, two equal
 * category labels merging rows, a figure wider than the notebook) and on the builders' figures, which
 * must pass at every size. npm test runs the check itself on every figure of the quick run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startChecker, violations, viewsOf } from '../../scripts/notebooks/figure-layout';
import { findChromium } from '../../lib/viz/export';
import { PLOTLY_MIME, barChart, figureBundle, heatmap, lineChart, sideBySide, type Figure } from '../../lib/viz/plots';

const ROOT = path.resolve(__dirname, '..', '..');
import { histogramLines } from '../../lib/viz/histogram';
import { NOTEBOOK_WIDTH, logTicks, wrapWords } from '../../lib/viz/layout';
import { TSX } from '../../scripts/node-tsx';

type Pt = [number, number];
const box = (l: number, t: number, r: number, b: number): Pt[] => [
  [l, t],
  [r, t],
  [r, b],
  [l, b],
];
const fig = (layout: Record<string, unknown> = {}): Figure => ({ data: [], layout });
const measured = (texts: { role: string; text: string; quad: Pt[] }[], extra = {}) => ({
  width: 800,
  height: 400,
  texts,
  modebar: null,
  plot: box(60, 40, 760, 350),
  plotWidth: 700,
  categories: [],
  ...extra,
});

test('rules: a text past the edge, two texts overlapping, a title under the modebar (notebook only)', () => {
  const view = { name: 'v', fig: fig(), fixed: true };
  assert.deepEqual(violations(measured([{ role: 'title', text: 'ok', quad: box(10, 5, 790, 25) }]), view), []);
  const [out] = violations(measured([{ role: 'title', text: 'wide', quad: box(-38, 5, 838, 25) }]), view);
  assert.match(out!, /^title "wide" leaves the 800×400 figure \(x -38…838/);
  // touching boxes (1 px: line spacing) pass; 5 px of overlap fails
  const a = { role: 'x tick', text: 'a', quad: box(100, 380, 110, 395) };
  assert.deepEqual(violations(measured([a, { role: 'x tick', text: 'b', quad: box(109, 380, 120, 395) }]), view), []);
  assert.deepEqual(violations(measured([a, { role: 'y tick', text: 'c', quad: box(105, 385, 120, 399) }]), view), [
    'x tick "a" overlaps y tick "c" by 5.0 px',
  ]);
  // rotated boxes whose bounding rectangles overlap but which do not: apart
  const rot = (cx: number): Pt[] => [
    [cx, 300],
    [cx + 40, 340],
    [cx + 30, 350],
    [cx - 10, 310],
  ];
  assert.deepEqual(violations(measured([{ role: 'x tick', text: 'p', quad: rot(100) }, { role: 'x tick', text: 'q', quad: rot(125) }]), view), []);
  assert.deepEqual(violations(measured([{ role: 'title', text: 'low', quad: box(300, 20, 500, 45) }]), view), [
    'title "low" runs into the plot area',
  ]);
  const title = { role: 'title', text: 't', quad: box(500, 5, 780, 25) };
  const under = measured([title], { modebar: box(650, 0, 800, 26) });
  assert.deepEqual(violations(under, view), [], 'an export has no modebar');
  assert.deepEqual(violations(under, { ...view, fixed: false }), ['title "t" is under the modebar']);
});

test('rules: merged and thinned category axes, a squeezed plot, a figure wider than the notebook', () => {
  const nb = { name: 'notebook', fig: fig({ width: 980 }), fixed: false };
  assert.deepEqual(
    violations(
      measured([], {
        plotWidth: 392,
        categories: [
          { axis: 'yaxis', categories: 4, rows: 5, labels: 4 },
          { axis: 'xaxis', categories: 27, rows: 27, labels: 14 },
        ],
      }),
      nb,
    ),
    [
      `figure is 980 px wide; the notebook's output area is ${NOTEBOOK_WIDTH} px`,
      'category axis yaxis has 4 categories for 5 rows of data (equal labels merge)',
      'category axis xaxis labels 14 of its 27 categories (labels thinned)',
      'the plot area is 392 px of 800 px (legend or margins take the rest)',
    ],
  );
});

test('views: the notebook (967 px, own layout), the export (own size or 900×500) and the write-up (≤ 800, print theme)', () => {
  const v = viewsOf(fig({ height: 300 }));
  assert.deepEqual(
    v.map((x) => [x.name, x.width, x.height, x.fixed]),
    [
      ['notebook 967 px', 967, 300, false],
      ['export 900×300', 900, 300, true],
      ['write-up 800×300', 800, 300, true],
    ],
  );
  assert.equal((v[2]!.fig.layout.font as { size: number }).size, 14, 'print fonts');
  assert.deepEqual(
    viewsOf(fig({ width: 560, height: 520 })).map((x) => [x.width, x.height]),
    [
      [967, 520],
      [560, 520],
      [560, 520],
    ],
  );
});

test('titles wrap by words; log ticks are 1-2-5 values (powers of ten past three decades), none for a short range', () => {
  assert.deepEqual(wrapWords('Character embeddings, 2 principal components (18 % of the variance)', 32), [
    'Character embeddings, 2',
    'principal components (18 % of',
    'the variance)',
  ]);
  assert.deepEqual(wrapWords('short<br>second line', 40), ['short', 'second line']);
  assert.deepEqual(logTicks(0.8, 35)?.ticktext, ['0.5', '1', '2', '5', '10', '20', '50']);
  assert.deepEqual(logTicks(0.001, 10000)?.ticktext, ['0.001', '0.01', '0.1', '1', '10', '100', '1000', '10000']);
  assert.equal(logTicks(2.1, 3.3), null, 'within a factor of 5 plotly.js draws plain ticks');
});

test('histogramLines: one line per series on its own bins, each a density of area 1', () => {
  const a = Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 0.5);
  const b = Array.from({ length: 3000 }, (_, i) => Math.cos(i * 0.7) * 0.002);
  const f = histogramLines(
    [
      { name: 'layer 0 (Linear)', values: a },
      { name: 'layer 3 (Linear)', values: Float32Array.from(b) },
    ],
    { bins: 40 },
  );
  assert.deepEqual(
    f.data.map((t) => [t.type, t.mode, t.name, (t.x as number[]).length]),
    [
      ['scatter', 'lines', 'layer 0 (Linear)', 40],
      ['scatter', 'lines', 'layer 3 (Linear)', 40],
    ],
  );
  for (const t of f.data) {
    const x = t.x as number[],
      y = t.y as number[];
    const area = y.reduce((s, v) => s + v, 0) * (x[1]! - x[0]!);
    assert.ok(Math.abs(area - 1) < 1e-4, `${String(t.name)}: area ${area}`);
  }
  assert.ok(Math.max(...(f.data[1]!.x as number[])) < 0.0021, 'the narrow series has its own bins');
});

const skip = !findChromium() && !process.env.CI ? 'Chromium is not installed' : false;
let checker: Awaited<ReturnType<typeof startChecker>> | null = null;
before(async () => {
  if (!skip) checker = await startChecker();
});
after(async () => {
  await checker?.close();
});
/** The problems of a figure shown as `show` shows it (figureBundle's config: the modebar it draws). */
const problems = async (fig: Figure) => {
  const f = { ...fig, config: (figureBundle(fig, 'x')[PLOTLY_MIME] as Figure).config };
  const out: string[] = [];
  for (const v of viewsOf(f)) for (const p of violations(await checker!.measure(v), v)) out.push(`[${v.name}] ${p}`);
  return out;
};

test('in Chromium: the faults of the issue are found at every size', { skip }, async () => {
  const longTitle =
    "makemore's June 2022 settings (dropout 0.1, weight decay 0.1 on Linear weights, clipping, N(0, 0.02) init)";
  const raw: Figure = {
    data: [{ type: 'scatter', x: [1, 2], y: [1, 2] }],
    layout: { title: { text: longTitle }, height: 420 },
  };
  const p = await problems(raw);
  assert.ok(p.some((s) => s.startsWith('[export 900×420] title') && s.includes('leaves the 900×420 figure')), p.join('\n'));
  assert.ok(p.some((s) => s.startsWith('[write-up 800×420] title')), p.join('\n'));
  const merged: Figure = {
    data: [{ type: 'heatmap', z: [[1], [0], [1], [1], [0]], y: ['.', 'e', 'm', 'm', 'a'], x: ['e'] }],
    layout: { height: 260, width: 980, yaxis: { type: 'category' } },
  };
  const m = await problems(merged);
  assert.ok(m.includes('[notebook 967 px] category axis yaxis has 4 categories for 5 rows of data (equal labels merge)'), m.join('\n'));
  assert.ok(m.includes(`[notebook 967 px] figure is 980 px wide; the notebook's output area is ${NOTEBOOK_WIDTH} px`), m.join('\n'));
});

test('in Chromium: the builders’ figures pass at every size', { skip }, async () => {
  const letters = [...'.abcdefghijklmnopqrstuvwxyz'];
  const z = letters.map((_, i) => letters.map((__, j) => ((i * 7 + j * 3) % 11) / 11));
  const cases: [string, Figure][] = [
    [
      'line chart, long title and legend',
      lineChart(
        [
          { name: 'Sequentia, lr ÷10 from step 50,000 test', y: [3, 2.5, 2.2] },
          { name: 'PyTorch 1.13, lr ÷10 from step 50,000 test', y: [3.1, 2.4, 2.1] },
        ],
        { title: "makemore's June 2022 settings: dropout 0.1, weight decay 0.1 on Linear weights, clipping, N(0, 0.02) init", xTitle: 'step', yTitle: 'loss' },
      ),
    ],
    ['one-hot of "emma"', heatmap([0, 5, 13, 13, 1].map((k) => letters.map((_, j) => (j === k ? 1 : 0))), { x: letters, y: ['.', 'e', 'm', 'm', 'a'], title: 'One-hot encoding of the inputs of "emma"', height: 260, showScale: false })],
    [
      'two heatmaps side by side',
      sideBySide([heatmap(z, { x: letters, y: letters }), heatmap(z.map((r) => r.map((v) => v / 2)), { x: letters, y: letters })], {
        title: 'P(next | current): learned (left) and counted (right), one colour scale',
        subtitles: ['neural net: softmax(W)', 'counts: (N+1) normalised'],
        scaleTitle: 'P(next | current)',
        height: 560,
      }),
    ],
    ['log bar chart', barChart(['bigram', 'mlp', 'rnn', 'gru', 'bow', 'transformer'], [0.6, 2.5, 11, 19, 7, 33], { title: 'Milliseconds per training step (batch 32)', yTitle: 'ms/step', logY: true })],
  ];
  for (const [name, f] of cases) assert.deepEqual(await problems(f), [], name);
  const panels = cases[2]![1].data;
  assert.deepEqual(
    panels.map((t) => [t.zmin, t.zmax, t.showscale]),
    [
      [0, 10 / 11, false],
      [0, 10 / 11, true],
    ],
    'one colour range, one colour bar',
  );
});

test('the CLI on executed notebooks: each problem named by notebook, figure and size, exit 1; bad input exit 2', { skip }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sequentia-figure-check-'));
  try {
    const output = (id: string, f: Figure) => ({
      output_type: 'display_data',
      metadata: { sequentia: { figure: id } },
      data: { [PLOTLY_MIME]: { ...f, config: {} }, 'text/plain': id },
    });
    const good = lineChart([{ y: [1, 2, 3] }], { title: 'A short title', xTitle: 'step' });
    const bad: Figure = { data: [{ type: 'scatter', y: [1, 2] }], layout: { title: { text: 'x'.repeat(150) }, height: 300 } };
    const nb = { cells: [{ cell_type: 'code', source: '', outputs: [output('fine', good), output('too-long', bad)] }] };
    fs.writeFileSync(path.join(dir, '01-x.ipynb'), JSON.stringify(nb));
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [...TSX, path.join(ROOT, 'scripts', 'notebooks', 'figure-check.ts'), ...args], {
        encoding: 'utf8',
      });
    const r = run(dir);
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(
      lines.map((l) => l.replace(/ \(x .*$/, '')),
      [
        '01-x too-long [notebook 967 px]: title "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…" leaves the 967×300 figure',
        '01-x too-long [export 900×300]: title "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…" leaves the 900×300 figure',
        '01-x too-long [write-up 800×300]: title "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…" leaves the 800×300 figure',
        'figure check: 2 figures in 1 notebooks, 3 problem(s)',
      ],
    );
    const only = run(dir, '--only', '02');
    assert.equal(only.status, 2);
    assert.match(only.stderr, /no executed notebooks \(\*\.ipynb\) in .*sequentia-figure-check-/);
    const none = run();
    assert.equal(none.status, 2);
    assert.match(none.stderr, /give one folder of executed notebooks \(got 0\)\nusage:/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
