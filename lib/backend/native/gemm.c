// Matrix products for the fused training steps (lib/fused): C = A B, C = A^T B and C = A B^T, row-major
// and contiguous, in register tiles of 4 rows x 8 columns (8 accumulators, two B vectors and a broadcast A
// fit x64's 16 vector registers, onto which V8 maps wasm SIMD). A B^T transposes each block of B into the
// panel (below) as it packs it: a Linear layer's dx = dy W^T without a transposed copy of W.
//
// The sum over k runs in order, k = 0 .. K-1, for every entry (each step c + a b through simd.h's MADD,
// fused or not by the build): a result does not depend on the tiling.
// Tail columns (N not a multiple of 4) read whole vectors of B and store only the lanes that exist, so
// B may be read up to 3 floats past its end: loader.ts's Frame leaves 16 bytes after every buffer. The
// panel and A^T B's strip (below) take 34 kB of the 64 kB stack each thread has.

#include "simd.h"

// The cache blocks: KB rows of B by NB of its columns (128 x 64 floats, 32 kB). NB is a multiple of 8.
#define KB 128
#define NB 64

#define ADD(c, a, b) c = MADD(a, b, c)
#define SPLAT_A(r) wasm_f32x4_splat(A[(i + (r)) * K + k])
// The accumulators' start: the bias, C itself, or zero; W lanes (the tail) read when W < 4.
#define START(r, jj, W) (bias ? load4(bias + (jj), W) : acc ? load4(C + (i + (r)) * ldc + (jj), W) : wasm_f32x4_splat(0.0f))
// Blocks of k after the first carry on from C (stored and reloaded in float32: the same sums).
#define FROM(r, jj, W) (first ? START(r, jj, W) : load4(C + (i + (r)) * ldc + (jj), W))

// Rows i..i+3 of C, columns j..j+7: written out, as clang keeps an array of accumulators on the stack.
static inline void tile_4x8(const float* restrict A, const float* restrict P, int ldp, int n0, float* restrict C, const float* restrict bias, int ldc, int K, int acc, int i, int j, int k0, int k1, int first) {
  v128_t c00 = FROM(0, j, 4), c01 = FROM(0, j + 4, 4), c10 = FROM(1, j, 4), c11 = FROM(1, j + 4, 4);
  v128_t c20 = FROM(2, j, 4), c21 = FROM(2, j + 4, 4), c30 = FROM(3, j, 4), c31 = FROM(3, j + 4, 4);
  for (int k = k0; k < k1; k++) {
    const v128_t b0 = wasm_v128_load(P + (k - k0) * ldp + (j - n0)), b1 = wasm_v128_load(P + (k - k0) * ldp + (j - n0) + 4);
    v128_t a = SPLAT_A(0);
    ADD(c00, a, b0), ADD(c01, a, b1);
    a = SPLAT_A(1);
    ADD(c10, a, b0), ADD(c11, a, b1);
    a = SPLAT_A(2);
    ADD(c20, a, b0), ADD(c21, a, b1);
    a = SPLAT_A(3);
    ADD(c30, a, b0), ADD(c31, a, b1);
  }
  float* c = C + i * ldc + j;
  wasm_v128_store(c, c00), wasm_v128_store(c + 4, c01);
  wasm_v128_store(c + ldc, c10), wasm_v128_store(c + ldc + 4, c11);
  wasm_v128_store(c + 2 * ldc, c20), wasm_v128_store(c + 2 * ldc + 4, c21);
  wasm_v128_store(c + 3 * ldc, c30), wasm_v128_store(c + 3 * ldc + 4, c31);
}

