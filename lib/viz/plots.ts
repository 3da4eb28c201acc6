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
    config: { responsive: true, displaylogo: false, ...fig.config },
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
    [PLOTLY_MIME]: { data: fig.data, layout: fig.layout, config: fig.config ?? {} },
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

function title(text: string | undefined): Record<string, unknown> | undefined {
  return text === undefined ? undefined : { text };
}

const BASE_LAYOUT = {
  template: undefined,
  margin: { l: 60, r: 20, t: 50, b: 50 },
  font: { family: 'Helvetica, Arial, sans-serif', size: 13 },
};

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
  fontSize?: number;
}

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
  const trace: Trace = {
    type: 'heatmap',
    z,
    colorscale: scale ?? named,
    zmin,
    zmax,
    showscale: opts.showScale ?? true,
    hovertemplate: opts.text ? '%{customdata}<extra></extra>' : '%{y} → %{x}: %{z}<extra></extra>',
  };
  // A category axis merges equal labels into one row ("emma" has two m rows): rows and columns are
  // placed by index and labelled with tick text instead, so every row of z is drawn.
  const unique = (labels: readonly string[] | undefined) => !labels || new Set(labels).size === labels.length;
  const axis = (labels: readonly string[] | undefined) =>
    !labels
      ? {}
      : unique(labels)
        ? { type: 'category' }
        : { tickmode: 'array', tickvals: labels.map((_, i) => i), ticktext: labels };
  if (opts.x) trace.x = unique(opts.x) ? opts.x : opts.x.map((_, i) => i);
  if (opts.y) trace.y = unique(opts.y) ? opts.y : opts.y.map((_, i) => i);
  if (!opts.text && !(unique(opts.x) && unique(opts.y))) {
    trace.customdata = z.map((r, i) => r.map((_, j) => `${opts.y?.[i] ?? i} → ${opts.x?.[j] ?? j}`));
    trace.hovertemplate = '%{customdata}: %{z}<extra></extra>';
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
  return {
    data: [trace],
    layout: {
      ...BASE_LAYOUT,
      title: title(opts.title),
      width: opts.width,
      height: opts.height ?? 600,
      xaxis: { ...axis(opts.x), side: 'top', tickfont: { size: 10 } },
      yaxis: { ...axis(opts.y), autorange: 'reversed', tickfont: { size: 10 } },
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

export function lineChart(series: readonly Series[], opts: LineOptions = {}): Figure {
  return {
    data: series.map((s) => ({
      type: 'scatter',
      mode: s.mode ?? 'lines',
      name: s.name,
      x: s.x ? s.x.map(compact) : s.y.map((_, i) => i),
      y: s.y.map(compact),
    })),
    layout: {
      ...BASE_LAYOUT,
      title: title(opts.title),
      height: opts.height ?? 420,
      width: opts.width,
      showlegend: series.length > 1,
      xaxis: { title: title(opts.xTitle), type: opts.logX ? 'log' : 'linear' },
      yaxis: { title: title(opts.yTitle), type: opts.logY ? 'log' : 'linear' },
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
      ...BASE_LAYOUT,
      title: title(opts.title),
      height: opts.height ?? 420,
      width: opts.width,
      xaxis: { title: title(opts.xTitle), type: 'category' },
      yaxis: { title: title(opts.yTitle), type: opts.logY ? 'log' : 'linear' },
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
      ...BASE_LAYOUT,
      title: title(opts.title),
      height: opts.height ?? 520,
      width: opts.width ?? 560,
      xaxis: { title: title(opts.xTitle), zeroline: false },
      yaxis: { title: title(opts.yTitle), zeroline: false },
    },
  };
}

/** Equal-width bins over [lo, hi] (the last bin includes hi); non-finite values are left out. */
export interface Binned {
  lo: number;
  width: number;
  counts: number[];
}
function binValues(values: ArrayLike<number>, bins: number, lo: number, hi: number): Binned {
  const n = Math.max(1, Math.floor(bins));
  const width = hi > lo ? (hi - lo) / n : 1;
  const start = hi > lo ? lo : lo - width / 2;
  const counts = new Array<number>(n).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    counts[Math.min(n - 1, Math.max(0, Math.floor((v - start) / width)))]! += 1;
  }
  return { lo: start, width, counts };
}

function round6(v: number): number {
  return Number(v.toPrecision(6));
}

/**
 * Histograms of several series on shared bins, binned here (not in the browser): the figure holds
 * `bins` counts per series, not the raw values, so it stays small whatever the number of values.
 */
export function histogram(
  series: readonly { name?: string; values: ArrayLike<number> }[],
  opts: LineOptions & { bins?: number } = {},
): Figure {
  let lo = Infinity,
    hi = -Infinity;
  for (const s of series)
    for (let i = 0; i < s.values.length; i++) {
      const v = s.values[i]!;
      if (Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  if (!Number.isFinite(lo)) {
    lo = 0;
    hi = 1;
  }
  const bins = opts.bins ?? 50;
  return {
    data: series.map((s) => {
      const b = binValues(s.values, bins, lo, hi);
      const edges = b.counts.map((_, k) => [round6(b.lo + k * b.width), round6(b.lo + (k + 1) * b.width)]);
      return {
        type: 'bar',
        name: s.name,
        opacity: 0.65,
        x: edges.map(([a, c]) => round6((a! + c!) / 2)),
        y: b.counts,
        width: round6(b.width),
        customdata: edges,
        hovertemplate: '[%{customdata[0]}, %{customdata[1]}): %{y}',
        marker: { line: { width: 0 } },
      };
    }),
    layout: {
      ...BASE_LAYOUT,
      title: title(opts.title),
      height: opts.height ?? 380,
      width: opts.width,
      barmode: 'overlay',
      bargap: 0,
      showlegend: series.length > 1,
      xaxis: { title: title(opts.xTitle) },
      yaxis: { title: title(opts.yTitle) },
    },
  };
}

/** Figures side by side, each trace on its own axes (subplots built from plain layout domains). */
export function sideBySide(
  figs: readonly Figure[],
  opts: { title?: string; height?: number; subtitles?: readonly string[] } = {},
): Figure {
  const n = figs.length;
  const gap = 0.06;
  const w = (1 - gap * (n - 1)) / n;
  const data: Trace[] = [];
  const layout: Record<string, unknown> = {
    ...BASE_LAYOUT,
    title: title(opts.title),
    height: opts.height ?? 520,
    annotations: [],
  };
  figs.forEach((fig, k) => {
    const suffix = k === 0 ? '' : String(k + 1);
    const src = fig.layout;
    for (const t of fig.data)
      data.push({ ...t, xaxis: `x${suffix}`, yaxis: `y${suffix}`, showscale: k === n - 1 ? t.showscale : false });
    layout[`xaxis${suffix}`] = {
      ...(src.xaxis as object),
      domain: [k * (w + gap), k * (w + gap) + w],
      anchor: `y${suffix}`,
    };
    layout[`yaxis${suffix}`] = { ...(src.yaxis as object), anchor: `x${suffix}` };
    const sub = opts.subtitles?.[k];
    if (sub)
      (layout.annotations as object[]).push({
        text: `<b>${sub}</b>`,
        x: k * (w + gap) + w / 2,
        y: 1.12,
        xref: 'paper',
        yref: 'paper',
        showarrow: false,
      });
  });
  return { data, layout };
}
