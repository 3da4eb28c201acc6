// Hand-written kernels for the transformer's hot spots, compiled to WebAssembly (SIMD) by
// scripts/native/build.sh into kernels-wasm.ts. tfjs's wasm backend runs batched matmuls of small
// matrices in a scalar loop and spends ~30 kernel launches on a layer norm; these do the same
// arithmetic in one pass each. No libc, no static data; T <= 64 (the caller falls back to tensor ops).
//
// All pointers are byte offsets into this module's own memory; loader.ts copies tensors in and out.

#include "simd.h"

// The dot products of x with four rows r0..r3 (n floats each) as one vector: four accumulators over x's
// columns, summed across lanes by two shuffles of pairs (no horizontal sum per product).
static inline v128_t dot4(const float* restrict x, const float* r0, const float* r1, const float* r2, const float* r3, int n) {
  v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
  int c = 0;
  for (; c + 4 <= n; c += 4) {
    const v128_t xv = wasm_v128_load(x + c);
    a0 = MADD(xv, wasm_v128_load(r0 + c), a0);
    a1 = MADD(xv, wasm_v128_load(r1 + c), a1);
    a2 = MADD(xv, wasm_v128_load(r2 + c), a2);
    a3 = MADD(xv, wasm_v128_load(r3 + c), a3);
  }
  const v128_t s01 = wasm_f32x4_add(wasm_i32x4_shuffle(a0, a1, 0, 4, 1, 5), wasm_i32x4_shuffle(a0, a1, 2, 6, 3, 7));
  const v128_t s23 = wasm_f32x4_add(wasm_i32x4_shuffle(a2, a3, 0, 4, 1, 5), wasm_i32x4_shuffle(a2, a3, 2, 6, 3, 7));
  v128_t d = wasm_f32x4_add(wasm_i32x4_shuffle(s01, s23, 0, 1, 4, 5), wasm_i32x4_shuffle(s01, s23, 2, 3, 6, 7));
  if (c < n) { // a head size that is not a multiple of 4
    float t[4] = {0, 0, 0, 0};
    for (; c < n; c++) t[0] += x[c] * r0[c], t[1] += x[c] * r1[c], t[2] += x[c] * r2[c], t[3] += x[c] * r3[c];
    d = wasm_f32x4_add(d, wasm_v128_load(t));
  }
  return d;
}

// out[j] = x . row j for j = 0..n-1 (rows `stride` floats apart), four rows at a time; out has room for a
// multiple of 4 (the last block repeats row n-1, whose extra lanes the caller ignores).
static inline void dots(const float* restrict x, const float* rows, int stride, int n, int hs, float* restrict out) {
  for (int j = 0; j < n; j += 4) {
    const float* r[4];
    for (int u = 0; u < 4; u++) r[u] = rows + (j + u < n ? j + u : n - 1) * stride;
    wasm_v128_store(out + j, dot4(x, r[0], r[1], r[2], r[3], hs));
  }
}

// y = sum over j < n of w[j] rows[j] (hs floats each, rows `stride` apart), for y of hs floats: 16 columns
// at a time in four registers, then 4, then one.
static inline void weighted_rows(const float* restrict w, const float* rows, int stride, int n, int hs, float* restrict y) {
  int c = 0;
  for (; c + 16 <= hs; c += 16) {
    v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
    for (int j = 0; j < n; j++) {
      const v128_t wj = wasm_f32x4_splat(w[j]);
      const float* r = rows + j * stride + c;
      a0 = MADD(wj, wasm_v128_load(r), a0);
      a1 = MADD(wj, wasm_v128_load(r + 4), a1);
      a2 = MADD(wj, wasm_v128_load(r + 8), a2);
      a3 = MADD(wj, wasm_v128_load(r + 12), a3);
    }
    wasm_v128_store(y + c, a0), wasm_v128_store(y + c + 4, a1), wasm_v128_store(y + c + 8, a2), wasm_v128_store(y + c + 12, a3);
  }
  for (; c + 4 <= hs; c += 4) {
    v128_t a = wasm_f32x4_splat(0.0f);
    for (int j = 0; j < n; j++) a = MADD(wasm_f32x4_splat(w[j]), wasm_v128_load(rows + j * stride + c), a);
    wasm_v128_store(y + c, a);
  }
  for (; c < hs; c++) {
    float a = 0;
    for (int j = 0; j < n; j++) a += w[j] * rows[j * stride + c];
    y[c] = a;
  }
}

