// The level-dependent operations the DDPM kernels (ddpm_simd.cpp) need beyond vec.h (whose integer
// bit operations they use): the 32 x 32 -> 64-bit multiply Philox is built on, the vector
// overloads of philox.h's philox_fma / philox_sqrt, lane shuffles and streaming
// stores. The only intrinsics of the family live here, each with a generic fallback (aarch64).
#pragma once
#include <cstdint>
#include <utility>

#include "isa.h"
#include "vec.h"
#include "vision_ext/philox.h"

// The x86 vector width of the level (isa.h's choice), 0 elsewhere: selects the intrinsics below.
#if defined(__AVX512F__) && defined(__AVX512BW__)
#define VE_DDPM_X86_WIDTH 64
#elif defined(__AVX2__) && defined(__FMA__)
#define VE_DDPM_X86_WIDTH 32
#elif defined(__SSE2__)
#define VE_DDPM_X86_WIDTH 16
#else
#define VE_DDPM_X86_WIDTH 0
#endif
#if VE_DDPM_X86_WIDTH
#include <immintrin.h>
#endif

// GCC 12's unmasked AVX-512 intrinsics read an "undefined" register and warn about it (GCC PR 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace vision_ext::cpu::VE_CPU_NS {

using U32Vec = NativeVec<uint32_t>;
using U64Vec = NativeVec<uint64_t>;

// Lane-wise (low 32 bits of a) * (low 32 bits of b) as 64-bit products: one vpmuludq / pmuludq.
// (GCC turns the generic masked form into a full 64-bit multiply, three times the work.)
inline U64Vec mul_low32(U64Vec a, U64Vec b) {
#if VE_DDPM_X86_WIDTH == 64
  return U64Vec((U64Vec::raw)_mm512_mul_epu32((__m512i)a.v, (__m512i)b.v));
#elif VE_DDPM_X86_WIDTH == 32
  return U64Vec((U64Vec::raw)_mm256_mul_epu32((__m256i)a.v, (__m256i)b.v));
#elif VE_DDPM_X86_WIDTH == 16
  return U64Vec((U64Vec::raw)_mm_mul_epu32((__m128i)a.v, (__m128i)b.v));
#else
  const U64Vec low(uint64_t{0xffffffffu});
  return (a & low) * (b & low);
#endif
}

// philox_rounds on vectors of words held in the low halves of 64-bit lanes (philox.h).
inline void philox_mulhilo(uint32_t m, U64Vec a, U64Vec* hi, U64Vec* lo) {
  const U64Vec p = mul_low32(a, U64Vec(uint64_t{m}));
  *hi = p >> 32;
  *lo = p;
}

// A constant shuffle mask {f(0), f(1), ...} of the index vector type Idx.
template <typename Idx, typename F, std::size_t... I>
constexpr Idx shuffle_mask(F f, std::index_sequence<I...>) {
  return Idx{f(static_cast<int>(I))...};
}

// The low words of a's and b's lanes, a's first: one vector of twice the lanes.
inline U32Vec low_words(U64Vec a, U64Vec b) {
  constexpr int L = U32Vec::kLanes;
  using Idx = typename RawVec<int32_t, L>::type;
  constexpr Idx evens = shuffle_mask<Idx>([](int i) { return 2 * i; }, std::make_index_sequence<L>{});
  return U32Vec(__builtin_shuffle((U32Vec::raw)a.v, (U32Vec::raw)b.v, evens));
}

