// Counter-based Philox4x32-10 (Salmon et al., SC'11) and its mapping to normal
// numbers. Torch-free and VE_HD so the CPU kernels and the CUDA kernels draw
// bit-identical noise: every multiply-add below is an explicit fmaf (never left
// to the compiler's contraction), and the rest is IEEE-exact (+, *, /, sqrtf, rintf).
#pragma once
#include <math.h>
#include <stdint.h>

#include "vision_ext/macros.h"

namespace vision_ext {

struct Philox4 {
  uint32_t v[4];
};

constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;  // golden ratio
constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;  // sqrt(3) - 1

// The lane types of the templates below: F holds floats, U their bits (uint32_t for scalars; the
// per-level CPU kernels specialise it for their vectors, csrc/ops/cpu/simd/ddpm_ops.h). The maths
// is written once with only +, -, *, /, bit operations and the overloadable philox_fma /
// philox_sqrt, so the vector instantiations perform the scalar operations lane
// for lane: same bits at every CPU level and on CUDA.
template <typename T>
struct PhiloxLane;
template <>
struct PhiloxLane<float> {
  using F = float;
  using U = uint32_t;
};
template <>
struct PhiloxLane<uint32_t> {
  using F = float;
  using U = uint32_t;
};

VE_HD float philox_fma(float a, float b, float c) { return fmaf(a, b, c); }
VE_HD float philox_sqrt(float x) { return sqrtf(x); }

// 32 x 32 -> 64-bit product of a word and a multiplier, as (hi, lo) words.
VE_HD void philox_mulhilo(uint32_t m, uint32_t a, uint32_t* hi, uint32_t* lo) {
  const uint64_t p = static_cast<uint64_t>(m) * a;
  *hi = static_cast<uint32_t>(p >> 32);
  *lo = static_cast<uint32_t>(p);
}

// Fully unroll the loop that follows (fixed trip counts: the rounds and their chains).
#if defined(__CUDA_ARCH__)  // nvcc's device pass; its host pass (below) takes no GCC pragma
#define VE_PHILOX_UNROLL _Pragma("unroll")
#elif defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define VE_PHILOX_UNROLL _Pragma("GCC unroll 16")
#else
#define VE_PHILOX_UNROLL
#endif

// The ten rounds on J independent counters c[j] = (c0, c1, c2, c3) under one key (interleaved so a
// vector machine overlaps the multiplies). W is a word, or a vector whose lanes' low 32 bits are
// words (philox_mulhilo must then read only those bits; higher bits may hold anything).
template <int J, typename W>
VE_HD void philox_rounds(W (*c)[4], W k0, W k1) {
  VE_PHILOX_UNROLL
  for (int round = 0; round < 10; ++round) {
    VE_PHILOX_UNROLL
    for (int j = 0; j < J; ++j) {
      W hi0, lo0, hi1, lo1;
      philox_mulhilo(kPhiloxM0, c[j][0], &hi0, &lo0);
      philox_mulhilo(kPhiloxM1, c[j][2], &hi1, &lo1);
      c[j][0] = hi1 ^ c[j][1] ^ k0;
      c[j][1] = lo1;
      c[j][2] = hi0 ^ c[j][3] ^ k1;
      c[j][3] = lo0;
    }
    k0 = k0 + W(kPhiloxW0);  // the bump after the last round is unused
    k1 = k1 + W(kPhiloxW1);
  }
}

VE_HD Philox4 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
  uint32_t c[1][4] = {{c0, c1, c2, c3}};
  philox_rounds<1>(c, k0, k1);
  return Philox4{{c[0][0], c[0][1], c[0][2], c[0][3]}};
}

// The same 32 bits read as another type (float <-> uint32_t, or vectors of them); a union, which
// host and device compilers both accept in VE_HD code.
template <typename To, typename From>
VE_HD To bits_as(From v) {
  static_assert(sizeof(To) == sizeof(From), "bits_as: the two types must have the same size");
  union {
    From from;
    To to;
  } c;
  c.from = v;
  return c.to;
}

// a where mask is all ones, b where it is zero (lane-wise select, exact).
template <typename F, typename U>
VE_HD F philox_select(U mask, F a, F b) {
  return bits_as<F>((bits_as<U>(a) & mask) | (bits_as<U>(b) & (mask ^ U(0xffffffffu))));
}

// Uniform in the open interval (0, 1): 23 random bits k plus half a step, (2k + 1) 2^-24, exact in
// float (24 bits would round the top value up to 1.0): 1 + k 2^-23 from the bits, minus 1 - 2^-24
// (both exact, and so is the difference).
template <typename U>
VE_HD typename PhiloxLane<U>::F philox_uniform(U bits) {
  using F = typename PhiloxLane<U>::F;
  return bits_as<F>((bits >> 9) | U(0x3f800000u)) - F(0.999999940395355224609375f);
}

// Four times that uniform, (2k + 1) 2^-22 in (0, 4), the same way: 4 + k 2^-21 minus 4 - 2^-22.
template <typename U>
VE_HD typename PhiloxLane<U>::F philox_uniform_x4(U bits) {
  using F = typename PhiloxLane<U>::F;
  return bits_as<F>((bits >> 9) | U(0x40800000u)) - F(3.999999761581420898437500f);
}

