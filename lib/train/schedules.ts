/**
 * Learning-rate schedules.
 */

/** Step decay: `stepDecay([[0, 0.1], [100_000, 0.01]])` is 0.1 until step 100k, then 0.01. */
export function stepDecay(points: readonly (readonly [number, number])[]): (step: number) => number {
  const sorted = [...points].sort((a, b) => a[0] - b[0]);
  return (step) => {
    let lr = (sorted[0] as readonly [number, number])[1];
    for (const [from, v] of sorted) if (step >= from) lr = v;
    return lr;
  };
}
