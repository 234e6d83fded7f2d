// Per-element maths of the fused GroupNorm (+ SiLU) family, written once: every CPU level
// (csrc/ops/cpu/simd/group_norm_simd.cpp, T = a float vector or float/double) and CUDA
// (csrc/kernels/cuda/group_norm.cu, T = float/double) instantiate these templates.
//
// Forward, per element of channel c in group g of sample n:
//   y = (x - mean[n,g]) * scale + shift,  scale = rstd[n,g] * weight[c],  shift = bias[c]
//   out = act(y)                          act: identity or SiLU, y * sigmoid(y)
// Backward, with g = grad_out * act'(y) and per-(n, group) constants c2, c3 (see the glue):
//   grad_x = g * scale + (x - mean) * c2 + c3
//
// The fp32 exp is our own polynomial (gn_exp below) and every multiply-add is gn_fma, so the scalar
// tails, every FMA level's vectors and CUDA compute the same bits (the x86-64 base level, without
// FMA, rounds its multiply-adds twice: within fp32 tolerance of the others); the bit-level steps it
// needs (clamp, 2^n, -|y|, select) are overloaded for vector types next to the vectors (found by
// argument-dependent lookup), scalar ones are here.
#pragma once
#include <cmath>
#include <cstdint>

#include "vision_ext/macros.h"

namespace vision_ext {

enum GroupNormAct : int { kGnActNone = 0, kGnActSilu = 1 };

// a * b + c: one rounding where the code is compiled for FMA hardware (CUDA, aarch64, the avx2 and
// avx512 levels), two at the x86-64 base level, matching that level's vectors (simd/vec.h mul_add).
// Always inlined (VE_HD), so each level's copy stays its own.
VE_HD float gn_fma(float a, float b, float c) {
#if defined(__CUDA_ARCH__) || defined(__FMA__) || defined(__aarch64__)
  return fmaf(a, b, c);
#else
  return a * b + c;
#endif
}
VE_HD double gn_fma(double a, double b, double c) { return a * b + c; }  // fp64: plain arithmetic

// x clamped to [lo, hi]; NaN passes through (both comparisons are false).
VE_HD float gn_clamp(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }

// -|y|, and y >= 0 ? a : b (NaN y gives b).
VE_HD float gn_neg_abs(float y) { return -fabsf(y); }  // the sign bit set, NaN included
VE_HD float gn_if_nonnegative(float y, float a, float b) { return y >= 0.0f ? a : b; }

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

// exp(x) in fp32 to about 1 ulp for x in [-87, 88] (callers clamp): Cody-Waite reduction
// x = n ln2 + r, |r| <= ln2/2, then a degree-6 polynomial for exp(r), every step an FMA.
template <typename T>
VE_HD T gn_exp_in_range(T x) {
  const T magic = T(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer, to nearest
  const T t = gn_fma(x, T(1.44269504088896341f), magic);
  const T n = t - magic;
  const T r = gn_fma(n, T(-1.428606820309417232e-6f), gn_fma(n, T(-0.693145751953125f), x));  // ln2 = hi + lo
  T p = T(1.9875691500e-4f);
  p = gn_fma(p, r, T(1.3981999507e-3f));
  p = gn_fma(p, r, T(8.3334519073e-3f));
  p = gn_fma(p, r, T(4.1665795894e-2f));
  p = gn_fma(p, r, T(1.6666665459e-1f));
  p = gn_fma(p, r, T(5.0000001201e-1f));
  p = gn_fma(p, r * r, r) + T(1.0f);
  return p * gn_pow2_of_rounded(t);
}

// exp(x) for any fp32 x: saturates at exp(-87) / exp(88) outside [-87, 88], which no caller can
// tell apart from 0 / inf. NaN gives NaN.
template <typename T>
VE_HD T gn_exp(T x) {
  return gn_exp_in_range(gn_clamp(x, T(-87.0f), T(88.0f)));
}
VE_HD double gn_exp(double x) { return ::exp(x); }  // fp64: the C library's (not the fp32 clamp above)

// sigmoid(y) from e = exp(-|y|) <= 1: 1 / (1 + e) for y >= 0, e / (1 + e) below, so the exp never
// overflows and needs only its lower clamp, and the IEEE division is by 1 + e in [1, 2]. Below
// y = -87, e stays exp(-87): SiLU there is y * 1.6e-38, +-0 to within 1e-36. NaN gives NaN.
template <typename T>
VE_HD T gn_sigmoid(T y) {
  const T nabs = gn_neg_abs(y);
  const T e = gn_exp_in_range(gn_clamp(nabs, T(-87.0f), T(0.0f)));
  return gn_if_nonnegative(y, T(1.0f), e) / (T(1.0f) + e);
}

// fp64 data uses the C library's exp (vector fp64 lanes call this one by one: simd/exp_ops.h).
VE_HD double gn_sigmoid(double y) { return 1.0 / (1.0 + ::exp(-y)); }

template <typename T>
VE_HD T gn_normalise(T x, T mean, T scale, T shift) {
  return gn_fma(x - mean, scale, shift);
}

template <typename T>
VE_HD T gn_silu(T y) {
  return y * gn_sigmoid(y);
}

// d silu / dy = s * (1 + y * (1 - s)), s = sigmoid(y).
template <typename T>
VE_HD T gn_silu_grad(T y) {
  const T s = gn_sigmoid(y);
  return s * gn_fma(y, T(1.0f) - s, T(1.0f));
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
