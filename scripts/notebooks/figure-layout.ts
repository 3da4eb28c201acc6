/**
 * Figure layout, measured: a figure drawn by plotly.js in headless Chromium at each size a person sees it
 * (`viewsOf`: the classic Notebook's output area, 967 px wide, measured in Notebook 6.4 at a 1280-px
 * window and wider; `npm run figures`' export size; `npm run writeup`'s print size and theme), every text's
 * box read from the SVG, and the rules it must keep (`violations`): no text (title, subtitle, axis title,
 * tick label, legend entry, annotation, bar label, colour-bar title or tick) leaves the figure or overlaps
 * another, no title runs into the plot or sits under the modebar, no category axis has fewer categories
 * than the data has rows (equal labels merge) or shows only some of its labels, the plot keeps at least
 * half the figure's width, and no figure is wider than the notebook's output area.
 * scripts/notebooks/figure-check.ts applies them to every figure of executed notebooks.
 */
import { CHROMIUM_ARGS, CHROMIUM_HINT, findChromium, figureSize } from '../../lib/viz/export';
import { plotlyJsPath, type Figure } from '../../lib/viz/plots';
import { NOTEBOOK_WIDTH } from '../../lib/viz/layout';
import { printFigure, printSize } from '../cli/writeup/print-figure';

export interface View {
  name: string;
  fig: Figure;
  width: number;
  height: number;
  /** false: the figure is drawn in a box of this size with its own layout (the notebook); true: size forced. */
  fixed: boolean;
}

/** The three ways a figure is seen: notebook, `npm run figures` and the write-up. */
export function viewsOf(fig: Figure): View[] {
  const h = Number(fig.layout.height);
  const exp = figureSize(fig);
  const print = printSize(fig, { width: null, height: null });
  return [
    // with the config it carries (a notebook's Plotly JSON holds figureBundle's, with its modebar)
    { name: `notebook ${NOTEBOOK_WIDTH} px`, fig, width: NOTEBOOK_WIDTH, height: h > 0 ? h : 450, fixed: false },
    { name: `export ${exp.width}×${exp.height}`, fig, ...exp, fixed: true },
    { name: `write-up ${print.width}×${print.height}`, fig: printFigure(fig, print), ...print, fixed: true },
  ];
}

type Pt = [number, number];
interface TextBox {
  role: string;
  text: string;
  quad: Pt[];
}
export interface Measured {
  width: number;
  height: number;
  texts: TextBox[];
  modebar: Pt[] | null;
  /** The plot area (inside the axes). */
  plot: Pt[];
  plotWidth: number;
  categories: { axis: string; categories: number; rows: number; labels: number }[];
}

/**
 * Runs in the page (a plain script, so nothing a TypeScript compiler adds can break it): draws the figure
 * in a box, returns every text's corners (its SVG bounding box through its screen transform), the
 * modebar's box, the plot area's width and each category axis's counts.
 */
