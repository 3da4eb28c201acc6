/**
 * The interface every seeded generator offers (values flat, row-major), and the checks they share.
 */

export type Shape = number | readonly number[];

export function numel(shape: Shape): number {
  const dims = typeof shape === 'number' ? [shape] : shape;
  let n = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0)
      throw new Error(`bad shape ${JSON.stringify(shape)}: sizes must be non-negative integers`);
    n *= d;
  }
  return n;
}

/** The interface every generator offers; values are returned flat in row-major order. */
export interface Rng {
  /** Uniform floats in [0, 1), float32. */
  rand(shape: Shape): Float32Array;
  /** Standard normal floats, float32. */
  randn(shape: Shape): Float32Array;
  /** Integers uniform in [low, high). */
  randint(low: number, high: number, shape: Shape): Int32Array;
  /** A random permutation of 0 … n-1. */
  randperm(n: number): Int32Array;
  /**
   * Draws `numSamples` category indices from each row of `probs` (non-negative weights, `cols` per row;
   * rows need not sum to 1). Returns rows × numSamples indices.
   */
  multinomial(probs: ArrayLike<number>, numSamples: number, replacement?: boolean, cols?: number): Int32Array;
}

export function checkMultinomial(
  probs: ArrayLike<number>,
  numSamples: number,
  replacement: boolean,
  cols: number,
): { rows: number } {
  if (!Number.isInteger(cols) || cols <= 0 || probs.length % cols !== 0) {
    throw new Error(`multinomial: ${probs.length} probabilities do not split into rows of ${cols}`);
  }
  if (!Number.isInteger(numSamples) || numSamples <= 0)
    throw new Error(`multinomial: numSamples must be a positive integer, got ${numSamples}`);
  if (!replacement && numSamples > cols)
    throw new Error(`multinomial: cannot draw ${numSamples} samples without replacement from ${cols} categories`);
  const rows = probs.length / cols;
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let c = 0; c < cols; c++) {
      const p = probs[r * cols + c] as number;
      if (!(p >= 0) || !Number.isFinite(p))
        throw new Error(`multinomial: probability ${p} at row ${r}, column ${c} is negative, infinite or NaN`);
      sum += p;
    }
    if (sum <= 0) throw new Error(`multinomial: row ${r} sums to zero`);
  }
  return { rows };
}
