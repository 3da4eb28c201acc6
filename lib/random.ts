/**
 * Seeded randomness.
 *
 * `TorchGenerator` reproduces PyTorch 1.13's CPU generator bit for bit (float32), so a notebook prints
 * the lecture's numbers: `new TorchGenerator(2147483647)` ≙ `torch.Generator().manual_seed(2147483647)`.
 * `FastGenerator` (seedrandom) is for work where torch compatibility does not matter: shuffles and
 * minibatch indices. Both implement `Rng`.
 */
import seedrandom from 'seedrandom';

export type Shape = number | readonly number[];

function numel(shape: Shape): number {
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

// ---------------------------------------------------------------------------------------------
// mt19937, as seeded by at::mt19937 (32-bit state, seed taken modulo 2^32)
// ---------------------------------------------------------------------------------------------

const MT_N = 624;
const MT_M = 397;

class MT19937 {
  private readonly state = new Uint32Array(MT_N);
  private index = MT_N;

  constructor(seed: number) {
    const s = this.state;
    s[0] = seed >>> 0;
    for (let j = 1; j < MT_N; j++) {
      const prev = s[j - 1] as number;
      s[j] = (Math.imul(1812433253, (prev ^ (prev >>> 30)) >>> 0) + j) >>> 0;
    }
  }

  /** init_by_array (CPython's random.seed for an int: its 32-bit words, least significant first). */
  static fromArray(key: readonly number[]): MT19937 {
    const mt = new MT19937(19650218);
    const s = mt.state;
    let i = 1;
    let j = 0;
    const len = Math.max(1, key.length);
    for (let k = Math.max(MT_N, len); k > 0; k--) {
      const prev = s[i - 1] as number;
      s[i] = ((((s[i] as number) ^ Math.imul((prev ^ (prev >>> 30)) >>> 0, 1664525)) >>> 0) + (key[j] ?? 0) + j) >>> 0;
      i++;
      j++;
      if (i >= MT_N) {
        s[0] = s[MT_N - 1] as number;
        i = 1;
      }
      if (j >= len) j = 0;
    }
    for (let k = MT_N - 1; k > 0; k--) {
      const prev = s[i - 1] as number;
      s[i] = ((((s[i] as number) ^ Math.imul((prev ^ (prev >>> 30)) >>> 0, 1566083941)) >>> 0) - i) >>> 0;
      i++;
      if (i >= MT_N) {
        s[0] = s[MT_N - 1] as number;
        i = 1;
      }
    }
    s[0] = 0x80000000;
    return mt;
  }

  private twist(): void {
    const s = this.state;
    for (let i = 0; i < MT_N; i++) {
      const y = (((s[i] as number) & 0x80000000) | ((s[(i + 1) % MT_N] as number) & 0x7fffffff)) >>> 0;
      let v = (s[(i + MT_M) % MT_N] as number) ^ (y >>> 1);
      if (y & 1) v ^= 0x9908b0df;
      s[i] = v >>> 0;
    }
    this.index = 0;
  }

  next(): number {
    if (this.index >= MT_N) this.twist();
    let y = this.state[this.index++] as number;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}

// ---------------------------------------------------------------------------------------------
// float32 helpers: each operation of torch's float kernels rounds to float, so we do too.
// ---------------------------------------------------------------------------------------------

const f = Math.fround;
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

function bitsOf(x: number): number {
  F32[0] = x;
  return U32[0] as number;
}
function fromBits(b: number): number {
  U32[0] = b >>> 0;
  return F32[0] as number;
}
/** _mm256_cvttps_epi32: truncation toward zero. */
function cvtt(x: number): number {
  return Math.trunc(x) | 0;
}

const F64 = new Float64Array(1);
const U64 = new BigUint64Array(F64.buffer);
/** The next double after x in the direction of `dir`'s sign. */
function nudge(x: number, dir: number): number {
  if (x === 0) return dir > 0 ? Number.MIN_VALUE : -Number.MIN_VALUE;
  F64[0] = x;
  U64[0] = x > 0 === dir > 0 ? (U64[0] as bigint) + 1n : (U64[0] as bigint) - 1n;
  return F64[0] as number;
}
/** The float next to r (a float) on the side of s. */
function floatToward(r: number, s: number): number {
  const b = bitsOf(r);
  return fromBits(r > 0 === s > r ? b + 1 : b - 1);
}
/**
 * fmaf(a, b, c) with one rounding, for float a, b, c. The product is exact in double; the sum's
 * rounding error is recovered (two-sum) so that a double result sitting exactly on a float
 * midpoint is resolved the way the exact sum would be. GCC contracts torch's AVX2 mul+add into FMAs.
 */
function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const bb = s - p;
  const e = p - (s - bb) + (c - bb);
  const r = f(s);
  if (e === 0 || r === s) return r;
  const other = floatToward(r, s);
  if ((r + other) / 2 === s) return f(nudge(s, e));
  return r;
}

// Constants of the Cephes-style float log/sincos used by torch's AVX2 normal kernel, rounded to float.
// The literals are Cephes' own, digits beyond double precision included (f() rounds them anyway).
/* eslint-disable no-loss-of-precision */
const C = {
  SQRTHF: f(0.707106781186547524),
  logp: [
    7.0376836292e-2, -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
    2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
  ].map(f),
  logq1: f(-2.1219444e-4),
  logq2: f(0.693359375),
  DP1: f(-0.78515625),
  DP2: f(-2.4187564849853515625e-4),
  DP3: f(-3.77489497744594108e-8),
  sincof: [-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1].map(f),
  coscof: [2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2].map(f),
  FOPI: f(1.27323954473516),
  TWO_PI: f(2 * Math.PI),
};
/* eslint-enable no-loss-of-precision */

/**
 * Natural log of a positive float, operation for operation as torch's AVX2 kernel (a Cephes-style
 * polynomial) computes it, including the multiply-adds GCC fuses into FMAs.
 */
function logf8(xIn: number): number {
  let x = xIn;
  const minNorm = fromBits(0x00800000);
  if (x < minNorm) x = minNorm;
  const bits = bitsOf(x);
  let e = f((bits >>> 23) - 0x7f + 1);
  x = fromBits((bits & ~0x7f800000) | bitsOf(0.5));
  const mask = x < C.SQRTHF;
  const tmp = mask ? x : 0;
  x = f(x - 1);
  e = f(e - (mask ? 1 : 0));
  x = f(x + tmp);
  const z = f(x * x);
  const p = C.logp as number[];
  let y = p[0] as number;
  for (let k = 1; k < 9; k++) y = fmaf(y, x, p[k] as number);
  y = f(y * x);
  y = fmaf(y, z, f(e * C.logq1));
  y = fmaf(-z, 0.5, y);
  return fmaf(e, C.logq2, f(x + y));
}

/** sin and cos of a float, as the AVX2 kernel's sincos computes them (with the same FMAs). */
function sincosf8(xIn: number): [number, number] {
  let signSin = xIn < 0 || Object.is(xIn, -0) ? 1 : 0;
  let x = Math.abs(xIn);
  let j = cvtt(f(x * C.FOPI));
  j = (j + 1) & ~1;
  const y = f(j);
  const swapSin = (j & 4) !== 0 ? 1 : 0;
  const polyMask = (j & 2) === 0;
  // Extended-precision range reduction: x - y·π/4 in three parts.
  x = fmaf(y, C.DP1, x);
  x = fmaf(y, C.DP2, x);
  x = fmaf(y, C.DP3, x);
  const signCos = (~(j - 2) & 4) !== 0 ? 1 : 0;
  signSin ^= swapSin;
  const z = f(x * x);
  const cc = C.coscof as number[];
  let yc = fmaf(cc[0] as number, z, cc[1] as number);
  yc = fmaf(yc, z, cc[2] as number);
  yc = f(yc * z);
  yc = fmaf(yc, z, -f(z * 0.5));
  yc = f(yc + 1);
  const sc = C.sincof as number[];
  let ys = fmaf(sc[0] as number, z, sc[1] as number);
  ys = fmaf(ys, z, sc[2] as number);
  ys = f(ys * z);
  ys = fmaf(ys, x, x);
  // polyMask picks the sine polynomial for sin and the cosine one for cos; otherwise the reverse.
  let s = polyMask ? ys : yc;
  let c = polyMask ? yc : ys;
  if (signSin) s = -s;
  if (signCos) c = -c;
  return [s, c];
}

/** Box–Muller on 16 uniforms in place: data[j], data[j+8] from u1 = 1 - data[j], u2 = data[j+8]. */
function normalFill16(data: Float32Array, off: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = f(1 - (data[off + j] as number));
    const u2 = data[off + j + 8] as number;
    const radius = f(Math.sqrt(f(-2 * logf8(u1))));
    const theta = f(C.TWO_PI * u2);
    const [s, c] = sincosf8(theta);
    data[off + j] = f(radius * c);
    data[off + j + 8] = f(radius * s);
  }
}