// Causal self-attention, forward. qkv: [B, T, 3E] (q | k | v, head h at columns h*hs..), writes the
// attention probabilities probs: [B, H, T, T] (zeros above the diagonal) and y: [B, T, E]. Per row i of a
// head: the scores of keys 0..i four at a time (dot4), the softmax over them (exp on four lanes), then
// y_i = sum_j p_ij v_j sixteen columns at a time.
EXPORT(attn_forward)
__attribute__((noinline)) void attn_forward(const float* restrict qkv, float* restrict probs, float* restrict y, int B, int T, int H, int hs, float scale) {
  const int E = H * hs, C3 = 3 * E;
  float s[64 + 4] __attribute__((aligned(16)));
  for (int b = 0; b < B; b++) {
    for (int h = 0; h < H; h++) {
      const float* q = qkv + b * T * C3 + h * hs;
      const float* k = q + E;
      const float* v = q + 2 * E;
      float* P = probs + (b * H + h) * T * T;
      for (int i = 0; i < T; i++) {
        const int n = i + 1, n4 = (n + 3) & ~3;
        dots(q + i * C3, k, C3, n, hs, s);
        v128_t mx = wasm_f32x4_splat(-3.4e38f);
        for (int j = 0; j < n4; j += 4) {
          const v128_t sj = wasm_f32x4_mul(wasm_v128_load(s + j), wasm_f32x4_splat(scale));
          wasm_v128_store(s + j, sj);
          mx = wasm_f32x4_pmax(mx, sj); // lanes past i repeat key i: they do not change the maximum
        }
        mx = wasm_f32x4_pmax(mx, wasm_i32x4_shuffle(mx, mx, 2, 3, 0, 1));
        mx = wasm_f32x4_pmax(mx, wasm_i32x4_shuffle(mx, mx, 1, 0, 3, 2));
        v128_t sum = wasm_f32x4_splat(0.0f);
        for (int j = 0; j < n4; j += 4) {
          const v128_t live = wasm_i32x4_lt(wasm_i32x4_make(j, j + 1, j + 2, j + 3), wasm_i32x4_splat(n));
          const v128_t e = wasm_v128_and(exp4(wasm_f32x4_sub(wasm_v128_load(s + j), mx)), live);
          wasm_v128_store(s + j, e);
          sum = wasm_f32x4_add(sum, e);
        }
        sum = wasm_f32x4_add(sum, wasm_i32x4_shuffle(sum, sum, 2, 3, 0, 1));
        sum = wasm_f32x4_add(sum, wasm_i32x4_shuffle(sum, sum, 1, 0, 3, 2));
        const v128_t inv = wasm_f32x4_div(wasm_f32x4_splat(1.0f), sum);
        for (int j = 0; j < n4; j += 4) wasm_v128_store(s + j, wasm_f32x4_mul(wasm_v128_load(s + j), inv));
        float* Pi = P + i * T;
        for (int j = 0; j < n; j++) Pi[j] = s[j];
        for (int j = n; j < T; j++) Pi[j] = 0;
        weighted_rows(s, v, C3, n, hs, y + (b * T + i) * E + h * hs);
      }
    }
  }
}

