/** A figure restyled and sized for print: light theme, print-size fonts. */
import type { Figure } from '../../../lib/viz/plots';

/** Size for print: --width (else the figure's own width, at most 800) and --height (else scaled). */
export function printSize(
  fig: Figure,
  o: { width: number | null; height: number | null },
): { width: number; height: number } {
  const ownW = Number(fig.layout?.width);
  const ownH = Number(fig.layout?.height);
  const hasW = Number.isFinite(ownW) && ownW > 0;
  const h0 = Number.isFinite(ownH) && ownH > 0 ? ownH : 450;
  const width = o.width ?? (hasW ? Math.min(ownW, 800) : 800);
  const height = o.height ?? (hasW ? Math.round((h0 * width) / ownW) : h0);
  return { width, height };
}

const axisTitle = (t: unknown, size: number): Record<string, unknown> | undefined => {
  if (t === undefined || t === null) return undefined;
  const obj = typeof t === 'string' ? { text: t } : (t as Record<string, unknown>);
  return { ...obj, font: { ...(obj.font as object | undefined), size, color: '#1f2328' } };
};

const tickSize = (font: unknown): number => {
  const own = Number((font as { size?: unknown } | undefined)?.size);
  return Number.isFinite(own) && own > 0 && own < 13 ? own + 1 : 13;
};

/**
 * The figure restyled for print: white background, dark text, larger fonts (14 px text, 18 px title,
 * 13 px ticks, or 1 px more than a smaller size the figure sets), light grid; traces, annotations and ids
 * untouched.
 */
export function printFigure(fig: Figure, size: { width: number; height: number }): Figure {
  const layout: Record<string, unknown> = { ...fig.layout };
  delete layout.template;
  for (const key of Object.keys(layout)) {
    if (!/^[xy]axis\d*$/.test(key)) continue;
    const a = (layout[key] ?? {}) as Record<string, unknown>;
    layout[key] = {
      ...a,
      // a smaller font set for many labels (a heatmap's 27 letters) grows by one pixel only: at 13 px
      // plotly.js would turn them 90° or thin them to every other letter
      tickfont: { ...(a.tickfont as object | undefined), size: tickSize(a.tickfont), color: '#1f2328' },
      title: axisTitle(a.title, 15),
      gridcolor: '#e5e7eb',
      zerolinecolor: '#9ca3af',
      linecolor: '#57606a',
    };
  }
  return {
    data: fig.data,
    layout: {
      ...layout,
      paper_bgcolor: '#ffffff',
      plot_bgcolor: '#ffffff',
      font: {
        ...(layout.font as object | undefined),
        family: 'Helvetica, Arial, sans-serif',
        size: 14,
        color: '#1f2328',
      },
      title: axisTitle(layout.title, 18),
      legend: { ...(layout.legend as object | undefined), font: { size: 13 } },
      // room for the larger title
      ...(layout.title !== undefined && typeof (layout.margin as { t?: unknown } | undefined)?.t === 'number'
        ? { margin: { ...(layout.margin as object), t: (layout.margin as { t: number }).t + 10 } }
        : {}),
      width: size.width,
      height: size.height,
    },
    ...(fig.config ? { config: fig.config } : {}),
  };
}
