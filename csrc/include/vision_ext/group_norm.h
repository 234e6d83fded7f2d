// Per-element maths of the fused GroupNorm (+ SiLU) family, written once: every CPU level
// (csrc/ops/cpu/simd/group_norm_simd.cpp, T = a float vector or float/double) and CUDA
// (csrc/kernels/cuda/group_norm.cu, T = float/double) instantiate these templates.
//
// Forward, per element of channel c in group g of sample n:
//   y = (x - mean[n,g]) * scale + shift,  scale = rstd[n,g] * weight[c],  shift = bias[c]
//   out = act(y)                          act: identity or SiLU, y / (1 + exp(-y))
// Backward, with g = grad_out * act'(y) and per-(n, group) constants c2, c3 (see the glue):
//   grad_x = g * scale + (x - mean) * c2 + c3
//
// The fp32 exp is our own polynomial (gn_exp below), so the scalar tails, every vector width and
// CUDA compute the same bits; the bit-level steps it needs (clamp, 2^n) are overloaded for vector
// types next to the vectors (found by argument-dependent lookup), scalar ones are here.
#pragma once
#include <cmath>
#include <cstdint>

#include "vision_ext/macros.h"

namespace vision_ext {

enum GroupNormAct : int { kGnActNone = 0, kGnActSilu = 1 };

// x clamped to [lo, hi]; NaN passes through (both comparisons are false).
VE_HD float gn_clamp(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }

// t = n + 1.5 * 2^23 holds the integer n in its low mantissa bits: returns 2^n (n in [-126, 127]).
VE_HD float gn_pow2_of_rounded(float t) {
#if defined(__CUDA_ARCH__)
  uint32_t bits = static_cast<uint32_t>(__float_as_int(t));
#else
  uint32_t bits;
  __builtin_memcpy(&bits, &t, sizeof(bits));
#endif
  bits = (bits + (127u - 0x4B400000u)) << 23;
#if defined(__CUDA_ARCH__)
  return __int_as_float(static_cast<int>(bits));
#else
  float r;
  __builtin_memcpy(&r, &bits, sizeof(r));
  return r;
#endif
}

// exp(x) in fp32 to about 1 ulp on [-87, 88] (Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2,
// then a degree-6 polynomial for exp(r)). Outside that range it saturates at exp(-87) / exp(88),
// which no caller can tell apart from 0 / inf: SiLU there is x or +-0 to within 1e-36.
// NaN gives NaN. Separate multiplies and adds (no FMA), so every level and CUDA agree bitwise.
template <typename T>
VE_HD T gn_exp(T x) {
  x = gn_clamp(x, T(-87.0f), T(88.0f));
  const T magic = T(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer, to nearest
  const T t = x * T(1.44269504088896341f) + magic;
  const T n = t - magic;
  const T r = (x - n * T(0.693145751953125f)) - n * T(1.428606820309417232e-6f);  // ln2 = hi + lo
  T p = T(1.9875691500e-4f);
  p = p * r + T(1.3981999507e-3f);
  p = p * r + T(8.3334519073e-3f);
  p = p * r + T(4.1665795894e-2f);
  p = p * r + T(1.6666665459e-1f);
  p = p * r + T(5.0000001201e-1f);
  p = (p * (r * r) + r) + T(1.0f);
  return p * gn_pow2_of_rounded(t);
}

// fp64 data uses the C library's exp (the fp64 kernels are scalar at every level).
VE_HD double gn_exp(double x) { return ::exp(x); }

template <typename T>
VE_HD T gn_normalise(T x, T mean, T scale, T shift) {
  return (x - mean) * scale + shift;
}

template <typename T>
VE_HD T gn_silu(T y) {
  return y / (T(1.0f) + gn_exp(-y));
}

// d silu / dy = s * (1 + y * (1 - s)), s = sigmoid(y).
template <typename T>
VE_HD T gn_silu_grad(T y) {
  const T s = T(1.0f) / (T(1.0f) + gn_exp(-y));
  return s * (T(1.0f) + y * (T(1.0f) - s));
}

template <typename T>
VE_HD T gn_forward(T x, T mean, T scale, T shift, int act) {
  const T y = gn_normalise(x, mean, scale, shift);
  return act == kGnActSilu ? gn_silu(y) : y;
}

// grad_out -> the gradient at y (before the activation).
template <typename T>
VE_HD T gn_act_grad(T grad_out, T x, T mean, T scale, T shift, int act) {
  return act == kGnActSilu ? grad_out * gn_silu_grad(gn_normalise(x, mean, scale, shift)) : grad_out;
}

template <typename T>
VE_HD T gn_input_grad(T g, T x, T mean, T scale, T c2, T c3) {
  return (g * scale + (x - mean) * c2) + c3;
}

// Per-(n, group) statistics from sums shifted by one of the group's values (`shift`):
// s1 = sum(x - shift), s2 = sum((x - shift)^2) over count elements. Returns the mean; m2 gets
// sum((x - mean)^2) >= 0. Shifting by a sample of the data keeps s2 - s1^2/count free of the
// cancellation the plain sum of squares suffers when |mean| >> std.
VE_HD double gn_moments(double shift, double s1, double s2, double count, double* m2) {
  const double d = s1 / count;
  const double v = s2 - s1 * d;
  *m2 = v > 0.0 ? v : (v == v ? 0.0 : v);  // NaN stays NaN
  return shift + d;
}

}  // namespace vision_ext