// Causal self-attention, backward: dqkv from dy [B, T, E] and the forward's probs. Per head, first each
// query row i: dP_ij = dy_i . v_j (dot4), the softmax's backward ds_ij = p_ij (dP_ij - sum_j p_ij dP_ij)
// scale (kept, T x T), dq_i = sum_j ds_ij k_j; then each key row j: dv_j = sum_i p_ij dy_i and
// dk_j = sum_i ds_ij q_i over i >= j — every row a sum in registers, none read back and written per pair.
EXPORT(attn_backward)
__attribute__((noinline)) void attn_backward(const float* restrict qkv, const float* restrict probs, const float* restrict dy, float* restrict dqkv, int B, int T, int H, int hs, float scale) {
  const int E = H * hs, C3 = 3 * E;
  float ds[64 * 64 + 4] __attribute__((aligned(16))); // a row of dots may run 3 past its end
  float w[64 + 4] __attribute__((aligned(16)));
  for (int b = 0; b < B; b++) {
    for (int h = 0; h < H; h++) {
      const float* q = qkv + b * T * C3 + h * hs;
      const float* k = q + E;
      const float* v = q + 2 * E;
      const float* g = dy + b * T * E + h * hs;
      float* dq = dqkv + b * T * C3 + h * hs;
      const float* P = probs + (b * H + h) * T * T;
      for (int i = 0; i < T; i++) {
        const int n = i + 1;
        const float* Pi = P + i * T;
        float* dsi = ds + i * T;
        dots(g + i * E, v, C3, n, hs, dsi); // dP_ij, then ds_ij in place
        float rowdot = 0;
        for (int j = 0; j < n; j++) rowdot += Pi[j] * dsi[j];
        for (int j = 0; j < n; j++) dsi[j] = Pi[j] * (dsi[j] - rowdot) * scale;
        weighted_rows(dsi, k, C3, n, hs, dq + i * C3);
      }
      for (int j = 0; j < T; j++) {
        const int m = T - j; // query rows i = j .. T-1 read key j
        for (int u = 0; u < m; u++) w[u] = P[(j + u) * T + j];
        weighted_rows(w, g + j * E, E, m, hs, dq + j * C3 + 2 * E);
        for (int u = 0; u < m; u++) w[u] = ds[(j + u) * T + j];
        weighted_rows(w, q + j * C3, C3, m, hs, dq + j * C3 + E);
      }
    }
  }
}

// The two above as a job of lib/backend/native/threads.ts's worker, whose arguments are int32s: the scale
// travels as its float's bits. They call the same compiled functions (noinline), so a batch row is the
// same arithmetic whichever thread runs it.
static inline float from_bits(int bits) {
  union { int i; float f; } u = {bits};
  return u.f;
}
EXPORT(attn_forward_job)
void attn_forward_job(const float* qkv, float* probs, float* y, int B, int T, int H, int hs, int scale_bits) {
  attn_forward(qkv, probs, y, B, T, H, hs, from_bits(scale_bits));
}
EXPORT(attn_backward_job)
void attn_backward_job(const float* qkv, const float* probs, const float* dy, float* dqkv, int B, int T, int H, int hs, int scale_bits) {
  attn_backward(qkv, probs, dy, dqkv, B, T, H, hs, from_bits(scale_bits));
}

// Layer norm over the last axis (N rows of D): y = (x - mean) * rstd * g + b; saves mean and rstd.
EXPORT(layernorm_forward)
void layernorm_forward(const float* restrict x, const float* restrict g, const float* restrict bias, float* restrict y, float* restrict mean, float* restrict rstd, int N, int D, float eps) {
  for (int n = 0; n < N; n++) {
    const float* xn = x + n * D;
    float s = 0;
    for (int d = 0; d < D; d++) s += xn[d];
    const float m = s / D;
    float v = 0;
    for (int d = 0; d < D; d++) {
      const float c = xn[d] - m;
      v += c * c;
    }
    const float r = 1.0f / __builtin_sqrtf(v / D + eps);
    mean[n] = m;
    rstd[n] = r;
    float* yn = y + n * D;
    for (int d = 0; d < D; d++) yn[d] = (xn[d] - m) * r * g[d] + bias[d];
  }
}

// Layer norm, backward: dx, and dg / db accumulated over rows (both zeroed here).
EXPORT(layernorm_backward)
void layernorm_backward(const float* restrict x, const float* restrict g, const float* restrict mean, const float* restrict rstd, const float* restrict dy, float* restrict dx, float* restrict dg, float* restrict db, int N, int D) {
  for (int d = 0; d < D; d++) { dg[d] = 0; db[d] = 0; }
  for (int n = 0; n < N; n++) {
    const float* xn = x + n * D;
    const float* gn = dy + n * D;
    const float m = mean[n], r = rstd[n];
    float a = 0, bsum = 0; // mean of dxhat and of dxhat * xhat
    for (int d = 0; d < D; d++) {
      const float xhat = (xn[d] - m) * r;
      const float dxhat = gn[d] * g[d];
      a += dxhat;
      bsum += dxhat * xhat;
      dg[d] += gn[d] * xhat;
      db[d] += gn[d];
    }
    a /= D;
    bsum /= D;
    float* dxn = dx + n * D;
    for (int d = 0; d < D; d++) {
      const float xhat = (xn[d] - m) * r;
      dxn[d] = r * (gn[d] * g[d] - a - xhat * bsum);
    }
  }
}