const MEASURE_JS = String.raw`
window.__seqMeasure = async function (spec, width, height, fixed) {
  var host = document.createElement('div');
  host.style.cssText = 'position:absolute;left:0;top:0;width:' + width + 'px;height:' + height + 'px';
  document.body.appendChild(host);
  var layout = Object.assign({}, spec.layout);
  if (fixed) { layout.width = width; layout.height = height; }
  var config = Object.assign({ displaylogo: false }, spec.config, { responsive: false });
  try {
    await Plotly.newPlot(host, JSON.parse(JSON.stringify(spec.data)), layout, config);
    var fl = host._fullLayout;
    var o = host.getBoundingClientRect();
    var corners = function (el, b) {
      var m = el.getScreenCTM();
      return [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]].map(function (p) {
        return [m.a * p[0] + m.c * p[1] + m.e - o.left, m.b * p[0] + m.d * p[1] + m.f - o.top];
      });
    };
    var role = function (el) {
      var c = function (s) { return el.closest(s); };
      if (c('.heatmap-label') || c('.textpoint') || c('.hoverlayer')) return null;
      if (c('.g-gtitle')) return el.classList.contains('gtitle-subtitle') ? 'subtitle' : 'title';
      var tick = /(?:^|\s)([xy])\d*tick(?:\s|$)/.exec((el.parentNode && el.parentNode.getAttribute('class')) || '');
      if (tick) return tick[1] + ' tick';
      if (c('.cbaxis')) return 'colour-bar tick';
      if (c('.cbtitle')) return 'colour-bar title';
      if (el.classList.contains('legendtext') || c('.legendtitletext')) return 'legend';
      if (c('.annotation')) return 'annotation';
      if (c('.bartext') || el.classList.contains('bartext')) return 'bar label';
      var cls = el.getAttribute('class') || '';
      if (/^[xy]\d*title$/.test(cls)) return 'axis title';
      return cls || 'text';
    };
    var texts = [];
    host.querySelectorAll('svg text').forEach(function (el) {
      var t = (el.textContent || '').trim();
      if (!t) return;
      for (var a = el; a && a !== host; a = a.parentElement) {
        var cs = getComputedStyle(a);
        if (cs.display === 'none' || cs.visibility === 'hidden' || cs.opacity === '0') return;
      }
      var r = role(el);
      if (!r) return;
      var b = el.getBBox();
      if (b.width <= 0 || b.height <= 0) return;
      texts.push({ role: r, text: t, quad: corners(el, b) });
    });
    var mb = host.querySelector('.modebar');
    var mr = mb && mb.getBoundingClientRect();
    var modebar = mr && mr.width > 0 ? [[mr.left - o.left, mr.top - o.top], [mr.right - o.left, mr.top - o.top], [mr.right - o.left, mr.bottom - o.top], [mr.left - o.left, mr.bottom - o.top]] : null;
    var categories = [];
    host._fullData.forEach(function (t) {
      [['x', t.xaxis], ['y', t.yaxis]].forEach(function (p) {
        if (!p[1]) return;
        var ax = fl[p[1].replace(/^([xy])/, '$1axis')];
        if (!ax || ax.type !== 'category') return;
        var rows = t.type === 'heatmap' ? (p[0] === 'y' ? t.z.length : (t.z[0] || []).length) : (t[p[0]] || []).length;
        var labels = (ax._vals || []).filter(function (v) { return v.text !== undefined && v.text !== ''; }).length;
        categories.push({ axis: ax._name, categories: ax._categories.length, rows: rows, labels: labels });
      });
    });
    var s = fl._size;
    var plot = [[s.l, s.t], [s.l + s.w, s.t], [s.l + s.w, s.t + s.h], [s.l, s.t + s.h]];
    return { width: Math.min(width, fl.width), height: Math.min(height, fl.height), texts: texts, modebar: modebar, plot: plot, plotWidth: s.w, categories: categories };
  } finally {
    Plotly.purge(host);
    host.remove();
  }
};`;

/** How far two convex polygons overlap (the smallest penetration over their edge normals; ≤ 0: apart). */
function penetration(a: readonly Pt[], b: readonly Pt[]): number {
  let least = Infinity;
  for (const poly of [a, b]) {
    for (let i = 0; i < poly.length; i++) {
      const [x1, y1] = poly[i]!;
      const [x2, y2] = poly[(i + 1) % poly.length]!;
      const len = Math.hypot(x2 - x1, y2 - y1);
      if (len === 0) continue;
      const n: Pt = [(y1 - y2) / len, (x2 - x1) / len];
      const proj = (p: readonly Pt[]) => p.map(([x, y]) => x * n[0] + y * n[1]);
      const pa = proj(a),
        pb = proj(b);
      least = Math.min(least, Math.min(Math.max(...pa), Math.max(...pb)) - Math.max(Math.min(...pa), Math.min(...pb)));
    }
  }
  return least;
}