// Writes a0 b0 c0 d0 a1 b1 c1 d1 ... (4 * lanes floats) to out: the 4 normals of each Philox block.
inline void store_interleaved4(FloatVec a, FloatVec b, FloatVec c, FloatVec d, float* out) {
  constexpr int L = FloatVec::kLanes, H = L / 2;
  using Idx = typename RawVec<int32_t, L>::type;
  using I64 = typename RawVec<int64_t, H>::type;
  // zip of 32-bit lanes (low / high halves), then zip of the 64-bit pairs
  constexpr Idx lo = shuffle_mask<Idx>([](int i) { return (i % 2 ? L : 0) + i / 2; }, std::make_index_sequence<L>{});
  constexpr Idx hi = shuffle_mask<Idx>([](int i) { return (i % 2 ? L : 0) + H + i / 2; }, std::make_index_sequence<L>{});
  constexpr I64 lo64 = shuffle_mask<I64>([](int i) { return int64_t{(i % 2 ? H : 0) + i / 2}; },
                                         std::make_index_sequence<H>{});
  constexpr I64 hi64 = shuffle_mask<I64>([](int i) { return int64_t{(i % 2 ? H : 0) + H / 2 + i / 2}; },
                                         std::make_index_sequence<H>{});
  const I64 ab_lo = (I64)__builtin_shuffle(a.v, b.v, lo), ab_hi = (I64)__builtin_shuffle(a.v, b.v, hi);
  const I64 cd_lo = (I64)__builtin_shuffle(c.v, d.v, lo), cd_hi = (I64)__builtin_shuffle(c.v, d.v, hi);
  FloatVec((FloatVec::raw)__builtin_shuffle(ab_lo, cd_lo, lo64)).store(out);
  FloatVec((FloatVec::raw)__builtin_shuffle(ab_lo, cd_lo, hi64)).store(out + L);
  FloatVec((FloatVec::raw)__builtin_shuffle(ab_hi, cd_hi, lo64)).store(out + 2 * L);
  FloatVec((FloatVec::raw)__builtin_shuffle(ab_hi, cd_hi, hi64)).store(out + 3 * L);
}

// philox.h's overloadable primitives on FloatVec: a real FMA (the vector Philox runs only where the
// level has one, so every lane rounds as fmaf does), correctly rounded sqrt.
template <int N>
inline Vec<float, N> philox_fma(Vec<float, N> a, Vec<float, N> b, Vec<float, N> c) {
  static_assert(kHasFma && N > 0, "the vector Philox needs hardware FMA to match fmaf bit for bit");
  return mul_add(a, b, c);
}
inline FloatVec philox_sqrt(FloatVec x) {
#if VE_DDPM_X86_WIDTH == 64
  return FloatVec(_mm512_sqrt_ps(x.v));
#elif VE_DDPM_X86_WIDTH == 32
  return FloatVec(_mm256_sqrt_ps(x.v));
#elif VE_DDPM_X86_WIDTH == 16
  return FloatVec(_mm_sqrt_ps(x.v));
#else
  FloatVec r;
  for (int l = 0; l < FloatVec::kLanes; ++l) r.v[l] = __builtin_sqrtf(x.v[l]);
  return r;
#endif
}

// ddpm_fma (vision_ext/ddpm.h) on vectors: fused where the level has FMA (so avx2 and avx512 agree
// bit for bit with each other and with CUDA's contraction), a * b + c at the base level.
inline FloatVec ddpm_fma(FloatVec a, FloatVec b, FloatVec c) { return mul_add(a, b, c); }
inline DoubleVec ddpm_fma(DoubleVec a, DoubleVec b, DoubleVec c) {
#if VE_DDPM_X86_WIDTH == 64
  return DoubleVec(_mm512_fmadd_pd(a.v, b.v, c.v));
#elif VE_DDPM_X86_WIDTH == 32
  return DoubleVec(_mm256_fmadd_pd(a.v, b.v, c.v));
#elif defined(__aarch64__)
  return DoubleVec(__builtin_aarch64_fmav2df(a.v, b.v, c.v));
#else
  return a * b + c;
#endif
}

// Streaming (non-temporal) stores for outputs far larger than the caches: no read-for-ownership.
// `p` must be aligned to the vector; stream_fence() publishes them before the threads join.
inline void stream_store(FloatVec v, float* p) {
#if VE_DDPM_X86_WIDTH == 64
  _mm512_stream_ps(p, v.v);
#elif VE_DDPM_X86_WIDTH == 32
  _mm256_stream_ps(p, v.v);
#elif VE_DDPM_X86_WIDTH == 16
  _mm_stream_ps(p, v.v);
#else
  v.store(p);
#endif
}
inline void stream_fence() {
#if VE_DDPM_X86_WIDTH
  _mm_sfence();
#endif
}

}  // namespace vision_ext::cpu::VE_CPU_NS

namespace vision_ext {
template <int N>
struct PhiloxLane<cpu::VE_CPU_NS::Vec<float, N>> {
  using F = cpu::VE_CPU_NS::Vec<float, N>;
  using U = cpu::VE_CPU_NS::Vec<uint32_t, N>;
};
template <int N>
struct PhiloxLane<cpu::VE_CPU_NS::Vec<uint32_t, N>> {
  using F = cpu::VE_CPU_NS::Vec<float, N>;
  using U = cpu::VE_CPU_NS::Vec<uint32_t, N>;
};
}  // namespace vision_ext
