/**
 * ‖a − b‖ / ‖b‖ (2-norms): a tensor's relative error. Single entries that are sums with cancellation
 * (an embedding row's gradient, BatchNorm's β gradient) differ by rounding in any summation order.
 */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / (den || 1));
}
