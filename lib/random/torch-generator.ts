/**
 * PyTorch 1.13's CPU generator, bit for bit (float32): `new TorchGenerator(2147483647)` ≙
 * `torch.Generator().manual_seed(2147483647)`, so a notebook prints the lecture's numbers.
 */
import { Rng, Shape, checkMultinomial, numel } from './rng';
import { MT19937 } from './mt19937';
import { f, normalFill16 } from './torch-float';

export class TorchGenerator implements Rng {
  private engine: MT19937;
  private nextDoubleNormal: number | null = null;

  constructor(seed = 67280421310721) {
    this.engine = new MT19937(0);
    this.manualSeed(seed);
  }

  /** `torch.Generator().manual_seed(seed)`: resets the engine and the cached normal. */
  manualSeed(seed: number | bigint): this {
    const s = BigInt(seed);
    this.engine = new MT19937(Number(BigInt.asUintN(32, s)));
    this.nextDoubleNormal = null;
    return this;
  }

  /** 32 random bits. */
  random(): number {
    return this.engine.next();
  }

  /** 53-bit uniform double in [0,1): two draws, the first one high (make64BitsFrom32Bits). */
  private uniformDouble(): number {
    const hi = this.engine.next();
    const lo = this.engine.next();
    return ((hi & 0x1fffff) * 4294967296 + lo) / 9007199254740992;
  }

  /** 24-bit uniform float in [0,1). */
  private uniformFloat(): number {
    return (this.engine.next() & 0xffffff) / 16777216;
  }

  rand(shape: Shape): Float32Array {
    const out = new Float32Array(numel(shape));
    for (let i = 0; i < out.length; i++) out[i] = this.uniformFloat();
    return out;
  }

  /** at::normal_distribution<double>: Box–Muller in double, the second value cached. */
  private normalDouble(): number {
    if (this.nextDoubleNormal !== null) {
      const v = this.nextDoubleNormal;
      this.nextDoubleNormal = null;
      return v;
    }
    const u1 = this.uniformDouble();
    const u2 = this.uniformDouble();
    const r = Math.sqrt(-2 * Math.log(1 - u2));
    const theta = 2 * Math.PI * u1;
    this.nextDoubleNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  randn(shape: Shape): Float32Array {
    const n = numel(shape);
    const out = new Float32Array(n);
    if (n < 16) {
      // Small tensors take the scalar path, one double-precision normal per element.
      for (let i = 0; i < n; i++) out[i] = this.normalDouble();
      return out;
    }
    // Large tensors: fill with uniforms, transform in blocks of 16; a ragged tail redraws its last 16.
    for (let i = 0; i < n; i++) out[i] = this.uniformFloat();
    for (let i = 0; i + 16 <= n; i += 16) normalFill16(out, i);
    if (n % 16 !== 0) {
      const off = n - 16;
      for (let i = 0; i < 16; i++) out[off + i] = this.uniformFloat();
      normalFill16(out, off);
    }
    return out;
  }

  randint(low: number, high: number, shape: Shape): Int32Array {
    if (!(high > low)) throw new Error(`randint: high (${high}) must be greater than low (${low})`);
    const range = high - low;
    if (range >= 2 ** 32) throw new Error('randint: ranges of 2^32 or more are not supported');
    const out = new Int32Array(numel(shape));
    for (let i = 0; i < out.length; i++) out[i] = (this.engine.next() % range) + low;
    return out;
  }

  randperm(n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0) throw new Error(`randperm: n must be a non-negative integer, got ${n}`);
    const r = new Int32Array(n);
    for (let i = 0; i < n; i++) r[i] = i;
    for (let i = 0; i < n - 1; i++) {
      const z = this.engine.next() % (n - i);
      const t = r[i] as number;
      r[i] = r[z + i] as number;
      r[z + i] = t;
    }
    return r;
  }

  /** Exponential(1) as a double, cast to float as torch's exponential_ does for a float tensor. */
  private exponentialFloat(): number {
    return f(-Math.log(1 - this.uniformDouble()));
  }

  multinomial(probs: ArrayLike<number>, numSamples: number, replacement = false, cols = probs.length): Int32Array {
    const { rows } = checkMultinomial(probs, numSamples, replacement, cols);
    const out = new Int32Array(rows * numSamples);
    if (!replacement) {
      // Torch's fast path: the argmax / top-k of p / q with q ~ Exp(1) (the Gumbel trick),
      // the exponentials drawn for the whole tensor first, in memory order.
      const q = new Float32Array(probs.length);
      for (let i = 0; i < q.length; i++) q[i] = this.exponentialFloat();
      for (let r = 0; r < rows; r++) {
        const keys: number[] = [];
        for (let c = 0; c < cols; c++) keys.push(f(f(probs[r * cols + c] as number) / (q[r * cols + c] as number)));
        if (numSamples === 1) {
          let best = 0;
          for (let c = 1; c < cols; c++) if ((keys[c] as number) > (keys[best] as number)) best = c;
          out[r] = best;
        } else {
          const order = keys.map((_, c) => c).sort((a, b) => (keys[b] as number) - (keys[a] as number) || a - b);
          for (let k = 0; k < numSamples; k++) out[r * numSamples + k] = order[k] as number;
        }
      }
      return out;
    }
    // With replacement: float32 cumulative distribution, one double uniform per sample, binary search.
    const cum = new Float32Array(cols);
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let c = 0; c < cols; c++) {
        sum = f(sum + f(probs[r * cols + c] as number));
        cum[c] = sum;
      }
      if (sum > 0) for (let c = 0; c < cols; c++) cum[c] = f((cum[c] as number) / sum);
      cum[cols - 1] = 1;
      for (let k = 0; k < numSamples; k++) {
        const u = this.uniformDouble();
        let left = 0;
        let right = cols;
        while (right - left > 0) {
          const mid = left + ((right - left) >> 1);
          if ((cum[mid] as number) < u) left = mid + 1;
          else right = mid;
        }
        out[r * numSamples + k] = left;
      }
    }
    return out;
  }
}
