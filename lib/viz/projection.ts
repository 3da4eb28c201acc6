/**
 * Principal components for a picture: the plane in which a set of vectors (e.g. learned character
 * embeddings) spreads most, by power iteration on the covariance — small inputs, no library needed.
 */

/** The top `k` principal directions (unit vectors) of the centred rows, and the share of variance each holds. */
export function principalComponents(
  rows: readonly (readonly number[])[],
  k = 2,
): { directions: number[][]; explained: number[] } {
  const n = rows.length;
  const d = rows[0]?.length ?? 0;
  if (n < 2 || d < k) throw new Error(`principalComponents: need at least 2 rows of ≥ ${k} values, got ${n} × ${d}`);
  const mean = Array.from({ length: d }, (_, j) => rows.reduce((s, r) => s + (r[j] as number), 0) / n);
  const cov = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (const r of rows)
    for (let i = 0; i < d; i++) {
      const a = (r[i] as number) - (mean[i] as number);
      for (let j = 0; j < d; j++) (cov[i] as number[])[j]! += (a * ((r[j] as number) - (mean[j] as number))) / (n - 1);
    }
  const total = cov.reduce((s, row, i) => s + (row[i] as number), 0);
  const directions: number[][] = [];
  const explained: number[] = [];
  for (let c = 0; c < k; c++) {
    // power iteration from a fixed start (deterministic), deflating the directions already found
    let v = Array.from({ length: d }, (_, i) => 1 / Math.sqrt(d) + i * 1e-3);
    let lambda = 0;
    for (let it = 0; it < 500; it++) {
      for (const u of directions) {
        const dot = u.reduce((s, x, i) => s + x * (v[i] as number), 0);
        v = v.map((x, i) => x - dot * (u[i] as number));
      }
      const w = cov.map((row) => row.reduce((s, x, j) => s + x * (v[j] as number), 0));
      const norm = Math.hypot(...w);
      if (norm === 0) break;
      const next = w.map((x) => x / norm);
      const change = Math.hypot(...next.map((x, i) => x - (v[i] as number)));
      v = next;
      lambda = norm;
      if (change < 1e-12) break;
    }
    directions.push(v);
    explained.push(total > 0 ? lambda / total : 0);
  }
  return { directions, explained };
}

/** Each row's coordinates in the plane of the first two principal components (rows centred first). */
export function projectToPlane(rows: readonly (readonly number[])[]): {
  x: number[];
  y: number[];
  explained: number[];
} {
  const { directions, explained } = principalComponents(rows, 2);
  const d = rows[0]?.length ?? 0;
  const mean = Array.from({ length: d }, (_, j) => rows.reduce((s, r) => s + (r[j] as number), 0) / rows.length);
  const along = (u: number[]) =>
    rows.map((r) => r.reduce((s, x, j) => s + (x - (mean[j] as number)) * (u[j] as number), 0));
  return { x: along(directions[0] as number[]), y: along(directions[1] as number[]), explained };
}
