/**
 * Plotly figures: small builders for the charts the notebooks draw, and `show` to put one inline.
 *
 * A figure is plain JSON ({ data, layout }) so the same object renders in VS Code and JupyterLab
 * (Plotly MIME type), in classic Notebook (the Sequentia nbextension renders the Plotly MIME type;
 * `node scripts/notebooks/kernel.mjs install-local | install-user` installs it), in nbconvert HTML (text/html
 * loading plotly.js from a file beside the page) and is exported to SVG/PNG/HTML by scripts.
 * No copy of plotly.js ever goes into a notebook.
 */
import { createRequire } from 'node:module';
import { display, inNotebook, type MimeBundle } from '../runtime/display';
import { FIGURE_CONFIG, logTicks, titleLayout, wrapWords } from './layout';

export type Trace = { type: string } & Record<string, unknown>;
export interface Figure {
  data: Trace[];
  layout: Record<string, unknown>;
  config?: Record<string, unknown>;
}

export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';
/** Name of the classic Notebook extension (folder under `<data dir>/nbextensions/`). */
const NBEXTENSION = 'sequentia';
const localRequire = createRequire(__filename);

/** Path of the bundled plotly.js (minified). */
export function plotlyJsPath(): string {
  return localRequire.resolve('plotly.js-dist-min/plotly.min.js');
}

/** The figure's own size: layout height (default 450) and width (absent: the container's). */
function figureBox(fig: Figure): { width?: number; height: number } {
  const h = Number(fig.layout.height ?? 450);
  const w = Number(fig.layout.width);
  return { height: Number.isFinite(h) && h > 0 ? h : 450, ...(Number.isFinite(w) && w > 0 ? { width: w } : {}) };
}

/** Text shown inside a figure's div until plotly.js draws over it (replaced by the PNG on export). */
export const FALLBACK_CLASS = 'sequentia-fallback';
/** The `<script type="application/json">` holding a figure's spec inside its text/html. */
const SPEC_CLASS = 'sequentia-spec';

let divCounter = 0;
/**
 * A div, the figure's spec (a JSON script element) and a script drawing it with plotly.js, without
 * including plotly.js. The div holds a fallback (a note, or after export an <img> of the PNG) that the
 * drawing replaces; when plotly.js cannot load, the fallback stays and a line under it says why.
 * Where plotly.js comes from when window.Plotly is absent:
 *  - classic Notebook (body[data-base-url] and require.js): `<base>nbextensions/sequentia/plotly.min.js`,
 *    installed by scripts/notebooks/kernel.mjs;
 *  - anything else (nbconvert HTML, a saved page): `plotly.min.js` beside the page, loaded once for all
 *    figures (the runner's figure export copies it next to the executed notebooks).
 */
