// The vector overloads of vision_ext/group_norm.h's bit-level steps (gn_fma, clamp, 2^n, -|y|,
// select), for Vec and Wide, found by argument-dependent lookup: gn_exp / gn_sigmoid on this
// level's vectors compute the scalar functions' bits lane for lane (GroupNorm's SiLU; the
// attention kernel takes its 2^n).
#pragma once
#include <cstdint>

#include "isa.h"
#include "vec.h"
#include "wide.h"
#include "vision_ext/group_norm.h"

namespace vision_ext::cpu::VE_CPU_NS {

// One rounding where the level has FMA (vec.h mul_add), as the scalar gn_fma compiled for it.
template <int N>
inline Vec<float, N> gn_fma(Vec<float, N> a, Vec<float, N> b, Vec<float, N> c) {
  return mul_add(a, b, c);
}
template <int N>
inline Vec<double, N> gn_fma(Vec<double, N> a, Vec<double, N> b, Vec<double, N> c) {
  return a * b + c;  // fp64: plain arithmetic, as the scalar gn_fma(double)
}

template <typename S, int N>
inline Vec<S, N> gn_clamp(Vec<S, N> x, Vec<S, N> lo, Vec<S, N> hi) {
  return vmin(hi, vmax(lo, x));  // lo > x ? lo : x, then hi < . ? hi : .: NaN passes through
}

template <int N>
inline Vec<float, N> gn_neg_abs(Vec<float, N> y) {
  using Bits = typename RawVec<uint32_t, N>::type;
  return Vec<float, N>((typename Vec<float, N>::raw)((Bits)y.v | 0x80000000u));  // the sign bit set
}

template <int N>
inline Vec<float, N> gn_if_nonnegative(Vec<float, N> y, Vec<float, N> a, Vec<float, N> b) {
  return y.v >= 0.0f ? a.v : b.v;
}

template <int N>
inline Vec<float, N> gn_pow2_of_rounded(Vec<float, N> t) {
  using Bits = typename RawVec<uint32_t, N>::type;
  Bits bits = (Bits)t.v;  // a vector cast reinterprets the bits
  bits = (bits + (127u - 0x4B400000u)) << 23;
  return Vec<float, N>((typename Vec<float, N>::raw)bits);
}

// p 2^n for t = n + 1.5 * 2^23 (n an integer-valued float in [-126, 0], as gn_pow2_of_rounded takes
// t): one vscalefps at avx512, exact as the multiply by the built power it replaces (same bits).
template <int N>
inline Vec<float, N> times_pow2_of_rounded(Vec<float, N> p, Vec<float, N> t, Vec<float, N> n) {
#if defined(__AVX512F__)
  if constexpr (N == 16) return Vec<float, N>(_mm512_scalef_ps(p.v, n.v));
#endif
  (void)n;
  return p * gn_pow2_of_rounded(t);
}

// fp64 SiLU: the C library's exp per lane (the arithmetic around it stays vectorised).
template <int N>
inline Vec<double, N> gn_sigmoid(Vec<double, N> y) {
  for (int i = 0; i < N; ++i) y.v[i] = vision_ext::gn_sigmoid(static_cast<double>(y.v[i]));
  return y;
}

// The same steps on the accumulators' Wide vectors, one register at a time.
template <typename S, int N>
inline Wide<S, N> gn_fma(Wide<S, N> a, Wide<S, N> b, Wide<S, N> c) {
  return each_register(a, b, c, [](auto x, auto y, auto z) { return gn_fma(x, y, z); });
}
template <typename S, int N>
inline Wide<S, N> gn_clamp(Wide<S, N> x, Wide<S, N> lo, Wide<S, N> hi) {
  return each_register(x, lo, hi, [](auto a, auto l, auto h) { return gn_clamp(a, l, h); });
}
template <int N>
inline Wide<float, N> gn_neg_abs(Wide<float, N> y) {
  return each_register(y, [](auto a) { return gn_neg_abs(a); });
}
template <int N>
inline Wide<float, N> gn_if_nonnegative(Wide<float, N> y, Wide<float, N> a, Wide<float, N> b) {
  return each_register(y, a, b, [](auto v, auto p, auto q) { return gn_if_nonnegative(v, p, q); });
}
template <int N>
inline Wide<float, N> gn_pow2_of_rounded(Wide<float, N> t) {
  return each_register(t, [](auto a) { return gn_pow2_of_rounded(a); });
}
template <int N>
inline Wide<float, N> times_pow2_of_rounded(Wide<float, N> p, Wide<float, N> t, Wide<float, N> n) {
  return each_register(p, t, n, [](auto a, auto b, auto c) { return times_pow2_of_rounded(a, b, c); });
}
template <int N>
inline Wide<double, N> gn_sigmoid(Wide<double, N> y) {
  return each_register(y, [](auto a) { return gn_sigmoid(a); });
}

}  // namespace vision_ext::cpu::VE_CPU_NS