// Natural log of a positive normal float, our own polynomial so both devices agree.
// x = m 2^e with m in [sqrt(1/2), sqrt(2)], log m = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.172.
template <typename F>
VE_HD F philox_log(F x) {
  using U = typename PhiloxLane<F>::U;
  // x's bits minus those of T = 0x3f3504f4 (the float after sqrt(1/2)), plus 128 exponent steps (keeps
  // it positive): the exponent field is then e + 128 and the mantissa field plus T is m, so a mantissa
  // above sqrt(2) comes out halved, with e one higher, without a compare or a select.
  const U ix = bits_as<U>(x) + U(0x40000000u - 0x3f3504f4u);
  const F m = bits_as<F>((ix & U(0x7fffffu)) + U(0x3f3504f4u));
  const F e = bits_as<F>((ix >> 23) | U(0x4b000000u)) - F(8388736.f);  // 2^23 + 128, exact
  const F s = (m - F(1.f)) / (m + F(1.f));
  const F s2 = s * s;
  F p = philox_fma(s2, F(0.11111111f), F(0.14285715f));
  p = philox_fma(s2, p, F(0.2f));
  p = philox_fma(s2, p, F(0.33333334f));
  p = philox_fma(s2, p, F(1.f));
  return philox_fma(e, F(0.693147180559945f), (F(2.f) * s) * p);
}

// sin and cos of 2*pi*u from v = 4u in (0, 4): q = the nearest quarter turn (rint(v), by the
// 1.5 * 2^23 rounding trick, exact for 0 <= v < 2^22, and its last bits are q's), f = v - q in
// [-1/2, 1/2] (exact), Taylor polynomials of sin and cos of (pi/2) f (truncation < 2e-9 and
// 1e-10), then a rotation by q quarter turns (exact swaps and sign flips).
template <typename F>
VE_HD void philox_sincos_2pi_x4(F v, F* sin_out, F* cos_out) {
  using U = typename PhiloxLane<F>::U;
  const F shifted = v + F(12582912.f);
  const F q = shifted - F(12582912.f);
  const U k = bits_as<U>(shifted);  // k & 3 = q mod 4
  const F f = v - q;
  const F f2 = f * f;
  F s = philox_fma(f2, F(1.6044118e-04f), F(-4.6817541e-03f));
  s = philox_fma(f2, s, F(7.9692625e-02f));
  s = philox_fma(f2, s, F(-6.4596410e-01f));
  s = philox_fma(f2, s, F(1.5707964f));
  s = s * f;
  F c = philox_fma(f2, F(-2.5202042e-05f), F(9.1926026e-04f));
  c = philox_fma(f2, c, F(-2.0863481e-02f));
  c = philox_fma(f2, c, F(2.5366950e-01f));
  c = philox_fma(f2, c, F(-1.2337005f));
  c = philox_fma(f2, c, F(1.f));
  // sin: s, c, -s, -c and cos: c, -s, -c, s for k & 3 = 0..3 (bit 1 of k, or of k + 1, as the sign)
  const U odd = U(0) - (k & U(1));
  const U sign = U(0x80000000u);
  *sin_out = bits_as<F>(bits_as<U>(philox_select(odd, c, s)) ^ ((k << 30) & sign));
  *cos_out = bits_as<F>(bits_as<U>(philox_select(odd, s, c)) ^ (((k + U(1)) << 30) & sign));
}

// Box-Muller on one pair of words: radius from w_radius, angle from w_angle.
template <typename U>
VE_HD void philox_box_muller(U w_radius, U w_angle, typename PhiloxLane<U>::F* first,
                             typename PhiloxLane<U>::F* second) {
  using F = typename PhiloxLane<U>::F;
  const F radius = philox_sqrt(F(-2.f) * philox_log(philox_uniform(w_radius)));
  F sn, cs;
  philox_sincos_2pi_x4(philox_uniform_x4(w_angle), &sn, &cs);
  *first = radius * cs;
  *second = radius * sn;
}

// Four standard normals from one Philox block (Box-Muller on two pairs).
struct Normal4 {
  float v[4];
};

VE_HD Normal4 philox_normal4(uint64_t seed, uint64_t offset, uint64_t group) {
  const Philox4 r = philox4x32_10(static_cast<uint32_t>(group), static_cast<uint32_t>(group >> 32),
                                  static_cast<uint32_t>(offset), static_cast<uint32_t>(offset >> 32),
                                  static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
  Normal4 out;
  philox_box_muller(r.v[0], r.v[1], &out.v[0], &out.v[1]);
  philox_box_muller(r.v[2], r.v[3], &out.v[2], &out.v[3]);
  return out;
}

// The normal for flat element `index`: element i takes value i % 4 of block i / 4.
VE_HD float philox_normal_at(uint64_t seed, uint64_t offset, uint64_t index) {
  return philox_normal4(seed, offset, index >> 2).v[index & 3];
}

}  // namespace vision_ext