export function figureHtml(
  fig: Figure,
  opts: { divId?: string; plotlySrc?: string; fallbackHtml?: string } = {},
): string {
  const id = opts.divId ?? `seq-fig-${Date.now().toString(36)}-${(divCounter++).toString(36)}`;
  const box = figureBox(fig);
  const json = JSON.stringify({
    data: fig.data,
    layout: fig.layout,
    config: { responsive: true, ...FIGURE_CONFIG, ...fig.config },
  }).replace(/</g, '\\u003c');
  const src = JSON.stringify(opts.plotlySrc ?? 'plotly.min.js');
  const fallback =
    opts.fallbackHtml ??
    `<div class="${FALLBACK_CLASS}" style="color:#777;font:13px sans-serif;padding:1em">Interactive figure: needs JavaScript and plotly.js (${src.slice(1, -1)} beside this page, or the Sequentia notebook extension: npm run kernel:install-user).</div>`;
  const style = `width:${box.width ? `${box.width}px;max-width:100%` : '100%'};height:${box.height}px`;
  const script = `<script type="text/javascript">(function () {
  var el = document.getElementById(${JSON.stringify(id)});
  var specEl = document.getElementById(${JSON.stringify(`${id}-spec`)});
  if (!el || !specEl || el.getAttribute('data-drawn')) return;
  var spec = JSON.parse(specEl.textContent);
  function draw(P) {
    if (!P || el.getAttribute('data-drawn')) return;
    el.setAttribute('data-drawn', '1');
    el.innerHTML = '';
    el.style.height = ${JSON.stringify(`${box.height}px`)};
    P.newPlot(el, spec.data, spec.layout, spec.config);
  }
  function fail(why) {
    // The fallback (the PNG, after export) stays; the reason goes under it.
    if (el.querySelector('.sequentia-note')) return;
    var n = document.createElement('div');
    n.className = 'sequentia-note';
    n.style.cssText = 'color:#777;font:12px sans-serif;padding:.3em 0';
    n.textContent = 'Static image: plotly.js did not load (' + why + ').';
    el.appendChild(n);
  }
  if (window.Plotly) { draw(window.Plotly); return; }
  var base = document.body && document.body.getAttribute('data-base-url');
  if (base !== null && base !== undefined && typeof window.require === 'function') {
    window.require(['nbextensions/${NBEXTENSION}/plotly.min'], function (P) { draw(P || window.Plotly); },
      function () { fail('install the notebook extension: npm run kernel:install-user, then reload'); });
    return;
  }
  var L = window.__sequentiaPlotly;
  if (!L) {
    L = window.__sequentiaPlotly = { waiting: [], failed: false };
    var s = document.createElement('script');
    var amd = window.define;
    window.define = undefined;
    s.src = ${src};
    s.onload = function () { window.define = amd; var w = L.waiting; L.waiting = []; w.forEach(function (f) { f(); }); };
    s.onerror = function () { window.define = amd; L.failed = true; var w = L.waiting; L.waiting = []; w.forEach(function (f) { f(); }); };
    document.head.appendChild(s);
  }
  var go = function () { if (window.Plotly) draw(window.Plotly); else fail(${src} + ' not found beside this page'); };
  if (L.failed || window.Plotly) go(); else L.waiting.push(go);
})();</script>`;
  // The div grows with its fallback (the PNG and the note under it) until the plot draws at its height.
  return `<div id="${id}" class="sequentia-figure" style="${style.replace(/height:/, 'min-height:')}">${fallback}</div>\n<script type="application/json" class="${SPEC_CLASS}" id="${id}-spec">${json}</script>\n${script}`;
}

/** The spec stored in a figure's text/html by `figureHtml`, or null when it holds none. */
export function specInHtml(html: string): Figure | null {
  const m = new RegExp(`<script type="application/json" class="${SPEC_CLASS}"[^>]*>([^<]*)</script>`).exec(html);
  return m ? (JSON.parse(m[1] as string) as Figure) : null;
}

/**
 * The display bundle for a figure as the kernel sends it: the spec once, as Plotly JSON (what VS Code,
 * JupyterLab and the Sequentia extension draw), a text/html note for clients with no Plotly renderer, and
 * text. The runner's export later moves the spec into text/html beside a PNG (scripts/notebooks/figure-export.ts).
 */
export function figureBundle(fig: Figure, id: string): MimeBundle {
  const title = String((fig.layout.title as { text?: string } | undefined)?.text ?? '');
  return {
    [PLOTLY_MIME]: { data: fig.data, layout: fig.layout, config: { ...FIGURE_CONFIG, ...fig.config } },
    'text/html': `<div class="${FALLBACK_CLASS}" style="color:#777;font:13px sans-serif;padding:1em">Interactive figure ${id}: drawn by the Sequentia notebook extension (npm run kernel:install-user), VS Code or JupyterLab.</div>`,
    'text/plain': `<Figure ${id}: ${title} (${fig.data.length} trace${fig.data.length === 1 ? '' : 's'})>`,
  };
}

/**
 * Shows a figure inline under a stable id (used to name exported files). One display message with
 * the Plotly JSON, HTML and a text summary; outside a notebook it does nothing (scripts export figures).
 */
export function show(fig: Figure, id: string): void {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(id))
    throw new Error(`figure id '${id}' must be lowercase letters, digits and dashes`);
  if (!inNotebook()) return;
  display(figureBundle(fig, id), { metadata: { sequentia: { figure: id } } });
}

/**
 * An axis with `title`; its tick labels and title push the figure's margins (`automargin`), so long
 * labels ("sebastian", "1e-3") are never cut off.
 */
export function axisLayout(title?: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...(title === undefined ? {} : { title: { text: title } }), automargin: true, ...extra };
}

/** How far past the data a log axis reaches for the next tick: a curve's end then sits between two labels. */
const REACH = 1.6;

