// Wide<S, N>: N lanes of S held as an array of the level's registers, with the operators the shared
// VE_HD formulas need. A logical width fixed across levels (16 lanes) gives the same lane partials,
// hence the same bits, at every level; GCC's own vectors of that width are lowered badly where they
// span several registers (loads and stores through the stack in 16-byte pieces, broadcasts lane by
// lane, comparisons one lane at a time: AVX2 ran slower than SSE2), while an array of register-wide
// vectors stays in registers. Lane i is register i / L, lane i % L.
#pragma once
#include <cstdint>
#include <cstring>

#include "isa.h"
#include "vec.h"

// Forced inline and fully unrolled: a Wide passed to an out-of-line helper travels through the
// stack, and a rolled loop over its registers keeps them in memory.
#define VE_WIDE inline __attribute__((always_inline))
#define VE_EACH_REGISTER _Pragma("GCC unroll 16") for

namespace vision_ext::cpu::VE_CPU_NS {

template <typename S, int N>
struct Wide {
  static constexpr int kLanes = N;
  static constexpr int L = lanes_of<S>() < N ? lanes_of<S>() : N;  // lanes per register
  static constexpr int R = N / L;                                  // registers
  static_assert(N % L == 0, "whole registers");
  using reg = typename RawVec<S, L>::type;
  reg r[R];

