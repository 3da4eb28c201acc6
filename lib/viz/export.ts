/**
 * Figure export: renders Plotly figures to SVG and PNG in headless Chromium (Debian's /usr/bin/chromium
 * through playwright-core — no browser download), one browser for a whole run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Figure } from './plots';
import { plotlyJsPath, figureHtml } from './plots';

const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
export const CHROMIUM_HINT =
  'Chromium is needed to export figures: sudo apt-get install -y --no-install-recommends chromium  (or set SEQUENTIA_CHROMIUM=/path/to/chrome)';

/** Headless Chromium on a machine with no network beyond loopback: nothing started that would call out. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
] as const;

export function findChromium(): string | null {
  const forced = process.env.SEQUENTIA_CHROMIUM;
  if (forced) return fs.existsSync(forced) ? forced : null;
  return CHROMIUM_CANDIDATES.find((p) => fs.existsSync(p)) ?? null;
}

export interface Rendered {
  svg: string;
  png: Buffer;
  width: number;
  height: number;
}

interface PageLike {
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
}

/** Figure size in CSS pixels: the layout's own, else 900×(layout height or 500). */
export function figureSize(fig: Figure): { width: number; height: number } {
  const w = Number(fig.layout.width ?? 900);
  const h = Number(fig.layout.height ?? 500);
  return { width: Number.isFinite(w) && w > 0 ? w : 900, height: Number.isFinite(h) && h > 0 ? h : 500 };
}

export class FigureRenderer {
  private constructor(
    private readonly close_: () => Promise<void>,
    private readonly page: PageLike,
    readonly startMs: number,
  ) {}

  /** Starts Chromium (persistent context in a temp folder) with plotly.js loaded once. */
  static async start(): Promise<FigureRenderer> {
    const executablePath = findChromium();
    if (!executablePath) throw new Error(CHROMIUM_HINT);
    const t0 = performance.now();
    const { chromium } = await import('playwright-core');
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sequentia-chromium-'));
    const ctx = await chromium.launchPersistentContext(userDir, {
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS],
    });
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    await page.setContent('<!doctype html><html><head><meta charset="utf-8"></head><body></body></html>');
    await page.addScriptTag({ path: plotlyJsPath() });
    const close = async () => {
      await ctx.close();
      fs.rmSync(userDir, { recursive: true, force: true });
    };
    return new FigureRenderer(close, page as unknown as PageLike, performance.now() - t0);
  }

  /** SVG text and a PNG at `scale`× the figure's size. */
  async render(fig: Figure, scale = 2): Promise<Rendered> {
    const { width, height } = figureSize(fig);
    const spec = { data: fig.data, layout: { ...fig.layout, width, height } };
    const [svgUrl, pngUrl] = await this.page.evaluate(
      async (arg: { spec: typeof spec; width: number; height: number; scale: number }) => {
        const P = (
          window as unknown as { Plotly: { toImage(fig: unknown, opts: Record<string, unknown>): Promise<string> } }
        ).Plotly;
        const svg = await P.toImage(arg.spec, { format: 'svg', width: arg.width, height: arg.height });
        const png = await P.toImage(arg.spec, {
          format: 'png',
          width: arg.width,
          height: arg.height,
          scale: arg.scale,
        });
        return [svg, png];
      },
      { spec, width, height, scale },
    );
    const svg = decodeURIComponent(svgUrl.replace(/^data:image\/svg\+xml,/, ''));
    const png = Buffer.from(pngUrl.replace(/^data:image\/png;base64,/, ''), 'base64');
    return { svg, png, width, height };
  }

  async close(): Promise<void> {
    await this.close_();
  }
}

/** A page showing one figure interactively, loading plotly.js from a file beside it (works offline). */
export function standaloneHtml(fig: Figure, title: string, plotlySrc = 'plotly.min.js'): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${title.replace(/</g, '&lt;')}</title>
<script src="${plotlySrc}"></script></head>
<body style="margin:0;font-family:sans-serif">
${figureHtml(fig, { divId: 'figure', plotlySrc })}
</body></html>
`;
}
