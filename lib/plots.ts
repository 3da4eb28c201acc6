/**
 * Plotly figures: small builders for the charts the notebooks draw, and `show` to put one inline.
 *
 * A figure is plain JSON ({ data, layout }) so the same object renders in VS Code (Plotly MIME type),
 * in classic Notebook / nbconvert HTML (text/html with plotly.js included once per kernel), and is
 * exported to SVG/PNG/HTML by scripts.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { display, inNotebook, type MimeBundle } from './display';

export type Trace = { type: string } & Record<string, unknown>;
export interface Figure {
  data: Trace[];
  layout: Record<string, unknown>;
  config?: Record<string, unknown>;
}

export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';
const localRequire = createRequire(__filename);

/** Path of the bundled plotly.js (minified). */
export function plotlyJsPath(): string {
  return localRequire.resolve('plotly.js-dist-min/plotly.min.js');
}

let plotlyJsCache: string | null = null;
function plotlyJs(): string {
  plotlyJsCache ??= fs.readFileSync(plotlyJsPath(), 'utf8');
  return plotlyJsCache;
}

/**
 * plotly.js inside a <script>, with any AMD `define` (classic Notebook's require.js) hidden while it
 * loads so that it sets window.Plotly as everywhere else.
 */
export function plotlyScriptTag(): string {
  return '<script>window.__seqDefine = window.define; window.define = undefined;</script>\n'
    + `<script type="text/javascript">${plotlyJs().replace(/<\/script/gi, '<\\/script')}</script>\n`
    + '<script>window.define = window.__seqDefine;</script>';
}

let divCounter = 0;
/** A div and a script drawing the figure with window.Plotly (waiting for it if it is still loading). */
export function figureHtml(fig: Figure, opts: { includePlotlyJs?: boolean; divId?: string } = {}): string {
  const id = opts.divId ?? `seq-fig-${Date.now().toString(36)}-${divCounter++}`;
  const json = JSON.stringify({ data: fig.data, layout: fig.layout, config: { responsive: true, displaylogo: false, ...fig.config } })
    .replace(/</g, '\\u003c');
  const draw = `<script type="text/javascript">(function () {
  var spec = ${json};
  function draw() { window.Plotly.newPlot(${JSON.stringify(id)}, spec.data, spec.layout, spec.config); }
  if (window.Plotly) { draw(); return; }
  var tries = 0, t = setInterval(function () {
    if (window.Plotly) { clearInterval(t); draw(); }
    else if (++tries > 200) { clearInterval(t); document.getElementById(${JSON.stringify(id)}).textContent = 'plotly.js did not load: re-run the first figure cell of this notebook.'; }
  }, 50);
})();</script>`;
  return `${opts.includePlotlyJs ? plotlyScriptTag() + '\n' : ''}<div id="${id}" class="sequentia-figure" style="width:100%;min-height:${Number(fig.layout.height ?? 450)}px"></div>\n${draw}`;
}

let plotlyJsSent = false;
/** Hooks that add representations to a figure's bundle (the PNG from figure export lands here). */
const bundleHooks: ((fig: Figure, id: string, bundle: MimeBundle) => void)[] = [];
export function addBundleHook(hook: (fig: Figure, id: string, bundle: MimeBundle) => void): void {
  bundleHooks.push(hook);
}

/** Every figure shown in this process, by id, for export. */
export const shownFigures = new Map<string, Figure>();

/**
 * Shows a figure inline under a stable id (used to name exported files). One display message with
 * the Plotly JSON, HTML and a text summary; outside a notebook it only records the figure.
 */
export function show(fig: Figure, id: string): void {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(id)) throw new Error(`figure id '${id}' must be lowercase letters, digits and dashes`);
  shownFigures.set(id, fig);
  if (!inNotebook()) return;
  const bundle: MimeBundle = {
    [PLOTLY_MIME]: { data: fig.data, layout: fig.layout, config: fig.config ?? {} },
    'text/html': figureHtml(fig, { includePlotlyJs: !plotlyJsSent }),
    'text/plain': `<Figure ${id}: ${String((fig.layout.title as { text?: string } | undefined)?.text ?? '')} (${fig.data.length} trace${fig.data.length === 1 ? '' : 's'})>`,
  };
  for (const hook of bundleHooks) hook(fig, id, bundle);
  plotlyJsSent = true;
  display(bundle, { metadata: { sequentia: { figure: id } } });
}

function title(text: string | undefined): Record<string, unknown> | undefined {
  return text === undefined ? undefined : { text };
}

const BASE_LAYOUT = { template: undefined, margin: { l: 60, r: 20, t: 50, b: 50 }, font: { family: 'Helvetica, Arial, sans-serif', size: 13 } };