/**
 * A log axis's ticks at full values for data in [lo, hi] (see logTicks), else plotly.js's own. Where the
 * tick just beyond either end of the data is within REACH of it, the axis extends to that tick: a loss
 * curve from 22 down to 3.1 would otherwise end below its lowest label (5) with nothing to read it by.
 */
function logAxis(values: readonly number[]): Record<string, unknown> {
  const pos = values.filter((v) => v > 0 && Number.isFinite(v));
  if (pos.length === 0) return { type: 'log' };
  const [lo, hi] = [Math.min(...pos), Math.max(...pos)];
  const ticks = logTicks(lo, hi);
  if (!ticks) return { type: 'log' };
  const below = ticks.tickvals.filter((v) => v <= lo).at(-1);
  const above = ticks.tickvals.find((v) => v >= hi);
  const from = Math.log10(below !== undefined && lo / below <= REACH ? below : lo);
  const to = Math.log10(above !== undefined && above / hi <= REACH ? above : hi);
  const pad = 0.02 * (to - from);
  return { type: 'log', tickmode: 'array', ...ticks, range: [from - pad, to + pad] };
}

const BASE_LAYOUT = {
  template: undefined,
  margin: { l: 60, r: 20, t: 50, b: 50 },
  font: { family: 'Helvetica, Arial, sans-serif', size: 13 },
};

/** Room above the plot for a heatmap's top tick labels (10 px, 13 px in print) and for panel subtitles. */
const TOP_TICKS_PX = 22;
const SUBTITLE_PX = 24;

/** The base layout with `title` over a plot `above` px below its tick labels, and the top margin to hold it. */
export function titled(text: string | undefined, width?: number, above = 0): Record<string, unknown> {
  const { title, top } = titleLayout(text, width, above);
  return { ...BASE_LAYOUT, title, margin: { ...BASE_LAYOUT.margin, t: top } };
}

/** ColorBrewer / matplotlib "Blues": white for zero, dark blue for the largest value (as imshow draws it). */
export const BLUES: [number, string][] = [
  [0, '#f7fbff'],
  [0.125, '#deebf7'],
  [0.25, '#c6dbef'],
  [0.375, '#9ecae1'],
  [0.5, '#6baed6'],
  [0.625, '#4292c6'],
  [0.75, '#2171b5'],
  [0.875, '#08519c'],
  [1, '#08306b'],
];

function hexRgb(hex: string): [number, number, number] {
  const h = hex.replace('#', '');
  const full =
    h.length === 3
      ? h
          .split('')
          .map((c) => c + c)
          .join('')
      : h;
  return [parseInt(full.slice(0, 2), 16), parseInt(full.slice(2, 4), 16), parseInt(full.slice(4, 6), 16)];
}

/** The colour at t ∈ [0, 1] of a colour scale given as [position, '#rrggbb'] stops (linear in RGB, as Plotly). */
export function colorAt(scale: readonly (readonly [number, string])[], t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  for (let k = 1; k < scale.length; k++) {
    const [p1, c1] = scale[k]!;
    if (x <= p1 || k === scale.length - 1) {
      const [p0, c0] = scale[k - 1]!;
      const f = p1 > p0 ? (x - p0) / (p1 - p0) : 0;
      const a = hexRgb(c0),
        b = hexRgb(c1);
      return [0, 1, 2].map((i) => Math.round(a[i]! + (b[i]! - a[i]!) * f)) as [number, number, number];
    }
  }
  return hexRgb(scale[0]![1]);
}

/** WCAG relative luminance of an sRGB colour (0 black … 1 white). */
function luminance([r, g, b]: readonly number[]): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r!) + 0.7152 * lin(g!) + 0.0722 * lin(b!);
}

/** WCAG contrast ratio of two colours (1 … 21). */
export function contrastRatio(a: readonly number[], b: readonly number[]): number {
  const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (l1 + 0.05) / (l2 + 0.05);
}

export const DARK_TEXT = '#000000';
export const LIGHT_TEXT = '#ffffff';
/** Black or white, whichever reads better on `fill` (never below 4.5:1). */
function textColorOn(fill: readonly number[]): string {
  return contrastRatio(fill, hexRgb(LIGHT_TEXT)) > contrastRatio(fill, hexRgb(DARK_TEXT)) ? LIGHT_TEXT : DARK_TEXT;
}

