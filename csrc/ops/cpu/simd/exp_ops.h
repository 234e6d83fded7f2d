// The vector overloads of vision_ext/group_norm.h's gn_exp steps (clamp, 2^n), for Vec and Wide,
// found by argument-dependent lookup: gn_exp(v) on this level's vectors computes the scalar
// function's bits lane for lane (GroupNorm's SiLU; the attention kernel takes its 2^n).
#pragma once
#include <cstdint>

#include "isa.h"
#include "vec.h"
#include "wide.h"
#include "vision_ext/group_norm.h"

namespace vision_ext::cpu::VE_CPU_NS {

// The bit-level steps of gn_exp on vectors (the scalar ones are in vision_ext/group_norm.h).
template <int N>
inline Vec<float, N> gn_clamp(Vec<float, N> x, Vec<float, N> lo, Vec<float, N> hi) {
  const auto r = x.v < lo.v ? lo.v : x.v;  // NaN compares false: passes through
  return r > hi.v ? hi.v : r;
}

template <int N>
inline Vec<float, N> gn_pow2_of_rounded(Vec<float, N> t) {
  using Bits = typename RawVec<uint32_t, N>::type;
  Bits bits = (Bits)t.v;  // a vector cast reinterprets the bits
  bits = (bits + (127u - 0x4B400000u)) << 23;
  return Vec<float, N>((typename Vec<float, N>::raw)bits);
}

// fp64 SiLU: the C library's exp per lane (the arithmetic around it stays vectorised).
template <int N>
inline Vec<double, N> gn_exp(Vec<double, N> x) {
  for (int i = 0; i < N; ++i) x.v[i] = vision_ext::gn_exp(static_cast<double>(x.v[i]));
  return x;
}

// The same steps on the accumulators' Wide vectors, one register at a time.
template <int N>
inline Wide<float, N> gn_clamp(Wide<float, N> x, Wide<float, N> lo, Wide<float, N> hi) {
  return each_register(x, lo, hi, [](auto a, auto l, auto h) { return gn_clamp(a, l, h); });
}
template <int N>
inline Wide<float, N> gn_pow2_of_rounded(Wide<float, N> t) {
  return each_register(t, [](auto a) { return gn_pow2_of_rounded(a); });
}
template <int N>
inline Wide<double, N> gn_exp(Wide<double, N> x) {
  return each_register(x, [](auto a) { return gn_exp(a); });
}

}  // namespace vision_ext::cpu::VE_CPU_NS