export interface HeatmapOptions {
  x?: readonly string[];
  y?: readonly string[];
  /** Text drawn in every cell (e.g. the bigram and its count), shown with `texttemplate`. */
  text?: readonly (readonly string[])[];
  title?: string;
  colorscale?: string;
  width?: number;
  height?: number;
  showScale?: boolean;
  fontSize?: number;
}

/** A heatmap with row 0 at the top, as matplotlib's imshow draws the lecture's count matrix. */
export function heatmap(z: readonly (readonly number[])[], opts: HeatmapOptions = {}): Figure {
  const trace: Trace = {
    type: 'heatmap',
    z,
    colorscale: opts.colorscale ?? 'Blues',
    // Plotly's Blues runs dark → light; reversed, zero is white and large counts dark (as imshow's).
    reversescale: (opts.colorscale ?? 'Blues') === 'Blues',
    showscale: opts.showScale ?? true,
    hovertemplate: opts.text ? '%{text}<extra></extra>' : '%{y} → %{x}: %{z}<extra></extra>',
  };
  if (opts.x) trace.x = opts.x;
  if (opts.y) trace.y = opts.y;
  if (opts.text) {
    trace.text = opts.text;
    trace.texttemplate = '%{text}';
    trace.textfont = { size: opts.fontSize ?? 9, color: '#888' };
  }
  return {
    data: [trace],
    layout: {
      ...BASE_LAYOUT,
      title: title(opts.title),
      width: opts.width,
      height: opts.height ?? 600,
      xaxis: { ...(opts.x ? { type: 'category' } : {}), side: 'top', tickfont: { size: 10 } },
      yaxis: { ...(opts.y ? { type: 'category' } : {}), autorange: 'reversed', tickfont: { size: 10 } },
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

export function lineChart(series: readonly Series[], opts: LineOptions = {}): Figure {
  return {
    data: series.map((s) => ({
      type: 'scatter',
      mode: s.mode ?? 'lines',
      name: s.name,
      x: s.x ?? s.y.map((_, i) => i),
      y: s.y,
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

export function barChart(categories: readonly string[], values: readonly number[], opts: LineOptions & { text?: readonly string[] } = {}): Figure {
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
export function labelledScatter(x: readonly number[], y: readonly number[], labels: readonly string[], opts: LineOptions = {}): Figure {
  return {
    data: [{
      type: 'scatter', mode: 'text+markers', x, y, text: labels,
      textposition: 'middle center', textfont: { color: 'white', size: 11 },
      marker: { size: 22, color: '#1f77b4' }, hovertemplate: '%{text}: (%{x:.3f}, %{y:.3f})<extra></extra>',
    }],
    layout: {
      ...BASE_LAYOUT, title: title(opts.title), height: opts.height ?? 520, width: opts.width ?? 560,
      xaxis: { title: title(opts.xTitle), zeroline: false }, yaxis: { title: title(opts.yTitle), zeroline: false },
    },
  };
}

export function histogram(series: readonly { name?: string; values: readonly number[] }[], opts: LineOptions & { bins?: number } = {}): Figure {
  return {
    data: series.map((s) => ({ type: 'histogram', name: s.name, x: s.values, opacity: 0.65, nbinsx: opts.bins ?? 50 })),
    layout: {
      ...BASE_LAYOUT, title: title(opts.title), height: opts.height ?? 380, width: opts.width, barmode: 'overlay',
      showlegend: series.length > 1, xaxis: { title: title(opts.xTitle) }, yaxis: { title: title(opts.yTitle) },
    },
  };
}

/** Figures side by side, each trace on its own axes (subplots built from plain layout domains). */
export function sideBySide(figs: readonly Figure[], opts: { title?: string; height?: number; subtitles?: readonly string[] } = {}): Figure {
  const n = figs.length;
  const gap = 0.06;
  const w = (1 - gap * (n - 1)) / n;
  const data: Trace[] = [];
  const layout: Record<string, unknown> = { ...BASE_LAYOUT, title: title(opts.title), height: opts.height ?? 520, annotations: [] };
  figs.forEach((fig, k) => {
    const suffix = k === 0 ? '' : String(k + 1);
    const src = fig.layout;
    for (const t of fig.data) data.push({ ...t, xaxis: `x${suffix}`, yaxis: `y${suffix}`, showscale: k === n - 1 ? t.showscale : false });
    layout[`xaxis${suffix}`] = { ...(src.xaxis as object), domain: [k * (w + gap), k * (w + gap) + w], anchor: `y${suffix}` };
    layout[`yaxis${suffix}`] = { ...(src.yaxis as object), anchor: `x${suffix}` };
    const sub = opts.subtitles?.[k];
    if (sub) (layout.annotations as object[]).push({ text: `<b>${sub}</b>`, x: k * (w + gap) + w / 2, y: 1.12, xref: 'paper', yref: 'paper', showarrow: false });
  });
  return { data, layout };
}