// Column sums of an N x D matrix (the gradient of a broadcast bias).
EXPORT(colsum)
void colsum(const float* restrict x, float* restrict out, int N, int D) {
  for (int d = 0; d < D; d++) out[d] = 0;
  for (int n = 0; n < N; n++) {
    const float* xn = x + n * D;
    for (int d = 0; d < D; d++) out[d] += xn[d];
  }
}

// GELU, tanh approximation (GPT-2's): y = 0.5 x (1 + tanh(u)), u = a (x + 0.044715 x^3), a = sqrt(2/pi);
// tanh|u| = (1 - e) / (1 + e) with e = exp(-2|u|), which never overflows. Returns tanh(u).
static inline v128_t gelu_t4(v128_t x) {
  const v128_t x2 = wasm_f32x4_mul(x, x);
  const v128_t u = wasm_f32x4_mul(wasm_f32x4_mul(x, wasm_f32x4_splat(0.7978845608f)), wasm_f32x4_add(wasm_f32x4_splat(1.0f), wasm_f32x4_mul(x2, wasm_f32x4_splat(0.044715f))));
  const v128_t au = wasm_f32x4_abs(u);
  const v128_t e = exp4(wasm_f32x4_mul(au, wasm_f32x4_splat(-2.0f)));
  const v128_t t = wasm_f32x4_div(wasm_f32x4_sub(wasm_f32x4_splat(1.0f), e), wasm_f32x4_add(wasm_f32x4_splat(1.0f), e));
  const v128_t sign = wasm_v128_and(u, wasm_i32x4_splat((int)0x80000000));
  return wasm_v128_or(t, sign);
}

EXPORT(gelu_forward)
void gelu_forward(const float* restrict x, float* restrict y, int n) {
  const v128_t half = wasm_f32x4_splat(0.5f), one = wasm_f32x4_splat(1.0f);
  for (int i = 0; i < n; i += 4) {
    const v128_t xi = load4(x + i, n - i);
    store4(y + i, wasm_f32x4_mul(wasm_f32x4_mul(half, xi), wasm_f32x4_add(one, gelu_t4(xi))), n - i);
  }
}

// dy/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) a (1 + 3 * 0.044715 x^2)
EXPORT(gelu_backward)
void gelu_backward(const float* restrict x, const float* restrict dy, float* restrict dx, int n) {
  const v128_t half = wasm_f32x4_splat(0.5f), one = wasm_f32x4_splat(1.0f);
  for (int i = 0; i < n; i += 4) {
    const v128_t xi = load4(x + i, n - i);
    const v128_t t = gelu_t4(xi);
    const v128_t inner = wasm_f32x4_mul(wasm_f32x4_splat(0.7978845608f), wasm_f32x4_add(one, wasm_f32x4_mul(wasm_f32x4_splat(0.134145f), wasm_f32x4_mul(xi, xi))));
    const v128_t d = wasm_f32x4_add(wasm_f32x4_mul(half, wasm_f32x4_add(one, t)), wasm_f32x4_mul(wasm_f32x4_mul(wasm_f32x4_mul(half, xi), wasm_f32x4_sub(one, wasm_f32x4_mul(t, t))), inner));
    store4(dx + i, wasm_f32x4_mul(load4(dy + i, n - i), d), n - i);
  }
}

// ReLU, y = x where x > 0, else 0 (NaN too), and its backward from the output, dx = dy where y > 0.
EXPORT(relu_forward)
void relu_forward(const float* restrict x, float* restrict y, int n) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (int i = 0; i < n; i += 4) {
    const v128_t xi = load4(x + i, n - i);
    store4(y + i, wasm_v128_and(xi, wasm_f32x4_gt(xi, zero)), n - i);
  }
}