export interface HeatmapOptions {
  x?: readonly string[];
  y?: readonly string[];
  /** Text drawn in every cell (e.g. the bigram and its count), black or white by the cell's colour. */
  text?: readonly (readonly string[])[];
  title?: string;
  /** 'Blues' (default: white → dark blue, as matplotlib) or any Plotly colour scale name. */
  colorscale?: string;
  width?: number;
  height?: number;
  showScale?: boolean;
  /** Title of the colour bar (what a colour means: "P(next)", "count"). */
  scaleTitle?: string;
  /** The colour scale's ends (default: the data's): panels drawn side by side share one range. */
  zmin?: number;
  zmax?: number;
  fontSize?: number;
}

/** A slim colour bar titled along its side (a title on top would widen the margin by its length). */
const colorbar = (title: string) => ({ thickness: 15, title: { text: title, side: 'right' } });

/** A heatmap with row 0 at the top, as matplotlib's imshow draws the lecture's count matrix. */
export function heatmap(z: readonly (readonly number[])[], opts: HeatmapOptions = {}): Figure {
  const named = opts.colorscale ?? 'Blues';
  const scale = named === 'Blues' ? BLUES : null;
  let zmin = Infinity,
    zmax = -Infinity;
  for (const r of z)
    for (const v of r)
      if (Number.isFinite(v)) {
        zmin = Math.min(zmin, v);
        zmax = Math.max(zmax, v);
      }
  if (!Number.isFinite(zmin)) {
    zmin = 0;
    zmax = 1;
  }
  zmin = opts.zmin ?? zmin;
  zmax = opts.zmax ?? zmax;
  // counts exactly; anything else to 4 significant digits (a probability's 7 digits are noise to a reader)
  const value = z.every((r) => r.every(Number.isInteger)) ? '%{z}' : '%{z:.4~g}';
  const trace: Trace = {
    type: 'heatmap',
    z,
    colorscale: scale ?? named,
    zmin,
    zmax,
    showscale: opts.showScale ?? true,
    ...(opts.scaleTitle ? { colorbar: colorbar(opts.scaleTitle) } : {}),
    hovertemplate: opts.text ? '%{customdata}<extra></extra>' : `%{y} → %{x}: ${value}<extra></extra>`,
  };
  // A category axis merges equal labels into one row ("emma" has two m rows): rows and columns are
  // placed by index and labelled with tick text instead, so every row of z is drawn.
  const unique = (labels: readonly string[] | undefined) => !labels || new Set(labels).size === labels.length;
  const axis = (labels: readonly string[] | undefined) =>
    !labels
      ? {}
      : unique(labels)
        ? { type: 'category', dtick: 1 } // every label: plotly.js would thin 27 letters to every other one
        : { tickmode: 'array', tickvals: labels.map((_, i) => i), ticktext: labels };
  if (opts.x) trace.x = unique(opts.x) ? opts.x : opts.x.map((_, i) => i);
  if (opts.y) trace.y = unique(opts.y) ? opts.y : opts.y.map((_, i) => i);
  if (!opts.text && !(unique(opts.x) && unique(opts.y))) {
    trace.customdata = z.map((r, i) => r.map((_, j) => `${opts.y?.[i] ?? i} → ${opts.x?.[j] ?? j}`));
    trace.hovertemplate = `%{customdata}: ${value}<extra></extra>`;
  }
  if (opts.text) {
    const span = zmax > zmin ? zmax - zmin : 1;
    // Text colour per cell: the default is black; cells too dark for it get their text wrapped in a
    // white span (Plotly styles <span style="color:…"> inside text). With another colour scale Plotly's
    // own per-cell contrast ('auto') decides. Hover shows the plain text (customdata).
    trace.text = scale
      ? opts.text.map((r, i) =>
          r.map((t, j) =>
            textColorOn(colorAt(scale, ((z[i]?.[j] ?? zmin) - zmin) / span)) === LIGHT_TEXT
              ? t
                  .split('<br>')
                  .map((line) => `<span style="color:${LIGHT_TEXT}">${line}</span>`)
                  .join('<br>')
              : t,
          ),
        )
      : opts.text;
    trace.customdata = opts.text;
    trace.texttemplate = '%{text}';
    trace.textfont = { size: opts.fontSize ?? 9, ...(scale ? { color: DARK_TEXT } : {}) };
  }
  const base = titled(opts.title, opts.width, opts.x ? TOP_TICKS_PX : 0);
  return {
    data: [trace],
    layout: {
      ...base,
      // the x labels are on top: below the cells there is nothing to make room for
      margin: { ...(base.margin as Record<string, number>), b: 12 },
      width: opts.width,
      height: opts.height ?? 600,
      // No zero line: on an axis placed by index (repeated labels) it runs through the first row, and
      // its end stuck out past the cells by a fraction of a pixel: a stray "." at its right end.
      xaxis: axisLayout(undefined, { ...axis(opts.x), side: 'top', tickfont: { size: 10 }, zeroline: false }),
      yaxis: axisLayout(undefined, { ...axis(opts.y), autorange: 'reversed', tickfont: { size: 10 }, zeroline: false }),
    },
  };
}

