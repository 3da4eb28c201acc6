/**
 * Histograms, binned here (not in the browser): a figure holds `bins` numbers per series, not the raw
 * values, so it stays small whatever the number of values. Two forms: overlaid bars on shared bins (two
 * series compare well), and one line per series (the lecture's plt.plot of torch.histogram: five or six
 * layers stay apart where translucent bars blend into one colour).
 */
import { axisLayout, titled, type Figure, type LineOptions } from './plots';

/** Equal-width bins over [lo, hi] (the last bin includes hi); non-finite values are left out. */
interface Binned {
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

/** The finite range of the values of all `series` ([0, 1] when there is none). */
function finiteRange(series: readonly { values: ArrayLike<number> }[]): [number, number] {
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
  return Number.isFinite(lo) ? [lo, hi] : [0, 1];
}

function round6(v: number): number {
  return Number(v.toPrecision(6));
}

function histogramLayout(opts: LineOptions, legend: boolean): Record<string, unknown> {
  return {
    ...titled(opts.title, opts.width),
    height: opts.height ?? 380,
    width: opts.width,
    showlegend: legend,
    xaxis: axisLayout(opts.xTitle),
    yaxis: axisLayout(opts.yTitle),
  };
}

/** Overlaid bar histograms of several series on shared bins. */
export function histogram(
  series: readonly { name?: string; values: ArrayLike<number> }[],
  opts: LineOptions & { bins?: number } = {},
): Figure {
  const [lo, hi] = finiteRange(series);
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
      ...histogramLayout(opts, series.length > 1),
      // 3 % of room each side: bars reaching the axis put its first tick label on the y axis's lowest one
      xaxis: axisLayout(opts.xTitle, { range: [lo - 0.03 * (hi - lo || 1), hi + 0.03 * (hi - lo || 1)] }),
      barmode: 'overlay',
      bargap: 0,
    },
  };
}

/**
 * One line per series through its histogram's bin centres, each series on its own bins over its own
 * range and drawn as a density (the counts over count·bin width: every curve has area 1), as the lecture
 * plots torch.histogram(t, density=True) per layer: layers of different sizes and spreads compare.
 */
export function histogramLines(
  series: readonly { name: string; values: ArrayLike<number> }[],
  opts: LineOptions & { bins?: number } = {},
): Figure {
  const bins = opts.bins ?? 50;
  return {
    data: series.map((s) => {
      const [lo, hi] = finiteRange([s]);
      const b = binValues(s.values, bins, lo, hi);
      const total = b.counts.reduce((a, c) => a + c, 0);
      return {
        type: 'scatter',
        mode: 'lines',
        name: s.name,
        x: b.counts.map((_, k) => round6(b.lo + (k + 0.5) * b.width)),
        y: b.counts.map((c) => round6(total > 0 ? c / (total * b.width) : 0)),
        hovertemplate: `${s.name}<br>%{x:.3g}: density %{y:.3g}<extra></extra>`,
      };
    }),
    layout: histogramLayout(opts, series.length > 1),
  };
}
