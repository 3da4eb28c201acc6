// Helpers shared by the kernels (kernels.c, gemm.c, steps.c): branch-free exp, sigmoid and tanh, on one
// float and on four lanes, and loads / stores of a tail shorter than four.
#pragma once
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

// c + a b on four lanes. The build with relaxed SIMD (-mrelaxed-simd, kernels-wasm.ts's second module)
// uses relaxed_madd: one instruction, rounded once where the CPU has FMA (every x64 since 2013 and every
// 64-bit ARM; V8 then emits vfmadd), the products' throughput up by about a third. Without it, a multiply
// and an add, each rounded.
#ifdef __wasm_relaxed_simd__
#define MADD(a, b, c) ((v128_t)__builtin_wasm_relaxed_madd_f32x4((__f32x4)(a), (__f32x4)(b), (__f32x4)(c)))
#else
#define MADD(a, b, c) wasm_f32x4_add(c, wasm_f32x4_mul(a, b))
#endif

static inline float max_f(float a, float b) { return a > b ? a : b; }

// exp(x) for any float, branch-free so loops over it vectorise: x is clamped to [-87, 88], reduced
// as x = k ln2 + r (|r| <= ln2/2, Cody-Waite split of ln2), then a degree-6 polynomial (rel. error ~2e-7)
// scaled by 2^k through the exponent bits.
static inline float exp_f(float x) {
  x = __builtin_fminf(__builtin_fmaxf(x, -87.0f), 88.0f);
  const float kf = __builtin_floorf(x * 1.44269504089f + 0.5f);
  const float r = (x - kf * 0.693145751953125f) - kf * 1.428606765330187e-06f;
  const float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
  union { float f; int i; } u;
  u.i = ((int)kf + 127) << 23;
  return p * u.f;
}

// exp on four lanes: k = nearest(x log2 e), Cody-Waite r = x - k ln2, the same polynomial, scaled by
// 2^k through the exponent bits. (The 1.5*2^23 rounding trick would not survive -ffast-math.)
static inline v128_t exp4(v128_t x) {
  x = wasm_f32x4_pmin(wasm_f32x4_pmax(x, wasm_f32x4_splat(-87.0f)), wasm_f32x4_splat(88.0f));
  const v128_t kf = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504089f)));
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(kf, wasm_f32x4_splat(0.693145751953125f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(kf, wasm_f32x4_splat(1.428606765330187e-06f)));
  v128_t p = wasm_f32x4_splat(1.0f / 720);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 120));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 24));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 6));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(0.5f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
  const v128_t k = wasm_i32x4_trunc_sat_f32x4(kf); // exact: kf is integral
  const v128_t scale = wasm_i32x4_shl(wasm_i32x4_add(k, wasm_i32x4_splat(127)), 23);
  return wasm_f32x4_mul(p, scale);
}

static inline v128_t load4(const float* p, int n) {
  if (n >= 4) return wasm_v128_load(p);
  float tmp[4] = {0, 0, 0, 0};
  for (int i = 0; i < n; i++) tmp[i] = p[i];
  return wasm_v128_load(tmp);
}

static inline void store4(float* p, v128_t v, int n) {
  if (n >= 4) { wasm_v128_store(p, v); return; }
  float tmp[4];
  wasm_v128_store(tmp, v);
  for (int i = 0; i < n; i++) p[i] = tmp[i];
}

static inline v128_t sigmoid4(v128_t x) {
  const v128_t one = wasm_f32x4_splat(1.0f);
  return wasm_f32x4_div(one, wasm_f32x4_add(one, exp4(wasm_f32x4_neg(x))));
}

static inline v128_t tanh4(v128_t x) {
  const v128_t one = wasm_f32x4_splat(1.0f);
  const v128_t e = exp4(wasm_f32x4_mul(wasm_f32x4_abs(x), wasm_f32x4_splat(-2.0f)));
  const v128_t t = wasm_f32x4_div(wasm_f32x4_sub(one, e), wasm_f32x4_add(one, e));
  return wasm_v128_or(t, wasm_v128_and(x, wasm_i32x4_splat((int)0x80000000)));
}

// log(x) for x > 0 (normal floats): x = 2^e m with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s),
// s = (m - 1) / (m + 1), |s| < 0.172, by its odd series to s^11 (relative error below 1e-7).
static inline float log_f(float x) {
  union { float f; int i; } u = {x};
  int e = ((u.i >> 23) & 255) - 127;
  u.i = (u.i & 0x007fffff) | 0x3f800000; // m in [1, 2)
  float m = u.f;
  if (m > 1.41421356f) { m *= 0.5f; e += 1; }
  const float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
  const float p = s * (2.0f + s2 * (2.0f / 3 + s2 * (2.0f / 5 + s2 * (2.0f / 7 + s2 * (2.0f / 9 + s2 * (2.0f / 11))))));
  return p + (float)e * 0.693147180559945f;
}