/** Pixels two texts may share (glyph boxes include line spacing) and a text may pass the edge by. */
const OVERLAP_PX = 1.5;
const EDGE_PX = 0.5;
const short = (t: string) => JSON.stringify(t.length > 40 ? `${t.slice(0, 37)}…` : t);

/** The violations in one measured view (pure: tested with hand-made measurements too). */
export function violations(m: Measured, view: Pick<View, 'name' | 'fig' | 'fixed'>): string[] {
  const out: string[] = [];
  const w = Number(view.fig.layout.width);
  if (!view.fixed && w > NOTEBOOK_WIDTH)
    out.push(`figure is ${w} px wide; the notebook's output area is ${NOTEBOOK_WIDTH} px`);
  for (const t of m.texts) {
    const xs = t.quad.map((p) => p[0]),
      ys = t.quad.map((p) => p[1]);
    const [l, r, top, bot] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    if (l < -EDGE_PX || top < -EDGE_PX || r > m.width + EDGE_PX || bot > m.height + EDGE_PX)
      out.push(
        `${t.role} ${short(t.text)} leaves the ${m.width}×${m.height} figure (x ${l.toFixed(0)}…${r.toFixed(0)}, y ${top.toFixed(0)}…${bot.toFixed(0)})`,
      );
  }
  for (let i = 0; i < m.texts.length; i++)
    for (let j = i + 1; j < m.texts.length; j++) {
      const a = m.texts[i]!,
        b = m.texts[j]!;
      const d = penetration(a.quad, b.quad);
      if (d > OVERLAP_PX) out.push(`${a.role} ${short(a.text)} overlaps ${b.role} ${short(b.text)} by ${d.toFixed(1)} px`);
    }
  for (const t of m.texts)
    if ((t.role === 'title' || t.role === 'subtitle') && penetration(t.quad, m.plot) > OVERLAP_PX)
      out.push(`${t.role} ${short(t.text)} runs into the plot area`);
  // The modebar exists only where the figure is live (the notebook); exports are images.
  if (m.modebar && !view.fixed)
    for (const t of m.texts)
      if ((t.role === 'title' || t.role === 'subtitle') && penetration(t.quad, m.modebar) > 0)
        out.push(`${t.role} ${short(t.text)} is under the modebar`);
  for (const c of m.categories) {
    if (c.categories < c.rows)
      out.push(`category axis ${c.axis} has ${c.categories} categories for ${c.rows} rows of data (equal labels merge)`);
    else if (c.labels < c.categories)
      out.push(`category axis ${c.axis} labels ${c.labels} of its ${c.categories} categories (labels thinned)`);
  }
  if (m.plotWidth < m.width / 2)
    out.push(`the plot area is ${m.plotWidth.toFixed(0)} px of ${m.width} px (legend or margins take the rest)`);
  return out;
}

interface PageLike {
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
}

/** One Chromium page with plotly.js and the measuring script: `measure` a view, then `close`. */
export async function startChecker(): Promise<{ measure(view: View): Promise<Measured>; close(): Promise<void> }> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error(CHROMIUM_HINT);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, headless: true, args: [...CHROMIUM_ARGS] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.setContent('<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:0"></body></html>');
  await page.addScriptTag({ path: plotlyJsPath() });
  await page.addScriptTag({ content: MEASURE_JS });
  const p = page as unknown as PageLike;
  return {
    measure: (v) =>
      p.evaluate(
        (a: { spec: unknown; w: number; h: number; fixed: boolean }) =>
          (
            window as unknown as { __seqMeasure(s: unknown, w: number, h: number, f: boolean): Promise<Measured> }
          ).__seqMeasure(a.spec, a.w, a.h, a.fixed),
        {
          spec: { data: v.fig.data, layout: v.fig.layout, config: v.fig.config ?? {} },
          w: v.width,
          h: v.height,
          fixed: v.fixed,
        },
      ),
    close: () => browser.close(),
  };
}