  Wide() = default;
  VE_WIDE Wide(S s) {
    const reg one = splat<reg>(s);
    VE_EACH_REGISTER (int i = 0; i < R; ++i) r[i] = one;
  }
  VE_WIDE static Wide load(const S* p) {
    Wide w;
    VE_EACH_REGISTER (int i = 0; i < R; ++i) std::memcpy(&w.r[i], p + i * L, sizeof(reg));
    return w;
  }
  VE_WIDE void store(S* p) const {
    VE_EACH_REGISTER (int i = 0; i < R; ++i) std::memcpy(p + i * L, &r[i], sizeof(reg));
  }
  S get(int i) const { return r[i / L][i % L]; }
  void set(int i, S s) { r[i / L][i % L] = s; }
};

// The same interface as a scalar or a Vec (vec.h), so a kernel written once handles any width.
template <typename S, int N> VE_WIDE Wide<S, N> load_lanes(const S* p, Wide<S, N>) { return Wide<S, N>::load(p); }
template <typename S, int N> VE_WIDE void store_lanes(Wide<S, N> v, S* p) { v.store(p); }

// f applied to each register of a (and b, c) as the level's Vec: a Vec function lifted to Wide.
template <typename S, int N, typename F>
VE_WIDE Wide<S, N> each_register(Wide<S, N> a, F f) {
  using V = Vec<S, Wide<S, N>::L>;
  VE_EACH_REGISTER (int i = 0; i < Wide<S, N>::R; ++i) a.r[i] = f(V(a.r[i])).v;
  return a;
}
template <typename S, int N, typename F>
VE_WIDE Wide<S, N> each_register(Wide<S, N> a, Wide<S, N> b, Wide<S, N> c, F f) {
  using V = Vec<S, Wide<S, N>::L>;
  VE_EACH_REGISTER (int i = 0; i < Wide<S, N>::R; ++i) a.r[i] = f(V(a.r[i]), V(b.r[i]), V(c.r[i])).v;
  return a;
}

template <typename S, int N, typename F>
VE_WIDE Wide<S, N> wide_map(Wide<S, N> a, Wide<S, N> b, F f) {
  Wide<S, N> out;
  VE_EACH_REGISTER (int i = 0; i < Wide<S, N>::R; ++i) out.r[i] = f(a.r[i], b.r[i]);
  return out;
}
template <typename S, int N> VE_WIDE Wide<S, N> operator+(Wide<S, N> a, Wide<S, N> b) {
  return wide_map(a, b, [](auto x, auto y) { return x + y; });
}
template <typename S, int N> VE_WIDE Wide<S, N> operator-(Wide<S, N> a, Wide<S, N> b) {
  return wide_map(a, b, [](auto x, auto y) { return x - y; });
}
template <typename S, int N> VE_WIDE Wide<S, N> operator*(Wide<S, N> a, Wide<S, N> b) {
  return wide_map(a, b, [](auto x, auto y) { return x * y; });
}
template <typename S, int N> VE_WIDE Wide<S, N> operator/(Wide<S, N> a, Wide<S, N> b) {
  return wide_map(a, b, [](auto x, auto y) { return x / y; });
}
template <typename S, int N> VE_WIDE Wide<S, N> operator-(Wide<S, N> a) {
  return wide_map(a, a, [](auto x, auto) { return -x; });
}
template <typename S, int N> VE_WIDE Wide<S, N>& operator+=(Wide<S, N>& a, Wide<S, N> b) { return a = a + b; }

// Found by argument-dependent lookup from the shared formulas: NaN and -0.0 pass, as in torch.relu.
template <typename S, int N> VE_WIDE Wide<S, N> relu_value(Wide<S, N> a) {
  return wide_map(a, a, [](auto x, auto) { return x < S(0) ? decltype(x){} : x; });
}

// float lanes -> double lanes (exact), and back (rounded to nearest), lane order kept.
template <int N>
VE_WIDE Wide<double, N> widen(Wide<float, N> a) {
  using FW = Wide<float, N>;
  using DW = Wide<double, N>;
  static_assert(DW::L * 2 == FW::L || FW::L == N, "a float register widens to two double registers");
  DW out;
  if constexpr (DW::L * 2 == FW::L) {
    using Half = typename RawVec<float, DW::L>::type;
    VE_EACH_REGISTER (int i = 0; i < FW::R; ++i) {
      Half lo, hi;
      std::memcpy(&lo, &a.r[i], sizeof(Half));
      std::memcpy(&hi, reinterpret_cast<const char*>(&a.r[i]) + sizeof(Half), sizeof(Half));
      out.r[2 * i] = __builtin_convertvector(lo, typename DW::reg);
      out.r[2 * i + 1] = __builtin_convertvector(hi, typename DW::reg);
    }
  } else {
    for (int i = 0; i < N; ++i) out.set(i, static_cast<double>(a.get(i)));
  }
  return out;
}
template <int N> VE_WIDE Wide<double, N> widen(Wide<double, N> a) { return a; }

template <int N>
VE_WIDE Wide<float, N> narrow(Wide<double, N> a) {
  float tmp[N];
  for (int i = 0; i < N; ++i) tmp[i] = static_cast<float>(a.get(i));
  return Wide<float, N>::load(tmp);
}

// Bit i set where lane i is > 0 (clear for NaN); a with the lanes whose bit is clear set to +0.0.
template <typename S, int N>
VE_WIDE unsigned positive_lane_bits(Wide<S, N> a) {
  static_assert(N <= 32, "one bit per lane");
  unsigned bits = 0;
  VE_EACH_REGISTER (int i = 0; i < Wide<S, N>::R; ++i) {
    if constexpr (Wide<S, N>::L == lanes_of<S>()) {
      bits |= lane_bits_detail::positive(a.r[i]) << (i * Wide<S, N>::L);
    } else {
      for (int l = 0; l < Wide<S, N>::L; ++l) bits |= static_cast<unsigned>(a.r[i][l] > S(0)) << (i * Wide<S, N>::L + l);
    }
  }
  return bits;
}
template <typename S, int N>
VE_WIDE Wide<S, N> keep_lanes(unsigned bits, Wide<S, N> a) {
  VE_EACH_REGISTER (int i = 0; i < Wide<S, N>::R; ++i) {
    const unsigned b = bits >> (i * Wide<S, N>::L);
    if constexpr (Wide<S, N>::L == lanes_of<S>()) {
      a.r[i] = lane_bits_detail::keep(b, a.r[i]);
    } else {
      for (int l = 0; l < Wide<S, N>::L; ++l)
        if (!(b >> l & 1u)) a.r[i][l] = S(0);
    }
  }
  return a;
}

}  // namespace vision_ext::cpu::VE_CPU_NS
