/**
 * Smoothing a noisy loss curve for plotting.
 */

/** Moving average of a loss curve (for plotting 200k noisy minibatch losses). */
export function smooth(values: ArrayLike<number>, window: number): { x: number[]; y: number[] } {
  const x: number[] = [];
  const y: number[] = [];
  for (let s = 0; s + window <= values.length; s += window) {
    let sum = 0;
    for (let k = s; k < s + window; k++) sum += values[k] as number;
    x.push(s + window / 2);
    y.push(sum / window);
  }
  return { x, y };
}
