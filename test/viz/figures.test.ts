import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { CHROMIUM_ARGS, FigureRenderer, findChromium, standaloneHtml } from '../../lib/viz/export';
import {
  BLUES,
  DARK_TEXT,
  LIGHT_TEXT,
  PLOTLY_MIME,
  barChart,
  colorAt,
  contrastRatio,
  figureBundle,
  heatmap,
  lineChart,
  plotlyJsPath,
  type Figure,
} from '../../lib/viz/plots';
import { exportFigures, figureOf } from '../../scripts/notebooks/figure-export';
import { histogram } from '../../lib/viz/histogram';
import { TSX } from '../../scripts/node-tsx';

const ROOT = path.resolve(__dirname, '..', '..');

/** Decodes an 8-bit RGB/RGBA non-interlaced PNG enough to count its distinct colours. */
function decodePng(buf: Buffer): { width: number; height: number; colors: number } {
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  let off = 8;
  let width = 0,
    height = 0,
    colorType = 0,
    bitDepth = 0;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('ascii', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      bitDepth = data[8]!;
      colorType = data[9]!;
    }
    if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  assert.equal(bitDepth, 8);
  const bpp = colorType === 6 ? 4 : colorType === 2 ? 3 : 0;
  assert.ok(bpp > 0, `colour type ${colorType}`);
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const prev = Buffer.alloc(stride);
  const cur = Buffer.alloc(stride);
  const colors = new Set<number>();
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp]! : 0;
      const b = prev[i]!;
      const c = i >= bpp ? prev[i - bpp]! : 0;
      const x = line[i]!;
      let v = x;
      if (f === 1) v = x + a;
      else if (f === 2) v = x + b;
      else if (f === 3) v = x + ((a + b) >> 1);
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a),
          pb = Math.abs(p - b),
          pc = Math.abs(p - c);
        v = x + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
      cur[i] = v & 0xff;
    }
    for (let i = 0; i < stride; i += bpp) colors.add((cur[i]! << 16) | (cur[i + 1]! << 8) | cur[i + 2]!);
    cur.copy(prev);
  }
  return { width, height, colors: colors.size };
}

const chromium = findChromium();

