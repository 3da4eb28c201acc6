/**
 * Figure export of executed notebooks: every figure as SVG, PNG (2×) and an offline HTML page, named
 * `<notebook>--<figure id>`, with an index page; optionally each PNG embedded in the notebook's own
 * display bundle, so GitHub and nbconvert show a static image. The runner exports after its run;
 * `npm run figures` (scripts/cli/figures.ts) exports a folder of executed notebooks.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FigureRenderer, standaloneHtml } from '../../lib/viz/export';
import {
  plotlyJsPath,
  figureBundle,
  figureHtml,
  specInHtml,
  FALLBACK_CLASS,
  PLOTLY_MIME,
  type Figure,
} from '../../lib/viz/plots';

interface Output {
  output_type: string;
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}
export interface Notebook {
  cells: { cell_type: string; outputs?: Output[] }[];
}

export interface ExportedFigure {
  notebook: string;
  id: string;
  base: string;
  width: number;
  height: number;
  ms: number;
  pngBytes: number;
}
export interface ExportReport {
  figures: ExportedFigure[];
  browserStartMs: number;
  outDir: string;
}

/**
 * A figure output's spec, wherever the notebook stores it (once either way): the Plotly JSON the kernel
 * sent, or after export the JSON inside its text/html. Null for any other output.
 */
export function figureOf(data: Record<string, unknown> | undefined): Figure | null {
  const spec = data?.[PLOTLY_MIME] as Figure | undefined;
  if (spec && Array.isArray(spec.data)) return spec;
  const html = data?.['text/html'];
  const text = Array.isArray(html) ? html.join('') : typeof html === 'string' ? html : '';
  return text.includes('class="sequentia-figure"') ? specInHtml(text) : null;
}

/** Size limits of a notebook with outputs (README, "Notebook sizes"); the runner's --check enforces them. */
export const SIZE_LIMITS = { executed: 1_000_000, browserSaved: 500_000 };

/**
 * The bytes of an executed notebook as the browser would save it after running the same cells: every
 * exported figure back in the form the kernel sends (Plotly JSON and a note, no PNG), the rest as is.
 */
export function browserSavedBytes(nbText: string): number {
  const nb = JSON.parse(nbText) as Notebook;
  for (const { out, id, fig } of figureOutputs(nb)) out.data = figureBundle(fig, id);
  return Buffer.byteLength(JSON.stringify(nb, null, 1) + '\n');
}

export function figureOutputs(nb: Notebook): { out: Output; id: string; fig: Figure }[] {
  const found: { out: Output; id: string; fig: Figure }[] = [];
  for (const cell of nb.cells) {
    for (const out of cell.outputs ?? []) {
      const spec = figureOf(out.data);
      const id = (out.metadata?.sequentia as { figure?: string } | undefined)?.figure;
      if (spec && id) found.push({ out, id, fig: spec });
    }
  }
  return found;
}

