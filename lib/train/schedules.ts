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

/**
 * nanoGPT's get_lr: a linear warm-up to `peak` over `warmup` steps (step s runs at peak·(s + 1)/(warmup + 1)),
 * then half a cosine from `peak` down to `min` at step `decaySteps`, and `min` after it.
 */
export function warmupCosine(o: {
  peak: number;
  min: number;
  warmup: number;
  decaySteps: number;
}): (step: number) => number {
  const { peak, min, warmup, decaySteps } = o;
  if (!(peak > 0 && min >= 0 && min <= peak))
    throw new Error(`warmupCosine: need peak > 0 and 0 ≤ min ≤ peak, got peak ${peak}, min ${min}`);
  if (!Number.isInteger(warmup) || !Number.isInteger(decaySteps) || warmup < 0 || decaySteps <= warmup)
    throw new Error(`warmupCosine: need whole numbers 0 ≤ warmup < decaySteps, got ${warmup} and ${decaySteps}`);
  return (step) => {
    if (step < warmup) return (peak * (step + 1)) / (warmup + 1);
    if (step > decaySteps) return min;
    const ratio = (step - warmup) / (decaySteps - warmup);
    return min + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (peak - min);
  };
}
