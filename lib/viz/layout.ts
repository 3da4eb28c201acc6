/**
 * Layout pieces every figure shares: the config it is shown with, titles that wrap to fit the narrowest
 * place the figure is seen, and log-axis ticks without bare digits. scripts/notebooks/figure-check.ts
 * measures the result in Chromium at the notebook's, the export's and the write-up's sizes.
 */

/**
 * Shown with every figure: the modebar only while the pointer is over the figure, with four buttons —
 * short enough to leave a centred title clear (MODEBAR_PX is budgeted in `titleLayout`).
 */
export const FIGURE_CONFIG = {
  displayModeBar: 'hover',
  displaylogo: false,
  modeBarButtons: [['toImage', 'zoom2d', 'pan2d', 'resetScale2d']],
} as const;
/** Width of that modebar at the figure's top right (measured: 4 buttons in plotly.js 4). */
const MODEBAR_PX = 110;

/** Narrowest place a figure of no fixed width is seen: the write-up's print width. */
const PRINT_WIDTH = 800;
/** Width of a figure in classic Notebook 6.4's output area (measured in Chromium, window 1280 px or wider): a wider figure is cut off. */
export const NOTEBOOK_WIDTH = 967;
/** Average width of a title character: 0.55 em of the 18-px title font (Helvetica/Arial, mixed case). */
const TITLE_CHAR_PX = 0.55 * 18;

/** Words of `text` in lines of at most `maxChars` characters (a longer word gets a line of its own). */
export function wrapWords(text: string, maxChars: number): string[] {
  const lines: string[] = [];
  for (const para of text.split('<br>')) {
    let line = '';
    for (const word of para.split(' ')) {
      if (line && line.length + 1 + word.length > maxChars) {
        lines.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    lines.push(line);
  }
  return lines;
}

/**
 * Where plotly.js puts a title anchored at the plot's top (`yref: 'paper'`, `yanchor: 'bottom'`), measured
 * in Chromium for the 18-px title: its first line's box reaches 17 px above and 4 px below the anchor
 * point `pad.b` px over the plot, and every further line goes 23.5 px further *down* (plotly.js anchors
 * the first line, not the block, whatever `yanchor` says) — so a title of n lines is lifted by n − 1 lines.
 */
const TITLE_ABOVE_PX = 17;
const TITLE_BELOW_PX = 4;
const TITLE_LINE_PX = 24;
/** Room between the title and what is under it, and above it. */
const TITLE_GAP_PX = 8;

/**
 * A title centred above the plot, wrapped to the room it has where it is seen narrowest: the notebook
 * (a figure of `width` px or the output area, minus the modebar on both sides so the title stays
 * centred and clear of it) and the write-up (at most 800 px). It stands `above` px higher than the
 * plot's top (the room a top axis's tick labels and the panels' subtitles take); `top` is the top
 * margin that holds it all. Placed against the plot, not the figure's top, so that it stays put when an
 * export changes the figure's height.
 */
export function titleLayout(
  text: string | undefined,
  width?: number,
  above = 0,
): { title?: Record<string, unknown>; top: number } {
  if (text === undefined) return { top: Math.max(20, above + TITLE_GAP_PX) };
  const w = width ?? NOTEBOOK_WIDTH;
  const room = Math.min(Math.min(w, NOTEBOOK_WIDTH) - 2 * (MODEBAR_PX + 8), Math.min(w, PRINT_WIDTH) - 40);
  const lines = wrapWords(text, Math.max(16, Math.floor(room / TITLE_CHAR_PX)));
  const pad = above + TITLE_GAP_PX + TITLE_BELOW_PX + (lines.length - 1) * TITLE_LINE_PX;
  return {
    title: {
      text: lines.join('<br>'),
      x: 0.5,
      xanchor: 'center',
      yref: 'paper',
      y: 1,
      yanchor: 'bottom',
      pad: { b: pad },
    },
    top: pad + TITLE_ABOVE_PX + TITLE_GAP_PX,
  };
}

/**
 * Ticks of a log axis over the data's [lo, hi] at full values: 1-2-5 steps when the data spans up to
 * three decades, powers of ten beyond. plotly.js labels the minor steps of such an axis with bare digits
 * ("6 5 4 3 2" under "10"); over less than a factor of 5 it draws plain linear ticks, kept (null).
 */
export function logTicks(lo: number, hi: number): { tickvals: number[]; ticktext: string[] } | null {
  if (!(lo > 0) || !(hi > 0) || hi / lo < 5) return null;
  const d0 = Math.floor(Math.log10(lo));
  const d1 = Math.ceil(Math.log10(hi));
  const steps = d1 - d0 > 3 ? [1] : [1, 2, 5];
  const tickvals: number[] = [];
  for (let d = d0; d <= d1; d++) for (const s of steps) tickvals.push(Number((s * 10 ** d).toPrecision(3)));
  // a tick each side of the data: plotly.js draws those inside the padded range
  const first = Math.max(0, tickvals.findIndex((v) => v >= lo) - 1);
  const last = tickvals.findIndex((v) => v > hi);
  const kept = tickvals.slice(first, last < 0 ? undefined : last + 1);
  return { tickvals: kept, ticktext: kept.map((v) => String(v)) };
}
