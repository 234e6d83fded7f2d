// Batch-norm arithmetic shared by the CPU and CUDA training kernels.
#pragma once
#include <cmath>

#include "vision_ext/macros.h"

namespace vision_ext {

// Per-channel statistics in double: count, mean and M2 (sum of squared deviations).
struct MomentAcc {
  double n;
  double mean;
  double m2;
};

VE_HD MomentAcc moments_empty() { return MomentAcc{0.0, 0.0, 0.0}; }

// Chan et al. parallel merge: combines two partial moments without cancellation.
VE_HD MomentAcc moments_merge(const MomentAcc& a, const MomentAcc& b) {
  const double n = a.n + b.n;
  if (n == 0.0) return a;
  const double delta = b.mean - a.mean;
  const double wb = b.n / n;
  return MomentAcc{n, a.mean + delta * wb, a.m2 + b.m2 + delta * delta * a.n * wb};
}

// Moments of a block from its plain sum and sum of squares taken around `shift`
// (a value close to the mean keeps the squared sum well conditioned).
VE_HD MomentAcc moments_from_shifted_sums(double n, double sum, double sumsq, double shift) {
  if (n == 0.0) return moments_empty();
  const double m = sum / n;
  double m2 = sumsq - sum * m;
  if (m2 < 0.0) m2 = 0.0;
  return MomentAcc{n, shift + m, m2};
}

// Folded affine: y = x * a + b with a = gamma * invstd, b = beta - mean * a.
VE_HD void bn_affine(float gamma, float beta, float mean, float var, float eps, float* a, float* b) {
  const float invstd = 1.f / sqrtf(var + eps);
  *a = gamma * invstd;
  *b = beta - mean * (*a);
}

// Backward coefficients for one channel, from the sums over the masked gradient:
//   sum_dy = sum(g), sum_dy_xhat = sum(g * xhat); xhat = (x - mean) * invstd.
// grad_x = k * (g - sum_dy / n - xhat * sum_dy_xhat / n), k = gamma * invstd;
// written as grad_x = g * k + x * c1 + c0.
VE_HD void bn_backward_coeffs(float gamma, float mean, float invstd, double sum_dy, double sum_dy_xhat,
                              double n, float* k, float* c1, float* c0) {
  const double kk = static_cast<double>(gamma) * invstd;
  const double proj = sum_dy_xhat / n * invstd;  // multiplies (x - mean) * invstd
  *k = static_cast<float>(kk);
  *c1 = static_cast<float>(-kk * proj);
  *c0 = static_cast<float>(-kk * sum_dy / n + kk * proj * mean);
}

// Bits of the compact ReLU mask: element i lives in byte i / 8, bit i % 8.
VE_HD bool mask_bit(const unsigned char* mask, long long i) { return (mask[i >> 3] >> (i & 7)) & 1; }

}  // namespace vision_ext