/** Renders the figures of the given executed notebooks; with `embed`, rewrites the notebooks with PNGs. */
export async function exportFigures(
  notebooks: string[],
  outDir: string,
  opts: { embed?: boolean; log?: (s: string) => void } = {},
): Promise<ExportReport> {
  const log = opts.log ?? console.log;
  fs.mkdirSync(outDir, { recursive: true });
  fs.copyFileSync(plotlyJsPath(), path.join(outDir, 'plotly.min.js'));
  // nbconvert HTML of an executed notebook loads plotly.js from a file beside it (no network, and
  // no copy inside the notebook): put one next to every folder of executed notebooks.
  if (opts.embed) {
    for (const dir of new Set(notebooks.map((n) => path.dirname(path.resolve(n))))) {
      if (path.resolve(dir) !== path.resolve(outDir)) fs.copyFileSync(plotlyJsPath(), path.join(dir, 'plotly.min.js'));
    }
  }
  const renderer = await FigureRenderer.start();
  log(`figures: Chromium started in ${renderer.startMs.toFixed(0)} ms`);
  const figures: ExportedFigure[] = [];
  try {
    for (const nbPath of notebooks) {
      const name = path.basename(nbPath, '.ipynb');
      const nb = JSON.parse(fs.readFileSync(nbPath, 'utf8')) as Notebook;
      const outs = figureOutputs(nb);
      const divIds = new Set<string>(); // stable and unique within the notebook (one nbconvert page)
      for (const { out, id, fig } of outs) {
        const t0 = performance.now();
        const r = await renderer.render(fig, 2);
        const base = `${name}--${id}`;
        fs.writeFileSync(path.join(outDir, `${base}.svg`), r.svg);
        fs.writeFileSync(path.join(outDir, `${base}.png`), r.png);
        fs.writeFileSync(path.join(outDir, `${base}.html`), standaloneHtml(fig, `${name}: ${id}`));
        const ms = performance.now() - t0;
        figures.push({ notebook: name, id, base, width: r.width, height: r.height, ms, pngBytes: r.png.length });
        if (opts.embed && out.data) {
          // Everything once: the spec and a 1× PNG (the 2× one is in outDir) inside the text/html, which
          // every HTML viewer shows — nbconvert draws the spec where plotly.js loads and keeps the PNG
          // where it does not; GitHub and other script-less viewers show the PNG. No image/png (a second
          // copy nothing shows: they pick text/html) and no Plotly JSON (a second copy of the spec:
          // figureOf reads it from the HTML; the Sequentia extension draws it from there too).
          const small = await renderer.render(fig, 1);
          delete out.data['image/png'];
          delete out.data[PLOTLY_MIME];
          out.data['text/html'] = embeddedFigureHtml(
            fig,
            out.data['text/html'],
            `data:image/png;base64,${small.png.toString('base64')}`,
            id,
            r,
            divIds,
          );
        }
      }
      if (opts.embed && outs.length > 0) fs.writeFileSync(nbPath, JSON.stringify(nb, null, 1) + '\n');
      log(`figures: ${name}: ${outs.length} figure(s)`);
    }
  } finally {
    await renderer.close();
  }
  fs.writeFileSync(path.join(outDir, 'index.html'), indexHtml(figures));
  return { figures, browserStartMs: renderer.startMs, outDir };
}

/** The figure's text/html after export: same div id, the PNG as its fallback, no plotly.js. */
function embeddedFigureHtml(
  fig: Figure,
  previous: unknown,
  pngUrl: string,
  id: string,
  r: { width: number; height: number },
  divIds: Set<string>,
): string {
  const text = Array.isArray(previous) ? previous.join('') : typeof previous === 'string' ? previous : '';
  let divId = /<div id="([^"]+)" class="sequentia-figure"/.exec(text)?.[1] ?? `sequentia-figure-${id}`;
  while (divIds.has(divId)) divId += '-2';
  divIds.add(divId);
  const img = `<img class="sequentia-static" alt="${id}" src="${pngUrl}" width="${r.width}" height="${r.height}" style="max-width:100%;height:auto">`;
  return figureHtml(fig, { divId, fallbackHtml: `<div class="${FALLBACK_CLASS}">${img}</div>` });
}

function indexHtml(figures: ExportedFigure[]): string {
  const cards = figures
    .map(
      (f) => `<figure><a href="${f.base}.html"><img src="${f.base}.png" alt="${f.id}" loading="lazy"></a>
<figcaption><b>${f.notebook}</b> · ${f.id} — <a href="${f.base}.svg">SVG</a> · <a href="${f.base}.png">PNG</a> · <a href="${f.base}.html">interactive</a></figcaption></figure>`,
    )
    .join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Sequentia figures</title>
<style>body{font-family:sans-serif;margin:2em}main{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:1.5em}
figure{margin:0;border:1px solid #ddd;padding:.5em}img{width:100%}figcaption{font-size:.9em;margin-top:.4em}</style></head>
<body><h1>Sequentia figures</h1><p>${figures.length} figures exported from the executed notebooks.</p><main>
${cards}
</main></body></html>
`;
}