// Rows i..i+3, columns j..j+W-1 with W <= 4 (a tail: W < 4 reads whole vectors, stores W lanes).
static inline void tile_4x4(const float* restrict A, const float* restrict P, int ldp, int n0, float* restrict C, const float* restrict bias, int W, int ldc, int K, int acc, int i, int j, int k0, int k1, int first) {
  v128_t c0 = FROM(0, j, W), c1 = FROM(1, j, W), c2 = FROM(2, j, W), c3 = FROM(3, j, W);
  for (int k = k0; k < k1; k++) {
    const v128_t b = wasm_v128_load(P + (k - k0) * ldp + (j - n0));
    ADD(c0, SPLAT_A(0), b), ADD(c1, SPLAT_A(1), b), ADD(c2, SPLAT_A(2), b), ADD(c3, SPLAT_A(3), b);
  }
  store4(C + i * ldc + j, c0, W), store4(C + (i + 1) * ldc + j, c1, W);
  store4(C + (i + 2) * ldc + j, c2, W), store4(C + (i + 3) * ldc + j, c3, W);
}

// One row i, columns j..j+W-1 (W <= 4): the rows left over below a multiple of 4.
static inline void tile_1x4(const float* restrict A, const float* restrict P, int ldp, int n0, float* restrict C, const float* restrict bias, int W, int ldc, int K, int acc, int i, int j, int k0, int k1, int first) {
  v128_t c0 = FROM(0, j, W);
  for (int k = k0; k < k1; k++) ADD(c0, SPLAT_A(0), wasm_v128_load(P + (k - k0) * ldp + (j - n0)));
  store4(C + i * ldc + j, c0, W);
}

// The same tiles for C = A^T B with A stored [K, M]: rows i..i+3 of C take four neighbours in A's row k,
// each broadcast from memory (a weight gradient x^T dy without transposing x; loading the four as one
// vector and shuffling each lane out was 8% slower: the shuffles compete with the multiply-adds). The
// four neighbours of each k in the block are first copied together (product's strip): read in place,
// each k's 16 bytes took a 64-byte cache line of its own beside the panel.
#define SPLAT_AT(r) wasm_v128_load32_splat(S + (k - k0) * lds + (r))

static inline void tile_tn_4x8(const float* restrict S, int lds, const float* restrict P, int ldp, int n0, float* restrict C, int ldc, int K, int acc, int i, int j, int k0, int k1, int first) {
  const float* restrict bias = 0;
  v128_t c00 = FROM(0, j, 4), c01 = FROM(0, j + 4, 4), c10 = FROM(1, j, 4), c11 = FROM(1, j + 4, 4);
  v128_t c20 = FROM(2, j, 4), c21 = FROM(2, j + 4, 4), c30 = FROM(3, j, 4), c31 = FROM(3, j + 4, 4);
  for (int k = k0; k < k1; k++) {
    const v128_t b0 = wasm_v128_load(P + (k - k0) * ldp + (j - n0)), b1 = wasm_v128_load(P + (k - k0) * ldp + (j - n0) + 4);
    v128_t s = SPLAT_AT(0);
    ADD(c00, s, b0), ADD(c01, s, b1);
    s = SPLAT_AT(1);
    ADD(c10, s, b0), ADD(c11, s, b1);
    s = SPLAT_AT(2);
    ADD(c20, s, b0), ADD(c21, s, b1);
    s = SPLAT_AT(3);
    ADD(c30, s, b0), ADD(c31, s, b1);
  }
  float* c = C + i * ldc + j;
  wasm_v128_store(c, c00), wasm_v128_store(c + 4, c01);
  wasm_v128_store(c + ldc, c10), wasm_v128_store(c + ldc + 4, c11);
  wasm_v128_store(c + 2 * ldc, c20), wasm_v128_store(c + 2 * ldc + 4, c21);
  wasm_v128_store(c + 3 * ldc, c30), wasm_v128_store(c + 3 * ldc + 4, c31);
}