EXPORT(relu_backward)
void relu_backward(const float* restrict y, const float* restrict dy, float* restrict dx, int n) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (int i = 0; i < n; i += 4)
    store4(dx + i, wasm_v128_and(load4(dy + i, n - i), wasm_f32x4_gt(load4(y + i, n - i), zero)), n - i);
}

// Exact GELU (nn.GELU(), nanoGPT's): y = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2, with erfc from its
// Chebyshev fit (Numerical Recipes' erfcc: relative error below 1.2e-7 everywhere). Returns Phi(x).
static inline v128_t phi4(v128_t x) {
  const v128_t z = wasm_f32x4_abs(wasm_f32x4_mul(x, wasm_f32x4_splat(0.70710678118654752f)));
  const v128_t t = wasm_f32x4_div(wasm_f32x4_splat(1.0f), wasm_f32x4_add(wasm_f32x4_splat(1.0f), wasm_f32x4_mul(wasm_f32x4_splat(0.5f), z)));
#define HORNER(q, c) q = MADD(q, t, wasm_f32x4_splat(c))
  v128_t q = wasm_f32x4_splat(0.17087277f);
  HORNER(q, -0.82215223f), HORNER(q, 1.48851587f), HORNER(q, -1.13520398f), HORNER(q, 0.27886807f);
  HORNER(q, -0.18628806f), HORNER(q, 0.09678418f), HORNER(q, 0.37409196f), HORNER(q, 1.00002368f);
#undef HORNER
  const v128_t p = wasm_f32x4_add(wasm_f32x4_sub(wasm_f32x4_mul(q, t), wasm_f32x4_splat(1.26551223f)), wasm_f32x4_neg(wasm_f32x4_mul(z, z)));
  const v128_t half_erfc = wasm_f32x4_mul(wasm_f32x4_splat(0.5f), wasm_f32x4_mul(t, exp4(p)));
  // x >= 0: 1 - erfc/2; x < 0: erfc/2, and 0 below -13 (Phi(-13) = 6e-39: exp4 stops at e^-87, not at 0)
  const v128_t phi = wasm_v128_bitselect(wasm_f32x4_sub(wasm_f32x4_splat(1.0f), half_erfc), half_erfc, wasm_f32x4_ge(x, wasm_f32x4_splat(0.0f)));
  return wasm_v128_and(phi, wasm_f32x4_gt(x, wasm_f32x4_splat(-13.0f)));
}

EXPORT(gelu_erf_forward)
void gelu_erf_forward(const float* restrict x, float* restrict y, int n) {
  for (int i = 0; i < n; i += 4) {
    const v128_t xi = load4(x + i, n - i);
    store4(y + i, wasm_f32x4_mul(xi, phi4(xi)), n - i);
  }
}

// dy/dx = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi), with Phi(x) = y / x from the forward's
// output y = x Phi(x) (within two roundings of Phi): 1/2 where |x| < 1e-30 (the product may be subnormal),
// and 0 and 1 from |x| = 13 on, as the forward's Phi.
EXPORT(gelu_erf_backward)
void gelu_erf_backward(const float* restrict x, const float* restrict y, const float* restrict dy, float* restrict dx, int n) {
  for (int i = 0; i < n; i += 4) {
    const v128_t xi = load4(x + i, n - i);
    const v128_t tiny = wasm_f32x4_lt(wasm_f32x4_abs(xi), wasm_f32x4_splat(1e-30f));
    const v128_t ratio = wasm_v128_bitselect(wasm_f32x4_splat(0.5f), wasm_f32x4_div(load4(y + i, n - i), xi), tiny);
    const v128_t tail = wasm_v128_and(wasm_f32x4_splat(1.0f), wasm_f32x4_gt(xi, wasm_f32x4_splat(0.0f)));
    const v128_t phi = wasm_v128_bitselect(tail, ratio, wasm_f32x4_ge(wasm_f32x4_abs(xi), wasm_f32x4_splat(13.0f)));
    v128_t density = wasm_f32x4_mul(wasm_f32x4_splat(0.39894228040143268f), exp4(wasm_f32x4_mul(wasm_f32x4_splat(-0.5f), wasm_f32x4_mul(xi, xi))));
    density = wasm_v128_and(density, wasm_f32x4_lt(wasm_f32x4_abs(xi), wasm_f32x4_splat(13.0f))); // as Phi's tail
    const v128_t d = wasm_f32x4_add(phi, wasm_f32x4_mul(xi, density));
    store4(dx + i, wasm_f32x4_mul(load4(dy + i, n - i), d), n - i);
  }
}

