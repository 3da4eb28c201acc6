// The layers of a fused training step (lib/fused): each forward with its backward, on row-major
// buffers of this module's memory. Matrix products are in gemm.c.

#include "simd.h"

// out[i, :] = table[ids[i], :] for n ids, rows of D (an embedding lookup; ids are in range).
EXPORT(gather_rows)
void gather_rows(const float* restrict table, const int* restrict ids, float* restrict out, int n, int D) {
  for (int i = 0; i < n; i++) {
    const float* t = table + ids[i] * D;
    float* o = out + i * D;
    for (int d = 0; d < D; d++) o[d] = t[d];
  }
}

EXPORT(tanh_forward)
void tanh_forward(const float* restrict x, float* restrict y, int n) {
  for (int i = 0; i < n; i += 4) store4(y + i, tanh4(load4(x + i, n - i)), n - i);
}

// dx = dy (1 - y^2), from the forward's output y.
EXPORT(tanh_backward)
void tanh_backward(const float* restrict y, const float* restrict dy, float* restrict dx, int n) {
  for (int i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

// Softmax cross-entropy of N rows of V logits against targets (a negative target marks a row to
// ignore, makemore's ignore_index=-1). Returns the mean loss over the counted rows (0 if none) and
// writes dlogits = (softmax - onehot) / count, zero on ignored rows. The loss sums in double: the
// full-batch bigram step averages 228,146 rows.
EXPORT(cross_entropy)
float cross_entropy(const float* restrict logits, const int* restrict targets, float* restrict dlogits, int N, int V) {
  int count = 0;
  for (int n = 0; n < N; n++) count += targets[n] >= 0;
  const float inv = count > 0 ? 1.0f / (float)count : 0.0f;
  double total = 0;
  for (int n = 0; n < N; n++) {
    const float* l = logits + n * V;
    float* d = dlogits + n * V;
    const int t = targets[n];
    if (t < 0) {
      for (int v = 0; v < V; v++) d[v] = 0;
      continue;
    }
    float mx = l[0];
    for (int v = 1; v < V; v++) mx = max_f(mx, l[v]);
    float sum = 0;
    for (int v = 0; v < V; v++) {
      const float e = exp_f(l[v] - mx);
      d[v] = e;
      sum += e;
    }
    total += (double)(mx + log_f(sum) - l[t]);
    const float s = inv / sum;
    for (int v = 0; v < V; v++) d[v] *= s;
    d[t] -= inv;
  }
  return count > 0 ? (float)(total / count) : 0.0f;
}

// Batch normalisation in training mode over N rows of D channels: the batch's mean and variance per
// channel (biased, or with Bessel's N - 1 when `bessel` is 1: notebook 10's net), xhat = (x - mean) rstd with rstd = 1 / sqrt(var + eps), y = gamma xhat + beta.
// Saves xhat and rstd for the backward, mean and var for the running statistics.
EXPORT(batchnorm_forward)
void batchnorm_forward(const float* restrict x, const float* restrict gamma, const float* restrict beta, float* restrict y, float* restrict xhat, float* restrict mean, float* restrict var, float* restrict rstd, int N, int D, float eps, int bessel) {
  for (int d = 0; d < D; d++) mean[d] = var[d] = 0;
  for (int n = 0; n < N; n++)
    for (int d = 0; d < D; d++) mean[d] += x[n * D + d];
  for (int d = 0; d < D; d++) mean[d] /= (float)N;
  for (int n = 0; n < N; n++)
    for (int d = 0; d < D; d++) {
      const float c = x[n * D + d] - mean[d];
      var[d] += c * c;
    }
  for (int d = 0; d < D; d++) {
    var[d] /= (float)(N - bessel);
    rstd[d] = 1.0f / __builtin_sqrtf(var[d] + eps);
  }
  for (int n = 0; n < N; n++)
    for (int d = 0; d < D; d++) {
      const float h = (x[n * D + d] - mean[d]) * rstd[d];
      xhat[n * D + d] = h;
      y[n * D + d] = gamma[d] * h + beta[d];
    }
}

// Its backward (one formula): dbeta = sum dy, dgamma = sum dy xhat, and
// dx = gamma rstd / N (N dy - dbeta - c xhat dgamma), c = N / (N - 1) with Bessel's correction, else 1.
EXPORT(batchnorm_backward)
void batchnorm_backward(const float* restrict xhat, const float* restrict gamma, const float* restrict rstd, const float* restrict dy, float* restrict dx, float* restrict dgamma, float* restrict dbeta, int N, int D, int bessel) {
  const float c = bessel ? (float)N / (float)(N - 1) : 1.0f;
  for (int d = 0; d < D; d++) dgamma[d] = dbeta[d] = 0;
  for (int n = 0; n < N; n++)
    for (int d = 0; d < D; d++) {
      dbeta[d] += dy[n * D + d];
      dgamma[d] += dy[n * D + d] * xhat[n * D + d];
    }
  for (int n = 0; n < N; n++)
    for (int d = 0; d < D; d++)
      dx[n * D + d] = gamma[d] * rstd[d] / (float)N * ((float)N * dy[n * D + d] - dbeta[d] - c * xhat[n * D + d] * dgamma[d]);
}

// p <- p - lr g, in place.
EXPORT(sgd_step)
void sgd_step(float* restrict p, const float* restrict g, int n, float lr) {
  for (int i = 0; i < n; i++) p[i] -= lr * g[i];
}

// y[b, t, :] = x[b, t, :] + wpe[t, :] (position embeddings, B sequences of T rows of E).
EXPORT(add_positions)
void add_positions(const float* restrict x, const float* restrict wpe, float* restrict y, int B, int T, int E) {
  for (int b = 0; b < B; b++)
    for (int i = 0; i < T * E; i++) y[b * T * E + i] = x[b * T * E + i] + wpe[i];
}

// Its backward for wpe: dwpe[t, :] = sum over b of dy[b, t, :] (its first T rows zeroed here).
EXPORT(add_positions_backward)
void add_positions_backward(const float* restrict dy, float* restrict dwpe, int B, int T, int E) {
  for (int i = 0; i < T * E; i++) dwpe[i] = 0;
  for (int b = 0; b < B; b++)
    for (int i = 0; i < T * E; i++) dwpe[i] += dy[b * T * E + i];
}

// makemore's bag of words: y[t] = x[t] + (x[0] + ... + x[t]) / (t + 1) per sequence, as the causal
// averaging matrix times x (the same sum order, over s = 0 .. t). A row of sums at a time: each column's
// terms are added in that order, the columns side by side in SIMD lanes (x read along its rows).
EXPORT(causal_mean)
void causal_mean(const float* restrict x, float* restrict y, int B, int T, int E) {
  for (int b = 0; b < B; b++) {
    const float* xb = x + b * T * E;
    for (int t = 0; t < T; t++) {
      const float w = 1.0f / (float)(t + 1);
      float* yt = y + (b * T + t) * E;
      for (int e = 0; e < E; e++) yt[e] = 0;
      for (int u = 0; u <= t; u++) {
        const float* xu = xb + u * E;
        for (int e = 0; e < E; e++) yt[e] += w * xu[e];
      }
      const float* xt = xb + t * E;
      for (int e = 0; e < E; e++) yt[e] = xt[e] + yt[e];
    }
  }
}

// Its backward: dx[s] = dy[s] + sum over t >= s of dy[t] / (t + 1), the terms in that order: four columns
// at a time in SIMD lanes, each term divided as it is added (a loop-invariant divisor would let -ffast-math
// multiply by its reciprocal instead, and change the bits).
EXPORT(causal_mean_backward)
void causal_mean_backward(const float* restrict dy, float* restrict dx, int B, int T, int E) {
  for (int b = 0; b < B; b++) {
    const float* gb = dy + b * T * E;
    for (int s = 0; s < T; s++) {
      float* dxs = dx + (b * T + s) * E;
      const float* gs = gb + s * E;
      int e = 0;
      for (; e + 4 <= E; e += 4) {
        v128_t acc = wasm_f32x4_splat(0.0f);
        for (int t = s; t < T; t++)
          acc = wasm_f32x4_add(acc, wasm_f32x4_div(wasm_v128_load(gb + t * E + e), wasm_f32x4_splat((float)(t + 1))));
        wasm_v128_store(dxs + e, wasm_f32x4_add(wasm_v128_load(gs + e), acc));
      }
      for (; e < E; e++) {
        float acc = 0;
        for (int t = s; t < T; t++) acc += gb[t * E + e] / (float)(t + 1);
        dxs[e] = gs[e] + acc;
      }
    }
  }
}

// Cross-entropy straight from an embedding table, for models whose logits are table rows (the bigram
// models): row n's logits are table[ids[n], :]. Returns the mean loss over counted rows (negative
// targets ignored) and accumulates the table's gradient, dtable[ids[n], :] += (softmax - onehot) / count
// (zeroed here), without a logits buffer: the full-batch bigram step has 228,146 rows. V <= 64.
EXPORT(table_cross_entropy)
float table_cross_entropy(const float* restrict table, const int* restrict ids, const int* restrict targets, float* restrict dtable, int N, int V, int rowsOfTable) {
  for (int i = 0; i < rowsOfTable * V; i++) dtable[i] = 0;
  int count = 0;
  for (int n = 0; n < N; n++) count += targets[n] >= 0;
  const float inv = count > 0 ? 1.0f / (float)count : 0.0f;
  double total = 0;
  float e[68];
  for (int n = 0; n < N; n++) {
    const int t = targets[n];
    if (t < 0) continue;
    const float* l = table + ids[n] * V;
    float* d = dtable + ids[n] * V;
    float mx = l[0];
    for (int v = 1; v < V; v++) mx = max_f(mx, l[v]);
    // exp four lanes at a time (lanes past V hold junk and are never read), summed in order
    const v128_t m4 = wasm_f32x4_splat(mx);
    for (int v = 0; v < V; v += 4) wasm_v128_store(e + v, exp4(wasm_f32x4_sub(load4(l + v, V - v), m4)));
    float sum = 0;
    for (int v = 0; v < V; v++) sum += e[v];
    total += (double)(mx + log_f(sum) - l[t]);
    const float s = inv / sum;
    for (int v = 0; v < V; v++) d[v] += e[v] * s;
    d[t] -= inv;
  }
  return count > 0 ? (float)(total / count) : 0.0f;
}

// An embedding lookup followed by a Linear layer on the concatenated window, with the table's rows
// projected first: P[k] = table @ W[k·E .. (k+1)·E) for each of the bs positions ([bs, Vp, H], by sgemm),
// then out[r, :] = bias + sum over k of P[k, ctx[r·bs + k], :] (bias may be null).
EXPORT(context_sum)
void context_sum(const float* restrict P, const int* restrict ctx, const float* restrict bias, float* restrict out, int rows, int bs, int Vp, int H) {
  for (int r = 0; r < rows; r++) {
    float* o = out + r * H;
    for (int h = 0; h < H; h++) o[h] = bias ? bias[h] : 0.0f;
    for (int k = 0; k < bs; k++) {
      const float* p = P + (k * Vp + ctx[r * bs + k]) * H;
      for (int h = 0; h < H; h++) o[h] += p[h];
    }
  }
}

// Its backward's first half: G[k, v, :] = sum of dy[r, :] over the rows whose position k holds v (zeroed
// here); the weight and table gradients are then small products with G (lib/nn/embedding.ts).
EXPORT(context_scatter)
void context_scatter(const float* restrict dy, const int* restrict ctx, float* restrict G, int rows, int bs, int Vp, int H) {
  for (int i = 0; i < bs * Vp * H; i++) G[i] = 0;
  for (int r = 0; r < rows; r++) {
    const float* d = dy + r * H;
    for (int k = 0; k < bs; k++) {
      float* g = G + (k * Vp + ctx[r * bs + k]) * H;
      for (int h = 0; h < H; h++) g[h] += d[h];
    }
  }
}