export interface Series {
  name?: string;
  x?: readonly (number | string)[];
  y: readonly number[];
  mode?: 'lines' | 'markers' | 'lines+markers';
}

export interface LineOptions {
  title?: string;
  xTitle?: string;
  yTitle?: string;
  logX?: boolean;
  logY?: boolean;
  height?: number;
  width?: number;
}

/**
 * A value rounded to 5 significant digits: a chart a few hundred pixels tall cannot show more, and a
 * figure's data is stored twice in a notebook (Plotly JSON and the HTML that draws it).
 */
function compact(v: number | string): number | string {
  return typeof v === 'number' && Number.isFinite(v) && !Number.isInteger(v) ? Number(v.toPrecision(5)) : v;
}

/**
 * A legend entry in lines of at most 24 characters: a legend of long names ("PyTorch 1.13, lr ÷10 from
 * step 50,000 test") would otherwise take half the figure's width from the plot.
 */
const legendName = (name: string | undefined) => (name === undefined ? undefined : wrapWords(name, 24).join('<br>'));

/**
 * The y axis's title: with one series there is no legend, so a name that neither the figure's title nor
 * the axis's already holds ("train (smoothed)", "mean of each 500 steps") joins it rather than showing
 * only on hover.
 */
function yAxisTitle(series: readonly Series[], opts: LineOptions): string | undefined {
  const name = series.length === 1 ? series[0]?.name : undefined;
  if (!name || opts.yTitle?.includes(name) || opts.title?.includes(name)) return opts.yTitle;
  return opts.yTitle ? `${opts.yTitle}, ${name}` : name;
}

export function lineChart(series: readonly Series[], opts: LineOptions = {}): Figure {
  const ys = series.flatMap((s) => s.y);
  const xs = series.flatMap((s) => (s.x ?? s.y.map((_, i) => i)).filter((v): v is number => typeof v === 'number'));
  return {
    data: series.map((s) => ({
      type: 'scatter',
      mode: s.mode ?? 'lines',
      name: legendName(s.name),
      x: s.x ? s.x.map(compact) : s.y.map((_, i) => i),
      y: s.y.map(compact),
    })),
    layout: {
      ...titled(opts.title, opts.width),
      height: opts.height ?? 420,
      width: opts.width,
      showlegend: series.length > 1,
      // a wrapped entry starts level with its line (centred, its first line would rise above the plot)
      legend: { valign: 'top' },
      // standoff: the first x label clears the lowest y label where the axes meet
      xaxis: axisLayout(opts.xTitle, { ...(opts.logX ? logAxis(xs) : { type: 'linear' }), ticklabelstandoff: 6 }),
      yaxis: axisLayout(yAxisTitle(series, opts), opts.logY ? logAxis(ys) : { type: 'linear' }),
    },
  };
}

export function barChart(
  categories: readonly string[],
  values: readonly number[],
  opts: LineOptions & { text?: readonly string[] } = {},
): Figure {
  return {
    data: [{ type: 'bar', x: categories, y: values, text: opts.text, textposition: 'auto' }],
    layout: {
      ...titled(opts.title, opts.width),
      height: opts.height ?? 420,
      width: opts.width,
      xaxis: axisLayout(opts.xTitle, { type: 'category', dtick: 1 }),
      yaxis: axisLayout(opts.yTitle, opts.logY ? logAxis(values) : { type: 'linear' }),
    },
  };
}