// One Adam(W) step over n parameters, as torch.optim.AdamW: p <- p * decay; m, v updated in place;
// p <- p - step_size * m / (sqrt(v) / bc2_sqrt + eps).
EXPORT(adam_step)
void adam_step(float* restrict p, const float* restrict g, float* restrict m, float* restrict v, int n, float b1, float b2, float step_size, float bc2_sqrt, float eps, float decay) {
  for (int i = 0; i < n; i++) {
    const float gi = g[i];
    const float mi = b1 * m[i] + (1.0f - b1) * gi;
    const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * decay - step_size * mi / (__builtin_sqrtf(vi) / bc2_sqrt + eps);
  }
}

// out[ids[i], :] += x[i, :] for n rows of D (the gradient of an embedding lookup); out (numSeg x D) is
// zeroed here; ids outside [0, numSeg) are dropped, as TensorFlow does.
EXPORT(segment_sum)
void segment_sum(const float* restrict x, const int* restrict ids, float* restrict out, int n, int D, int numSeg) {
  for (int i = 0; i < numSeg * D; i++) out[i] = 0;
  for (int i = 0; i < n; i++) {
    const int s = ids[i];
    if (s < 0 || s >= numSeg) continue;
    const float* xi = x + i * D;
    float* o = out + s * D;
    for (int d = 0; d < D; d++) o[d] += xi[d];
  }
}

// out = a x + b y (combining two halves' gradients).
EXPORT(axpby)
void axpby(const float* restrict x, const float* restrict y, float* restrict out, int n, float a, float b) {
  for (int i = 0; i < n; i++) out[i] = a * x[i] + b * y[i];
}

// acc + the sum of x[i]^2 in double, one term after another (the gradient clip's norm, step.ts): the
// order is fixed (no reassociation under -ffast-math), so the sum is the same however the caller splits it.
EXPORT(sum_squares)
double sum_squares(double acc, const float* restrict x, int n) {
#pragma clang fp reassociate(off) contract(off)
  for (int i = 0; i < n; i++) acc += (double)x[i] * (double)x[i];
  return acc;
}

// x *= a, in place (the clip's scaling: one rounding per entry).
EXPORT(scale_inplace)
void scale_inplace(float* restrict x, int n, float a) {
  for (int i = 0; i < n; i++) x[i] *= a;
}

// One LSTM step after the matmuls: gates = xg + hw ([B, 4H], order i, f, o, g). Writes the activated
// gates act (i, f, o = sigmoid, g = tanh), the new cell c = f c_prev + i g and h = o tanh(c).
// H must be a multiple of 4.
EXPORT(lstm_forward_step)
void lstm_forward_step(const float* restrict xg, const float* restrict hw, const float* restrict c_prev, float* restrict act, float* restrict c, float* restrict h, int B, int H) {
  const int G = 4 * H;
  for (int b = 0; b < B; b++) {
    const float* x = xg + b * G;
    const float* w = hw + b * G;
    float* a = act + b * G;
    for (int k = 0; k < 3 * H; k += 4) wasm_v128_store(a + k, sigmoid4(wasm_f32x4_add(wasm_v128_load(x + k), wasm_v128_load(w + k))));
    for (int k = 3 * H; k < G; k += 4) wasm_v128_store(a + k, tanh4(wasm_f32x4_add(wasm_v128_load(x + k), wasm_v128_load(w + k))));
    for (int k = 0; k < H; k += 4) {
      const v128_t i = wasm_v128_load(a + k), f = wasm_v128_load(a + H + k), o = wasm_v128_load(a + 2 * H + k), g = wasm_v128_load(a + 3 * H + k);
      const v128_t cn = wasm_f32x4_add(wasm_f32x4_mul(f, wasm_v128_load(c_prev + b * H + k)), wasm_f32x4_mul(i, g));
      wasm_v128_store(c + b * H + k, cn);
      wasm_v128_store(h + b * H + k, wasm_f32x4_mul(o, tanh4(cn)));
    }
  }
}