static inline void tile_tn_4x4(const float* restrict S, int lds, const float* restrict P, int ldp, int n0, float* restrict C, int W, int ldc, int K, int acc, int i, int j, int k0, int k1, int first) {
  const float* restrict bias = 0;
  v128_t c0 = FROM(0, j, W), c1 = FROM(1, j, W), c2 = FROM(2, j, W), c3 = FROM(3, j, W);
  for (int k = k0; k < k1; k++) {
    const v128_t b = wasm_v128_load(P + (k - k0) * ldp + (j - n0));
    ADD(c0, SPLAT_AT(0), b), ADD(c1, SPLAT_AT(1), b), ADD(c2, SPLAT_AT(2), b), ADD(c3, SPLAT_AT(3), b);
  }
  store4(C + i * ldc + j, c0, W), store4(C + (i + 1) * ldc + j, c1, W);
  store4(C + (i + 2) * ldc + j, c2, W), store4(C + (i + 3) * ldc + j, c3, W);
}

static inline void tile_tn_1x4(const float* restrict S, int lds, const float* restrict P, int ldp, int n0, float* restrict C, int W, int ldc, int K, int acc, int i, int j, int k0, int k1, int first) {
  const float* restrict bias = 0;
  v128_t c0 = FROM(0, j, W);
  for (int k = k0; k < k1; k++) ADD(c0, SPLAT_AT(0), wasm_v128_load(P + (k - k0) * ldp + (j - n0)));
  store4(C + i * ldc + j, c0, W);
}

// Four rows of four floats, r0..r3, as four columns: out[k] = (r0[k], r1[k], r2[k], r3[k]).
#define TRANSPOSE4(r0, r1, r2, r3, out0, out1, out2, out3)              \
  do {                                                                  \
    const v128_t t0 = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5);           \
    const v128_t t1 = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7);           \
    const v128_t t2 = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5);           \
    const v128_t t3 = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7);           \
    out0 = wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5);                      \
    out1 = wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7);                      \
    out2 = wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5);                      \
    out3 = wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7);                      \
  } while (0)

// dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols: 4 x 4 blocks through registers.
static inline void transpose_block(const float* restrict src, int lds, float* restrict dst, int ldd, int rows, int cols) {
  int r = 0;
  for (; r + 4 <= rows; r += 4) {
    int c = 0;
    for (; c + 4 <= cols; c += 4) {
      const float* s = src + r * lds + c;
      v128_t o0, o1, o2, o3;
      TRANSPOSE4(wasm_v128_load(s), wasm_v128_load(s + lds), wasm_v128_load(s + 2 * lds), wasm_v128_load(s + 3 * lds), o0, o1, o2, o3);
      float* d = dst + c * ldd + r;
      wasm_v128_store(d, o0), wasm_v128_store(d + ldd, o1), wasm_v128_store(d + 2 * ldd, o2), wasm_v128_store(d + 3 * ldd, o3);
    }
    for (; c < cols; c++)
      for (int rr = r; rr < r + 4; rr++) dst[c * ldd + rr] = src[rr * lds + c];
  }
  for (; r < rows; r++)
    for (int c = 0; c < cols; c++) dst[c * ldd + r] = src[r * lds + c];
}

