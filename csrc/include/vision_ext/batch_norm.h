// Batch-norm + residual + ReLU arithmetic shared by the CPU and CUDA training kernels.
// Layout as in epilogue.h: `rows` runs of `row_len` contiguous elements.
#pragma once
#include <cmath>
#include <cstdint>

#include "vision_ext/epilogue.h"
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
// A first element that is inf or NaN gives shift 0, so the sums see the non-finite value the way
// torch's do (mean inf, var NaN for an inf; both NaN for a NaN) instead of computing inf - inf.
VE_HD double bn_shift(double first) { return first - first == 0.0 ? first : 0.0; }

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

// Normalise + affine around a centre: y = (x - centre) * a + b, with centre the batch mean
// rounded to acc_t (the `mean` the op returns, exactly representable) and b carrying the part of
// the mean that rounding dropped: a = gamma * invstd, b = beta - (mean - centre) * a, mean and
// (mean - centre) in double. Error bound (u = the unit roundoff of acc_t, 2^-24 for fp32):
// x - centre is exact when x lies within a factor 2 of centre (Sterbenz) and off by at most
// u|x - centre| otherwise, and the mean enters only through b, so |y - y_exact| stays within a few
// u (|x - mean| |a| + |b|): a few ulps of the normalised output whatever |mean| / std. The folded
// form x * a + (beta - mean * a) loses u |x| |a| instead (0.077 for |mean| = 1e4, std = 1e-3), and
// F.batch_norm's (x - mean_fp32) * invstd loses |a| u |mean|. invstd in double, then rounded once:
// a float sqrt is sqrtf under nvcc but may be ::sqrt(double) on the host, and the CPU and CUDA
// ops must fold the same coefficients. NaN/inf propagate as in torch: a NaN or inf in the channel
// makes mean or var NaN (or inf), hence a and b, hence the whole channel's output, NaN.
template <typename acc_t>
VE_HD void bn_fold_centred(acc_t gamma, acc_t beta, double mean, acc_t centre, acc_t var, double eps, acc_t* a,
                           acc_t* b) {
  const acc_t invstd = static_cast<acc_t>(1.0 / sqrt(static_cast<double>(var) + eps));
  *a = gamma * invstd;
  *b = beta - static_cast<acc_t>(mean - static_cast<double>(centre)) * (*a);
}

// One forward output: relu?((x - centre) * a + b [+ residual]) (coefficients from bn_fold_centred).
// T is acc_t or a vector of it (csrc/ops/cpu/simd/vec.h); relu_value as in epilogue.h.
template <typename T>
VE_HD T bn_output(T x, T centre, T a, T b, T residual, bool has_residual, bool relu) {
  T v = (x - centre) * a + b;
  if (has_residual) v += residual;
  return relu ? relu_value(v) : v;
}

// One input gradient: gm * k + (x - mean) * c1 + c0, centred = x - mean formed first (bn_backward_coeffs).
template <typename T>
VE_HD T bn_grad_input(T gm, T centred, T k, T c1, T c0) {
  return gm * k + centred * c1 + c0;
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