// Its backward: from dh (this step's output gradient plus the recurrent one) and dc (the gradient
// flowing into c from the next step, updated in place to the one flowing into c_prev), the
// gradient of the pre-activation gates dgates [B, 4H].
EXPORT(lstm_backward_step)
void lstm_backward_step(const float* restrict act, const float* restrict c_prev, const float* restrict c, const float* restrict dh, float* restrict dc, float* restrict dgates, int B, int H) {
  const int G = 4 * H;
  const v128_t one = wasm_f32x4_splat(1.0f);
  for (int b = 0; b < B; b++) {
    const float* a = act + b * G;
    float* dg = dgates + b * G;
    for (int k = 0; k < H; k += 4) {
      const int n = b * H + k;
      const v128_t i = wasm_v128_load(a + k), f = wasm_v128_load(a + H + k), o = wasm_v128_load(a + 2 * H + k), g = wasm_v128_load(a + 3 * H + k);
      const v128_t tc = tanh4(wasm_v128_load(c + n));
      const v128_t dhn = wasm_v128_load(dh + n);
      const v128_t dcn = wasm_f32x4_add(wasm_v128_load(dc + n), wasm_f32x4_mul(wasm_f32x4_mul(dhn, o), wasm_f32x4_sub(one, wasm_f32x4_mul(tc, tc))));
      const v128_t d_i = wasm_f32x4_mul(dcn, g);
      const v128_t d_f = wasm_f32x4_mul(dcn, wasm_v128_load(c_prev + n));
      const v128_t d_o = wasm_f32x4_mul(dhn, tc);
      const v128_t d_g = wasm_f32x4_mul(dcn, i);
      wasm_v128_store(dg + k, wasm_f32x4_mul(d_i, wasm_f32x4_mul(i, wasm_f32x4_sub(one, i))));
      wasm_v128_store(dg + H + k, wasm_f32x4_mul(d_f, wasm_f32x4_mul(f, wasm_f32x4_sub(one, f))));
      wasm_v128_store(dg + 2 * H + k, wasm_f32x4_mul(d_o, wasm_f32x4_mul(o, wasm_f32x4_sub(one, o))));
      wasm_v128_store(dg + 3 * H + k, wasm_f32x4_mul(d_g, wasm_f32x4_sub(one, wasm_f32x4_mul(g, g))));
      wasm_v128_store(dc + n, wasm_f32x4_mul(dcn, f));
    }
  }
}

// Vanilla RNN step after the matmul: h = tanh(xg + hw), [B, H] (H a multiple of 4).
EXPORT(rnn_forward_step)
void rnn_forward_step(const float* restrict xg, const float* restrict hw, float* restrict h, int n) {
  for (int k = 0; k < n; k += 4) wasm_v128_store(h + k, tanh4(wasm_f32x4_add(wasm_v128_load(xg + k), wasm_v128_load(hw + k))));
}

// Its backward: dpre = (dy + drec) * (1 - h^2).
EXPORT(rnn_backward_step)
void rnn_backward_step(const float* restrict h, const float* restrict dy, const float* restrict drec, float* restrict dpre, int n) {
  const v128_t one = wasm_f32x4_splat(1.0f);
  for (int k = 0; k < n; k += 4) {
    const v128_t hk = wasm_v128_load(h + k);
    wasm_v128_store(dpre + k, wasm_f32x4_mul(wasm_f32x4_add(wasm_v128_load(dy + k), wasm_v128_load(drec + k)), wasm_f32x4_sub(one, wasm_f32x4_mul(hk, hk))));
  }
}