// The cache blocks and tiles of the three products: `trans` (0: A B, 1: A^T B, 2: A B^T) is a constant
// after inlining. With 16 rows of A or more, each block of B is first copied into a contiguous panel
// (rows NB floats apart): B's own rows are N floats apart, and at N = 512 or 2048 a block's rows all fall
// in the same few L1 cache sets. A B^T always packs: the panel is where B^T's block is built.
static inline __attribute__((always_inline)) void product(const float* restrict A, const float* restrict B, float* restrict C, const float* restrict bias, int M, int N, int K, int acc, int lda, int ldb, int ldc, int trans) {
  float panel[KB * NB] __attribute__((aligned(16)));
  float strip[KB * 4] __attribute__((aligned(16))); // A^T B: A's four columns i..i+3 over the block's k
  const int pack = M >= 16 || trans == 2;
  // Blocks of KB rows by NB columns of B (32 kB) stay in the L1 cache while every row of A passes.
  for (int k0 = 0; k0 < K; k0 += KB) {
    const int k1 = k0 + KB < K ? k0 + KB : K, first = k0 == 0;
    for (int n0 = 0; n0 < N; n0 += NB) {
      const int n1 = n0 + NB < N ? n0 + NB : N;
      const float* P = B + k0 * ldb + n0;
      int ldp = ldb;
      if (trans == 2) {
        transpose_block(B + n0 * ldb + k0, ldb, panel, NB, n1 - n0, k1 - k0); // B stored [N, K]
        P = panel, ldp = NB;
      } else if (pack) {
        for (int k = k0; k < k1; k++)
          for (int j = n0; j < n1; j++) panel[(k - k0) * NB + (j - n0)] = B[k * ldb + j];
        P = panel, ldp = NB;
      }
      int i = 0;
      for (; i + 4 <= M; i += 4) {
        if (trans == 1)
          for (int k = k0; k < k1; k++) wasm_v128_store(strip + (k - k0) * 4, wasm_v128_load(A + k * lda + i));
        int j = n0;
        for (; j + 8 <= n1; j += 8)
          if (trans == 1) tile_tn_4x8(strip, 4, P, ldp, n0, C, ldc, K, acc, i, j, k0, k1, first);
          else tile_4x8(A, P, ldp, n0, C, bias, ldc, K, acc, i, j, k0, k1, first);
        for (; j < n1; j += 4)
          if (trans == 1) tile_tn_4x4(strip, 4, P, ldp, n0, C, n1 - j < 4 ? n1 - j : 4, ldc, K, acc, i, j, k0, k1, first);
          else tile_4x4(A, P, ldp, n0, C, bias, n1 - j < 4 ? n1 - j : 4, ldc, K, acc, i, j, k0, k1, first);
      }
      for (; i < M; i++)
        for (int j = n0; j < n1; j += 4)
          if (trans == 1) tile_tn_1x4(A + k0 * lda + i, lda, P, ldp, n0, C, n1 - j < 4 ? n1 - j : 4, ldc, K, acc, i, j, k0, k1, first);
          else tile_1x4(A, P, ldp, n0, C, bias, n1 - j < 4 ? n1 - j : 4, ldc, K, acc, i, j, k0, k1, first);
    }
  }
}

// C[M, N] = A[M, K] B[K, N], plus bias[N] on every row when bias is not null, else plus C itself when
// acc is nonzero (accumulating a gradient).
EXPORT(sgemm)
void sgemm(const float* restrict A, const float* restrict B, float* restrict C, const float* restrict bias, int M, int N, int K, int acc) {
  product(A, B, C, bias, M, N, K, acc, K, N, N, 0);
}

// The same on N columns of wider B and C (rows ldb and ldc floats apart): a thread's share of the columns.
EXPORT(sgemm_cols)
void sgemm_cols(const float* restrict A, const float* restrict B, float* restrict C, const float* restrict bias, int M, int N, int K, int acc, int ldb, int ldc) {
  product(A, B, C, bias, M, N, K, acc, K, ldb, ldc, 0);
}

// C[M, N] = A^T B with A stored [K, M] (rows lda >= M apart: the columns of a wider matrix) and B [K, N],
// plus C itself when acc is nonzero.
EXPORT(sgemm_tn)
void sgemm_tn(const float* restrict A, const float* restrict B, float* restrict C, int M, int N, int K, int acc, int lda) {
  product(A, B, C, 0, M, N, K, acc, lda, N, N, 1);
}

// C[M, N] = A B^T with B stored [N, K] (rows ldb >= K apart) and C's rows ldc >= N apart, plus C itself
// when acc is nonzero: dx = dy W^T, or a thread's share of its columns (B's rows).
EXPORT(sgemm_nt)
void sgemm_nt(const float* restrict A, const float* restrict B, float* restrict C, int M, int N, int K, int acc, int ldb, int ldc) {
  product(A, B, C, 0, M, N, K, acc, K, ldb, ldc, 2);
}

// AT[cols, rows] = A[rows, cols]^T.
EXPORT(transpose)
void transpose(const float* restrict A, float* restrict AT, int rows, int cols) {
  transpose_block(A, cols, AT, rows, rows, cols);
}