test(
  'figure export: heatmap and line chart to valid, non-blank SVG and 2× PNG',
  { skip: chromium ? false : 'Chromium not installed (apt-get install chromium)' },
  async () => {
    const r = await FigureRenderer.start();
    try {
      const z = Array.from({ length: 27 }, (_, i) => Array.from({ length: 27 }, (_, j) => (i * 27 + j) % 97));
      const hm = await r.render(heatmap(z, { title: 'test heatmap', width: 600, height: 600 }));
      const png = decodePng(hm.png);
      assert.equal(png.width, 1200);
      assert.equal(png.height, 1200);
      assert.ok(png.colors > 50, `heatmap PNG has only ${png.colors} colours`);
      assert.match(hm.svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      assert.match(hm.svg, /<\/svg>$/);
      assert.match(hm.svg, /test heatmap/);
      // equal row labels (the two m of "emma") stay two rows: a category axis would merge them
      const labels = ['.', 'e', 'm', 'm', 'a'];
      const oneHot = labels.map((_, i) => Array.from({ length: 27 }, (_, j) => (j === [0, 5, 13, 13, 1][i] ? 1 : 0)));
      const emma = await r.render(heatmap(oneHot, { y: labels, x: Array.from({ length: 27 }, (_, j) => `c${j}`) }));
      const yticks = [...emma.svg.matchAll(/<g class="ytick">.*?>([^<]*)<\/text>/g)].map((m) => m[1]);
      assert.deepEqual(yticks, labels);
      const line = await r.render(lineChart([{ name: 'loss', y: [3, 2.5, 2.2, 2.1] }], { title: 'loss curve' }));
      const lp = decodePng(line.png);
      assert.equal(lp.width, 1800);
      assert.ok(lp.colors > 5);
      assert.match(line.svg, /class="scatterlayer/);
    } finally {
      await r.close();
    }
  },
);

test('standalone HTML loads plotly.js from a sibling file (no network)', () => {
  const html = standaloneHtml(lineChart([{ y: [1, 2] }]), 'x');
  assert.match(html, /<script src="plotly.min.js"><\/script>/);
  assert.doesNotMatch(html, /https?:\/\//);
});

test('a figure bundle carries no plotly.js and its spec once: Plotly JSON first, a short text/html note', () => {
  const b = figureBundle(lineChart([{ name: 'loss', y: [3, 2.5, 2.2, 2.1] }], { title: 'loss' }), 'loss');
  const html = b['text/html'] as string;
  assert.ok(html.length < 300, `text/html is ${html.length} characters`);
  assert.doesNotMatch(html, /plotly\.js v\d|Copyright \d{4}-\d{4}, Plotly/);
  assert.match(html, /Interactive figure loss: drawn by the Sequentia notebook extension/);
  assert.deepEqual(Object.keys(b), [PLOTLY_MIME, 'text/html', 'text/plain']);
  assert.equal(JSON.stringify(b).split('[3,2.5,2.2,2.1]').length, 2, 'the data once in the bundle');
  // The lecture's 27×27 heatmap with a label per cell stays far below the old 5 MB bundle.
  const z = Array.from({ length: 27 }, (_, i) => Array.from({ length: 27 }, (_, j) => (i * 31 + j * 17) % 7000));
  const text = z.map((r, i) => r.map((v, j) => `${i}${j}<br>${v}`));
  const big = figureBundle(heatmap(z, { text, width: 980, height: 980 }), 'bigram-counts');
  assert.ok(JSON.stringify(big).length < 150_000, `heatmap bundle is ${JSON.stringify(big).length} bytes`);
});

test('histograms are binned in TypeScript: `bins` bars per series whose counts sum to the number of values', () => {
  const n = 200_000;
  let seed = 1;
  const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const a = Float32Array.from({ length: n }, () => Math.tanh(4 * (rand() - 0.5)));
  const b = Array.from({ length: n / 2 }, () => rand() * 2 - 1);
  const fig = histogram(
    [
      { name: 'a', values: a },
      { name: 'b', values: [...b, NaN, Infinity] },
    ],
    { bins: 60 },
  );
  assert.equal(fig.data.length, 2);
  for (const [k, t] of fig.data.entries()) {
    assert.equal(t.type, 'bar');
    assert.equal((t.x as number[]).length, 60);
    assert.equal((t.y as number[]).length, 60);
    assert.equal(
      (t.y as number[]).reduce((s, v) => s + v, 0),
      k === 0 ? n : n / 2,
      'counts sum to the finite values',
    );
  }
  assert.ok(JSON.stringify(fig).length < 20_000, `histogram figure is ${JSON.stringify(fig).length} bytes`);
  // shared bins: both series have the same bar positions
  assert.deepEqual(fig.data[0]!.x, fig.data[1]!.x);
  const constant = histogram([{ values: [2, 2, 2] }], { bins: 10 });
  assert.equal(
    (constant.data[0]!.y as number[]).reduce((s, v) => s + v, 0),
    3,
  );
});

test('heatmap cell labels contrast with their cell (≥ 4.5:1) on every cell', () => {
  const z = Array.from({ length: 27 }, (_, i) => Array.from({ length: 27 }, (_, j) => ((i * 27 + j) * 37) % 6763));
  const text = z.map((r) => r.map((v) => `ab<br>${v}`));
  const fig = heatmap(z, { text });
  const t = fig.data[0]!;
  const zmin = Math.min(...z.flat()),
    zmax = Math.max(...z.flat());
  const hex = (h: string) => [1, 3, 5].map((k) => parseInt(h.slice(k, k + 2), 16));
  let light = 0;
  (t.text as string[][]).forEach((row, i) =>
    row.forEach((cell, j) => {
      const m = /color:(#[0-9a-f]{6})/.exec(cell);
      const color = m ? m[1]! : ((t.textfont as { color?: string }).color ?? '');
      assert.match(color, /^#[0-9a-f]{6}$/, 'explicit text colour');
      if (color === LIGHT_TEXT) light++;
      const fill = colorAt(BLUES, (z[i]![j]! - zmin) / (zmax - zmin));
      const ratio = contrastRatio(fill, hex(color));
      assert.ok(ratio >= 4.5, `cell ${i},${j} (${z[i]![j]}): contrast ${ratio.toFixed(2)}`);
    }),
  );
  assert.ok(light > 0 && light < 27 * 27, `${light} light labels`);
  assert.equal((t.textfont as { color?: string }).color, DARK_TEXT);
  assert.deepEqual(t.colorscale, BLUES);
  assert.deepEqual(t.customdata, text, 'hover shows the plain text');
});

test('kernel.mjs install-local writes the kernelspec and the classic Notebook extension; install-user merges nbconfig', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sequentia-jupyter-'));
  try {
    const r = spawnSync(
      process.execPath,
      [path.join(ROOT, 'scripts', 'notebooks', 'kernel.mjs'), 'install-local', dir],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fs.existsSync(path.join(dir, 'kernels', 'sequentia-ts', 'kernel.json')));
    const main = fs.readFileSync(path.join(dir, 'nbextensions', 'sequentia', 'main.js'), 'utf8');
    assert.equal(main, fs.readFileSync(path.join(ROOT, 'scripts', 'notebooks', 'nbextension', 'main.js'), 'utf8'));
    assert.match(main, /register_mime_type\(MIME, render, \{ safe: true, index: 0 \}\)/);
    assert.match(main, /'application\/vnd\.plotly\.v1\+json'/);
    assert.doesNotMatch(main, /https?:\/\/(?!github)/, 'nothing fetched from the network');
    assert.equal(
      fs.statSync(path.join(dir, 'nbextensions', 'sequentia', 'plotly.min.js')).size,
      fs.statSync(plotlyJsPath()).size,
    );
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'nbconfig', 'notebook.json'), 'utf8'));
    assert.deepEqual(cfg, { load_extensions: { 'sequentia/main': true } });

    const data = path.join(dir, 'user-data'),
      conf = path.join(dir, 'user-config');
    fs.mkdirSync(path.join(conf, 'nbconfig'), { recursive: true });
    fs.writeFileSync(
      path.join(conf, 'nbconfig', 'notebook.json'),
      JSON.stringify({ load_extensions: { 'other/main': true }, Cell: { x: 1 } }),
    );
    const u = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'notebooks', 'kernel.mjs'), 'install-user'], {
      encoding: 'utf8',
      env: { ...process.env, JUPYTER_DATA_DIR: data, JUPYTER_CONFIG_DIR: conf },
    });
    assert.equal(u.status, 0, u.stderr);
    assert.ok(fs.existsSync(path.join(data, 'nbextensions', 'sequentia', 'main.js')));
    assert.ok(fs.existsSync(path.join(data, 'kernels', 'sequentia-ts', 'kernel.json')));
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(conf, 'nbconfig', 'notebook.json'), 'utf8')), {
      load_extensions: { 'other/main': true, 'sequentia/main': true },
      Cell: { x: 1 },
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const nbconvert = spawnSync('jupyter', ['nbconvert', '--version'], { stdio: 'ignore' }).status === 0;

test(
  'executed notebook: PNG stored once, as the HTML fallback; nbconvert HTML has one figure per output and draws it offline from a local plotly.min.js',
  { skip: !chromium ? 'Chromium not installed' : !nbconvert ? 'jupyter nbconvert not installed' : false },
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sequentia-nbconvert-'));
    try {
      const nbDir = path.join(dir, 'notebooks'),
        figDir = path.join(dir, 'figures');
      fs.mkdirSync(nbDir);
      const figs: [string, Figure][] = [
        [
          'counts',
          heatmap(
            [
              [0, 5, 9],
              [3, 1, 7],
            ],
            {
              x: ['a', 'b', 'c'],
              y: ['a', 'b'],
              text: [
                ['a0', 'b5', 'c9'],
                ['a3', 'b1', 'c7'],
              ],
              height: 300,
            },
          ),
        ],
        ['bars', barChart(['a', 'b', 'c'], [0.2, 0.5, 0.3], { height: 320 })],
      ];
      const nb = {
        nbformat: 4,
        nbformat_minor: 5,
        metadata: {},
        cells: figs.map(([id, fig], k) => ({
          cell_type: 'code',
          execution_count: k + 1,
          id: `c${k}`,
          metadata: {},
          source: [`show(fig, '${id}')`],
          outputs: [
            { output_type: 'display_data', data: figureBundle(fig, id), metadata: { sequentia: { figure: id } } },
          ],
        })),
      };
      const nbPath = path.join(nbDir, 'fixture.ipynb');
      fs.writeFileSync(nbPath, JSON.stringify(nb));
      await exportFigures([nbPath], figDir, { embed: true, log: () => {} });

      const after = JSON.parse(fs.readFileSync(nbPath, 'utf8')) as typeof nb;
      const pngs: string[] = [];
      for (const [k, cell] of after.cells.entries()) {
        const data = cell.outputs[0]!.data as Record<string, string>;
        // Once, inside text/html (what GitHub shows when scripts are stripped), not again as image/png;
        // the spec once too, inside the same text/html, where figureOf (runner, writeup) reads it.
        assert.equal(data['image/png'], undefined);
        assert.equal(data[PLOTLY_MIME], undefined);
        assert.deepEqual(Object.keys(data).sort(), ['text/html', 'text/plain']);
        const fig = figs[k]![1];
        assert.deepEqual(figureOf(data)?.data, JSON.parse(JSON.stringify(fig.data)));
        assert.equal(data['text/html']!.split(JSON.stringify(fig.data[0]!.z ?? fig.data[0]!.y)).length, 2);
        const b64 = /<img class="sequentia-static"[^>]* src="data:image\/png;base64,([A-Za-z0-9+/=]+)"/.exec(
          data['text/html']!,
        )?.[1];
        assert.match(b64 ?? '', /^iVBORw0KGgo/);
        assert.equal(data['text/html']!.split('base64,').length, 2, 'exactly one embedded image');
        pngs.push(b64!);
        assert.ok(data['text/html']!.length - b64!.length < 8_000);
      }
      assert.ok(fs.existsSync(path.join(nbDir, 'plotly.min.js')), 'plotly.min.js beside the executed notebook');
      assert.ok(fs.existsSync(path.join(figDir, 'fixture--counts.png')));

      const conv = spawnSync('jupyter', ['nbconvert', '--to', 'html', nbPath], { encoding: 'utf8' });
      assert.equal(conv.status, 0, conv.stderr);
      const htmlPath = path.join(nbDir, 'fixture.html');
      const html = fs.readFileSync(htmlPath, 'utf8');
      assert.equal(html.match(/class="sequentia-figure"/g)?.length, figs.length, 'one figure div per figure');
      for (const b64 of pngs)
        assert.equal(html.split(b64.slice(0, 200)).length, 2, 'each PNG once in the HTML (the fallback)');
      assert.doesNotMatch(html, /https?:\/\/[^"' ]*plotly/i, 'plotly.js is not loaded from the network');
      assert.doesNotMatch(html, /Copyright \d{4}-\d{4}, Plotly/, 'plotly.js is not inside the HTML');
      assert.match(html, /s\.src = "plotly\.min\.js"/);

      const { chromium: pw } = await import('playwright-core');
      const browser = await pw.launch({
        executablePath: chromium!,
        args: [...CHROMIUM_ARGS, '--allow-file-access-from-files'],
      });
      try {
        const page = await browser.newPage();
        const external: string[] = [];
        await page.route('**/*', (r) => {
          const u = r.request().url();
          if (/^(file|data|blob):/.test(u)) return r.continue();
          external.push(u);
          return r.abort();
        });
        await page.goto('file://' + htmlPath);
        await page.waitForFunction(
          (n) => document.querySelectorAll('.sequentia-figure .main-svg').length >= n,
          figs.length,
          { timeout: 20_000 },
        );
        const state = await page.evaluate(() =>
          Array.from(document.querySelectorAll('.sequentia-figure')).map((d) => ({
            plots: d.querySelectorAll(':scope > .plot-container').length,
            imgs: d.querySelectorAll('img').length,
            h: Math.round(d.getBoundingClientRect().height),
          })),
        );
        assert.deepEqual(
          state,
          [
            { plots: 1, imgs: 0, h: 300 },
            { plots: 1, imgs: 0, h: 320 },
          ],
          'one drawn plot per figure, fallback replaced, layout height kept',
        );
        assert.deepEqual(external, []);

        // Shared without plotly.min.js beside it: every PNG stays visible at its size, the reason under it.
        const alone = path.join(dir, 'shared');
        fs.mkdirSync(alone);
        fs.copyFileSync(htmlPath, path.join(alone, 'fixture.html'));
        await page.goto('file://' + path.join(alone, 'fixture.html'));
        await page.waitForFunction(
          (n) => document.querySelectorAll('.sequentia-figure .sequentia-note').length >= n,
          figs.length,
          { timeout: 20_000 },
        );
        const shared = await page.evaluate(() =>
          Array.from(document.querySelectorAll('.sequentia-figure')).map((d) => {
            const img = d.querySelector('img.sequentia-static') as HTMLImageElement | null;
            const box = img?.getBoundingClientRect();
            return {
              complete: Boolean(img?.complete && img.naturalWidth > 0),
              visible: img
                ? getComputedStyle(img).display !== 'none' && getComputedStyle(img).visibility !== 'hidden'
                : false,
              w: Math.round(box?.width ?? 0),
              h: Math.round(box?.height ?? 0),
              note: d.querySelector('.sequentia-note')?.textContent ?? '',
            };
          }),
        );
        assert.deepEqual(
          shared.map((f) => ({ complete: f.complete, visible: f.visible, note: f.note })),
          figs.map(() => ({
            complete: true,
            visible: true,
            note: 'Static image: plotly.js did not load (plotly.min.js not found beside this page).',
          })),
        );
        // The PNGs are 1× the figure: 300 and 320 px tall (the layout heights), at most 900 wide.
        assert.deepEqual(
          shared.map((f) => f.h),
          [300, 320],
        );
        for (const f of shared) assert.ok(f.w > 200, `image width ${f.w}`);
      } finally {
        await browser.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('line charts carry 5 significant digits (the picture shows no more)', () => {
  const fig = lineChart([{ name: 'loss', x: [0.5, 1, 2], y: [2.123456789, 1.000012345, 3] }]);
  const t = fig.data[0] as unknown as { x: number[]; y: number[] };
  assert.deepEqual(t.x, [0.5, 1, 2]);
  assert.deepEqual(t.y, [2.1235, 1, 3]);
});

test('a lone series names itself on the y axis (no legend shows it) unless a title says it; two series keep the legend', () => {
  const yTitle = (fig: Figure) => (fig.layout.yaxis as { title?: { text?: string } }).title?.text;
  const one = lineChart([{ name: 'train (smoothed)', y: [3, 2] }], { yTitle: 'loss' });
  assert.equal(one.layout.showlegend, false);
  assert.equal(yTitle(one), 'loss, train (smoothed)');
  assert.equal(
    yTitle(lineChart([{ name: 'loss', y: [3, 2] }], { yTitle: 'minibatch loss (smoothed)' })),
    'minibatch loss (smoothed)',
  );
  assert.equal(yTitle(lineChart([{ name: 'dev', y: [3, 2] }])), 'dev');
  const titled = lineChart([{ name: 'loss', y: [3, 2] }], { title: 'Full-batch loss', yTitle: 'NLL + 0.01·mean(W²)' });
  assert.equal(yTitle(titled), 'NLL + 0.01·mean(W²)', 'the title already says what the line is');
  assert.equal(yTitle(lineChart([{ y: [3, 2] }], { yTitle: 'loss' })), 'loss');
  const two = lineChart(
    [
      { name: 'train', y: [3, 2] },
      { name: 'dev', y: [3, 2.5] },
    ],
    { yTitle: 'loss' },
  );
  assert.equal(two.layout.showlegend, true);
  assert.equal(yTitle(two), 'loss');
});

test('a log axis reaches the label just beyond the data when it is close: a curve never ends below its lowest label', () => {
  const axis = (ys: number[]) =>
    lineChart([{ y: ys }], { logY: true }).layout.yaxis as { range: [number, number]; tickvals: number[] };
  const a = axis([22, 9, 5, 3.1]);
  assert.ok(a.tickvals.includes(2) && a.tickvals.includes(20));
  const span = Math.log10(22) - Math.log10(2);
  assert.ok(Math.abs(a.range[0] - (Math.log10(2) - 0.02 * span)) < 1e-12, 'down to 2 (3.1 / 2 < 1.6)');
  assert.ok(Math.abs(a.range[1] - (Math.log10(22) + 0.02 * span)) < 1e-12, 'not up to 50 (50 / 22 > 1.6)');
  const b = axis([19, 1.2]); // 20 is close above, 1 close below
  assert.deepEqual(
    b.range.map((v) => Number(v.toFixed(6))),
    [-0.026021, 1.327051].map((v) => Number(v.toFixed(6))),
  );
});

test('figures: --help lists every flag and the exit codes; a bad flag is exit 2 with the usage', () => {
  const figures = (args: string[]) =>
    spawnSync(process.execPath, [...TSX, 'scripts/cli/figures.ts', ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
  const h = figures(['--help']);
  assert.equal(h.status, 0);
  for (const flag of ['--from', '--out', '--embed', '--docs', '--help'])
    assert.match(h.stdout, new RegExp(`\\n {2}${flag} `), flag);
  assert.match(
    h.stdout,
    /exit codes:\n {2}0 {4}exported\n {2}1 {4}export failed\n {2}2 {4}bad flag\n {2}3 {4}Chromium is missing/,
  );
  const bad = figures(['--bogus']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /Unknown option '--bogus'\nusage: npm run figures/);
});

test('heatmap hover: counts as they are, other values to 4 significant digits, repeated labels named per cell', () => {
  const hover = (f: ReturnType<typeof heatmap>) => (f.data[0] as unknown as { hovertemplate: string }).hovertemplate;
  assert.equal(hover(heatmap([[3, 6640]], { x: ['a', 'b'], y: ['c'] })), '%{y} → %{x}: %{z}<extra></extra>');
  assert.equal(hover(heatmap([[0.3271731, 1]], { x: ['a', 'b'], y: ['c'] })), '%{y} → %{x}: %{z:.4~g}<extra></extra>');
  assert.equal(hover(heatmap([[0.5], [0.25]], { x: ['e'], y: ['m', 'm'] })), '%{customdata}: %{z:.4~g}<extra></extra>');
});
