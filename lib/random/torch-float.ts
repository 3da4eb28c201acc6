/**
 * float32 arithmetic as PyTorch 1.13's CPU kernels do it (vectorised log, sin/cos, fma), so
 * TorchGenerator's normals match torch bit for bit.
 */

export const f = Math.fround;
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
export function normalFill16(data: Float32Array, off: number): void {
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
