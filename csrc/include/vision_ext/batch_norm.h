// Batch-norm + residual + ReLU arithmetic shared by the CPU and CUDA training kernels.
// Layout as in epilogue.h: `rows` runs of `row_len` contiguous elements.
#pragma once
#include <cmath>
#include <cstdint>

#include "vision_ext/macros.h"

namespace vision_ext {

// Training forward: out = relu?(x * a[c] + b[c] + residual), statistics from the batch.
// mask: one bit per element, rows padded to whole bytes (mask_row_bytes), so each
// row's bits are written by one worker without sharing a byte.
struct BnForwardParams {
  const void* x;
  const void* residual;  // may be null
  const void* weight;    // accumulate type (float; double for double x)
  const void* bias;
  void* out;
  unsigned char* mask;   // null when relu is off
  void* mean;            // outputs, accumulate type
  void* var;             // biased batch variance
  int64_t rows;
  int64_t row_len;
  int64_t channels;
  bool channels_last;
  bool relu;
  double eps;
};

// Backward: grad_x, grad_residual (may be null) from grad_out, x and the mask.
struct BnBackwardParams {
  const void* grad_out;
  const void* x;
  const unsigned char* mask;  // null when the forward had no ReLU
  const void* weight;
  const void* mean;
  const void* var;
  void* grad_x;
  void* grad_residual;  // may be null
  void* grad_weight;    // accumulate type
  void* grad_bias;
  int64_t rows;
  int64_t row_len;
  int64_t channels;
  bool channels_last;
  double eps;
};

VE_HD int64_t mask_row_bytes(int64_t row_len) { return (row_len + 7) / 8; }

VE_HD bool mask_bit(const unsigned char* mask, int64_t row_bytes, int64_t row, int64_t col) {
  return (mask[row * row_bytes + (col >> 3)] >> (col & 7)) & 1;
}

// Sums around a per-channel shift (the first element) keep the one-pass variance well
// conditioned: var = (s2 - s1^2 / n) / n with s1 = sum(x - shift), s2 = sum((x - shift)^2).
VE_HD void moments_from_shifted_sums(double n, double s1, double s2, double shift, double* mean, double* var) {
  if (n <= 0.0) {
    *mean = 0.0;
    *var = 0.0;
    return;
  }
  const double m = s1 / n;
  double v = s2 / n - m * m;
  *mean = shift + m;
  *var = v < 0.0 ? 0.0 : v;  // rounding can go below 0; a NaN (an inf in the data) must stay NaN, as in PyTorch
}

// Normalise + affine folded into one multiply-add: y = x * a + b. invstd in double, then rounded
// once: a float sqrt is sqrtf under nvcc but may be ::sqrt(double) on the host, and the CPU and
// CUDA ops must fold the same coefficients.
template <typename acc_t>
VE_HD void bn_scale_shift(acc_t gamma, acc_t beta, acc_t mean, acc_t var, double eps, acc_t* a, acc_t* b) {
  const acc_t invstd = static_cast<acc_t>(1.0 / sqrt(static_cast<double>(var) + eps));
  *a = gamma * invstd;
  *b = beta - mean * (*a);
}

// Backward coefficients of one channel from sum_g = sum(gm) and sum_gx = sum(gm * (x - mean)),
// gm the masked output gradient. With xhat = (x - mean) * invstd and k = gamma * invstd:
//   grad_x = k * (gm - sum_g / n - xhat * sum(gm * xhat) / n) = gm * k + (x - mean) * c1 + c0,
//   grad_gamma = sum_gx * invstd, grad_beta = sum_g.
// Kernels must form (x - mean) first: folding the mean into c0 cancels catastrophically in
// fp32 when |mean| >> std (seen as 5% gradient error deep in a ResNet).
template <typename acc_t>
VE_HD void bn_backward_coeffs(acc_t gamma, acc_t var, double eps, double n, double sum_g, double sum_gx, acc_t* k,
                              acc_t* c1, acc_t* c0, acc_t* grad_gamma) {
  const double invstd = 1.0 / sqrt(static_cast<double>(var) + eps);
  const double kk = static_cast<double>(gamma) * invstd;
  const double proj = n > 0.0 ? sum_gx / n * invstd * invstd : 0.0;  // multiplies (x - mean)
  const double mean_g = n > 0.0 ? sum_g / n : 0.0;
  *k = static_cast<acc_t>(kk);
  *c1 = static_cast<acc_t>(-kk * proj);
  *c0 = static_cast<acc_t>(-kk * mean_g);
  *grad_gamma = static_cast<acc_t>(sum_gx * invstd);
}

}  // namespace vision_ext