// GRU, first half of a step: gates r, z = sigmoid(x_rz + hw_rz) ([B, 2H] each row r then z), and
// rh = r * h_prev for the candidate's matmul.
EXPORT(gru_gates_step)
void gru_gates_step(const float* restrict xg, const float* restrict hw, const float* restrict h, float* restrict rz, float* restrict rh, int B, int H) {
  for (int b = 0; b < B; b++) {
    const float* x = xg + b * 3 * H;
    const float* w = hw + b * 2 * H;
    float* g = rz + b * 2 * H;
    for (int k = 0; k < 2 * H; k += 4) wasm_v128_store(g + k, sigmoid4(wasm_f32x4_add(wasm_v128_load(x + k), wasm_v128_load(w + k))));
    for (int k = 0; k < H; k += 4) wasm_v128_store(rh + b * H + k, wasm_f32x4_mul(wasm_v128_load(g + k), wasm_v128_load(h + b * H + k)));
  }
}

// GRU, second half: hbar = tanh(x_n + rhw), h' = h + z (hbar - h).
EXPORT(gru_out_step)
void gru_out_step(const float* restrict xg, const float* restrict rhw, const float* restrict rz, const float* restrict h, float* restrict hbar, float* restrict hn, int B, int H) {
  for (int b = 0; b < B; b++) {
    const float* x = xg + b * 3 * H + 2 * H;
    for (int k = 0; k < H; k += 4) {
      const int n = b * H + k;
      const v128_t hb = tanh4(wasm_f32x4_add(wasm_v128_load(x + k), wasm_v128_load(rhw + n)));
      const v128_t z = wasm_v128_load(rz + b * 2 * H + H + k);
      const v128_t hp = wasm_v128_load(h + n);
      wasm_v128_store(hbar + n, hb);
      wasm_v128_store(hn + n, wasm_f32x4_add(hp, wasm_f32x4_mul(z, wasm_f32x4_sub(hb, hp))));
    }
  }
}

// GRU backward, first half: from dh (output + recurrent gradient of h'), the candidate's
// pre-activation gradient dn [B, H], dz folded into dg [B, 3H] (columns 2H.. hold dn, H.. dz), and the
// direct part of dh_prev = dh (1 - z).
EXPORT(gru_back_out)
void gru_back_out(const float* restrict dh, const float* restrict rz, const float* restrict h, const float* restrict hbar, float* restrict dg, float* restrict dhp, int B, int H) {
  const v128_t one = wasm_f32x4_splat(1.0f);
  for (int b = 0; b < B; b++) {
    for (int k = 0; k < H; k += 4) {
      const int n = b * H + k;
      const v128_t d = wasm_v128_load(dh + n);
      const v128_t z = wasm_v128_load(rz + b * 2 * H + H + k);
      const v128_t hb = wasm_v128_load(hbar + n);
      const v128_t hp = wasm_v128_load(h + n);
      const v128_t dz = wasm_f32x4_mul(d, wasm_f32x4_sub(hb, hp));
      wasm_v128_store(dg + b * 3 * H + H + k, wasm_f32x4_mul(dz, wasm_f32x4_mul(z, wasm_f32x4_sub(one, z))));
      wasm_v128_store(dg + b * 3 * H + 2 * H + k, wasm_f32x4_mul(wasm_f32x4_mul(d, z), wasm_f32x4_sub(one, wasm_f32x4_mul(hb, hb))));
      wasm_v128_store(dhp + n, wasm_f32x4_mul(d, wasm_f32x4_sub(one, z)));
    }
  }
}

// GRU backward, second half: from d(rh) = dn Whn^T, dr = d(rh) h -> dg columns 0..H; dh_prev += d(rh) r.
EXPORT(gru_back_gates)
void gru_back_gates(const float* restrict drh, const float* restrict rz, const float* restrict h, float* restrict dg, float* restrict dhp, int B, int H) {
  const v128_t one = wasm_f32x4_splat(1.0f);
  for (int b = 0; b < B; b++) {
    for (int k = 0; k < H; k += 4) {
      const int n = b * H + k;
      const v128_t d = wasm_v128_load(drh + n);
      const v128_t r = wasm_v128_load(rz + b * 2 * H + k);
      const v128_t dr = wasm_f32x4_mul(d, wasm_v128_load(h + n));
      wasm_v128_store(dg + b * 3 * H + k, wasm_f32x4_mul(dr, wasm_f32x4_mul(r, wasm_f32x4_sub(one, r))));
      wasm_v128_store(dhp + n, wasm_f32x4_add(wasm_v128_load(dhp + n), wasm_f32x4_mul(d, r)));
    }
  }
}