/** Points labelled with text (the characters of a 2-D embedding). */
export function labelledScatter(
  x: readonly number[],
  y: readonly number[],
  labels: readonly string[],
  opts: LineOptions = {},
): Figure {
  const width = opts.width ?? 560;
  return {
    data: [
      {
        type: 'scatter',
        mode: 'text+markers',
        x,
        y,
        text: labels,
        textposition: 'middle center',
        textfont: { color: 'white', size: 11 },
        marker: { size: 22, color: '#1f77b4' },
        hovertemplate: '%{text}: (%{x:.3f}, %{y:.3f})<extra></extra>',
      },
    ],
    layout: {
      ...titled(opts.title, width),
      height: opts.height ?? 520,
      width,
      xaxis: axisLayout(opts.xTitle, { zeroline: false }),
      yaxis: axisLayout(opts.yTitle, { zeroline: false }),
    },
  };
}

/**
 * Figures side by side, each trace on its own axes (subplots built from plain layout domains). Heatmap
 * panels share one colour range (the smallest zmin to the largest zmax), drawn by one colour bar at the
 * right titled `scaleTitle` (unless `showScale` is false): the same colour means the same value in every
 * panel. A panel's subtitle stands above its top tick labels, the figure's title above the subtitles.
 */
export function sideBySide(
  figs: readonly Figure[],
  opts: {
    title?: string;
    height?: number;
    subtitles?: readonly string[];
    scaleTitle?: string;
    showScale?: boolean;
  } = {},
): Figure {
  const n = figs.length;
  const gap = 0.06;
  const w = (1 - gap * (n - 1)) / n;
  const maps = figs.flatMap((f) => f.data.filter((t) => t.type === 'heatmap'));
  const zmin = Math.min(...maps.map((t) => Number(t.zmin)));
  const zmax = Math.max(...maps.map((t) => Number(t.zmax)));
  const lastMap = maps[maps.length - 1];
  for (const t of maps)
    if (t.text !== undefined && (t.zmin !== zmin || t.zmax !== zmax))
      throw new Error(
        `sideBySide: heatmap panels with cell text pick text colours for their own range: build them with one zmin/zmax (${zmin}, ${zmax})`,
      );
  const data: Trace[] = [];
  const topTicks = figs.some((f) => (f.layout.xaxis as { side?: string } | undefined)?.side === 'top');
  const tickRoom = topTicks ? TOP_TICKS_PX : 0;
  const base = titled(opts.title, undefined, tickRoom + (opts.subtitles ? SUBTITLE_PX : 0));
  const layout: Record<string, unknown> = {
    ...base,
    // labels on top (heatmaps): nothing below the panels to make room for
    ...(topTicks ? { margin: { ...(base.margin as Record<string, number>), b: 12 } } : {}),
    height: opts.height ?? 520,
    annotations: [],
  };
  figs.forEach((fig, k) => {
    const suffix = k === 0 ? '' : String(k + 1);
    const src = fig.layout;
    for (const t of fig.data) {
      const shared =
        t.type === 'heatmap'
          ? {
              zmin,
              zmax,
              showscale: t === lastMap && opts.showScale !== false,
              ...(t === lastMap && opts.scaleTitle ? { colorbar: colorbar(opts.scaleTitle) } : {}),
            }
          : { showscale: k === n - 1 ? t.showscale : false };
      data.push({ ...t, xaxis: `x${suffix}`, yaxis: `y${suffix}`, ...shared });
    }
    layout[`xaxis${suffix}`] = {
      ...(src.xaxis as object),
      domain: [k * (w + gap), k * (w + gap) + w],
      anchor: `y${suffix}`,
    };
    const sub = opts.subtitles?.[k];
    if (sub)
      (layout.annotations as object[]).push({
        text: `<b>${sub}</b>`,
        xref: 'paper',
        x: k * (w + gap) + w / 2,
        xanchor: 'center',
        yref: 'paper',
        y: 1,
        yanchor: 'bottom',
        yshift: tickRoom,
        showarrow: false,
      });
    layout[`yaxis${suffix}`] = { ...(src.yaxis as object), anchor: `x${suffix}` };
  });
  return { data, layout };
}