// ---------------------------------------------------------------------------------------------
// TorchGenerator
// ---------------------------------------------------------------------------------------------

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

function checkMultinomial(
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

// ---------------------------------------------------------------------------------------------
// Python's random.shuffle, so the lecture's `random.seed(42); random.shuffle(words)` split is exact
// ---------------------------------------------------------------------------------------------

/** Returns a copy of `items` shuffled exactly as CPython 3 does after `random.seed(seed)` (int seed). */
export function pythonShuffle<T>(items: readonly T[], seed: number | bigint): T[] {
  let n = BigInt(seed);
  if (n < 0n) n = -n;
  const key: number[] = [];
  while (n > 0n) {
    key.push(Number(n & 0xffffffffn));
    n >>= 32n;
  }
  const mt = MT19937.fromArray(key);
  const randbelow = (m: number): number => {
    const k = Math.floor(Math.log2(m)) + 1; // m.bit_length()
    let r: number;
    do r = mt.next() >>> (32 - k);
    while (r >= m);
    return r;
  };
  const x = items.slice();
  for (let i = x.length - 1; i >= 1; i--) {
    const j = randbelow(i + 1);
    const t = x[i] as T;
    x[i] = x[j] as T;
    x[j] = t;
  }
  return x;
}

// ---------------------------------------------------------------------------------------------
// FastGenerator: seedrandom's xor4096, for shuffles and minibatches
// ---------------------------------------------------------------------------------------------

/** A FastGenerator's complete state (xor4096's), plain JSON: saved with a checkpoint for exact resume. */
export interface FastGeneratorState {
  algorithm: 'xor4096';
  X: number[];
  i: number;
  w: number;
}

export class FastGenerator implements Rng {
  private readonly prng: seedrandom.StatefulPRNG<seedrandom.State.Xor4096>;

  /** Seeded, or continuing exactly from a `state()` (what follows is what would have followed). */
  constructor(seed: number | string | FastGeneratorState) {
    // state: true only makes the state readable; the numbers drawn are the same as without it
    this.prng =
      typeof seed === 'object'
        ? seedrandom.xor4096('', { state: FastGenerator.check(seed) })
        : seedrandom.xor4096(String(seed), { state: true });
  }

  /** A copy of the generator's state. */
  state(): FastGeneratorState {
    const s = this.prng.state();
    return { algorithm: 'xor4096', X: [...s.X], i: s.i, w: s.w };
  }

  /** A generator that continues from `state`. */
  static fromState(state: FastGeneratorState): FastGenerator {
    return new FastGenerator(state);
  }

  private static check(s: FastGeneratorState): seedrandom.State.Xor4096 {
    const ok =
      s !== null &&
      typeof s === 'object' &&
      s.algorithm === 'xor4096' &&
      Array.isArray(s.X) &&
      s.X.length === 128 &&
      s.X.every((x) => Number.isInteger(x)) &&
      Number.isInteger(s.i) &&
      Number.isInteger(s.w);
    if (!ok) throw new Error('not a FastGenerator state (expected xor4096: X of 128 integers, i, w)');
    return { X: [...s.X], i: s.i, w: s.w };
  }

  /** A float in [0, 1). */
  uniform(): number {
    return this.prng.double();
  }

  rand(shape: Shape): Float32Array {
    const out = new Float32Array(numel(shape));
    for (let i = 0; i < out.length; i++) out[i] = this.prng();
    return out;
  }

  randn(shape: Shape): Float32Array {
    const out = new Float32Array(numel(shape));
    for (let i = 0; i < out.length; i += 2) {
      const u1 = 1 - this.prng.double();
      const u2 = this.prng.double();
      const r = Math.sqrt(-2 * Math.log(u1));
      out[i] = r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < out.length) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
    }
    return out;
  }

  randint(low: number, high: number, shape: Shape): Int32Array {
    if (!(high > low)) throw new Error(`randint: high (${high}) must be greater than low (${low})`);
    const out = new Int32Array(numel(shape));
    const range = high - low;
    for (let i = 0; i < out.length; i++) out[i] = low + Math.floor(this.prng.double() * range);
    return out;
  }

  randperm(n: number): Int32Array {
    const r = new Int32Array(n);
    for (let i = 0; i < n; i++) r[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.prng.double() * (i + 1));
      const t = r[i] as number;
      r[i] = r[j] as number;
      r[j] = t;
    }
    return r;
  }

  multinomial(probs: ArrayLike<number>, numSamples: number, replacement = false, cols = probs.length): Int32Array {
    const { rows } = checkMultinomial(probs, numSamples, replacement, cols);
    const out = new Int32Array(rows * numSamples);
    for (let r = 0; r < rows; r++) {
      const w = Array.from({ length: cols }, (_, c) => probs[r * cols + c] as number);
      for (let k = 0; k < numSamples; k++) {
        let total = 0;
        for (const x of w) total += x;
        let u = this.prng.double() * total;
        let pick = cols - 1;
        for (let c = 0; c < cols; c++) {
          u -= w[c] as number;
          if (u < 0 && (w[c] as number) > 0) {
            pick = c;
            break;
          }
        }
        out[r * numSamples + k] = pick;
        if (!replacement) w[pick] = 0;
      }
    }
    return out;
  }
}
