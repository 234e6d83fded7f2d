// Fixed-width vectors of the level being compiled (GCC/Clang vector extensions: SSE2 or NEON at
// the base level, AVX2 and AVX-512 above), and the few operations the generic ones lack. The
// shared VE_HD maths (csrc/include/vision_ext) accepts Vec as its scalar type T: it converts from
// a scalar, so T(4) * d[0] and the epilogue formulas compile unchanged for every width.
// The only intrinsics of the per-level kernels live here, behind level-independent names.
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "isa.h"

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace vision_ext::cpu::VE_CPU_NS {

// The raw vector types, spelled out: GCC drops vector_size on a typedef that depends on a
// template parameter.
template <typename S, int N> struct RawVec;
#define VE_RAW_VEC(S, N) \
  template <> struct RawVec<S, N> { typedef S type __attribute__((vector_size(sizeof(S) * N))); };
#define VE_RAW_WIDTHS(S, N16) VE_RAW_VEC(S, N16) VE_RAW_VEC(S, 2 * N16) VE_RAW_VEC(S, 4 * N16) VE_RAW_VEC(S, 8 * N16)
VE_RAW_WIDTHS(float, 4)
VE_RAW_WIDTHS(double, 2)
VE_RAW_WIDTHS(int32_t, 4)
VE_RAW_WIDTHS(uint32_t, 4)
VE_RAW_WIDTHS(int64_t, 2)
VE_RAW_WIDTHS(uint64_t, 2)
VE_RAW_WIDTHS(int16_t, 8)
VE_RAW_WIDTHS(uint16_t, 8)
VE_RAW_WIDTHS(int8_t, 16)
VE_RAW_WIDTHS(uint8_t, 16)
// Narrow lanes that widen to one native int32 register (uint8 / int16 -> int32 at every level).
VE_RAW_VEC(int16_t, 4)
VE_RAW_VEC(uint8_t, 4)
VE_RAW_VEC(uint8_t, 8)
// Half a base-level float register (its two lanes widen to one double register).
VE_RAW_VEC(float, 2)
#undef VE_RAW_WIDTHS
#undef VE_RAW_VEC

// Every lane s. The zero vector is -0.0 in floats: -0.0 + s is s exactly (a +0.0 base turns -0.0
// into +0.0), so GCC folds the add and broadcasts straight from memory instead of an add on the FMA
// ports plus a shuffle (a third of the Winograd GEMM's issue slots at avx512).
template <typename R, typename S>
inline R splat(S s) {
  return -R{} + s;
}

template <typename S, int N>
struct Vec {
  static constexpr int kLanes = N;
  using scalar = S;
  using raw = typename RawVec<S, N>::type;
  raw v;

  Vec() = default;
  Vec(raw r) : v(r) {}
  Vec(S s) : v(broadcast(s)) {}

  // One register's broadcast copied into each register-wide piece: GCC builds a splat wider
  // than the registers lane by lane through the stack (16 scalar stores per 16-float vector on AVX2).
  static raw broadcast(S s) {
    constexpr int L = lanes_of<S>();
    if constexpr (N <= L) {
      return splat<raw>(s);
    } else {
      using R = typename RawVec<S, L>::type;
      const R one = splat<R>(s);
      raw out;
      for (int i = 0; i < N / L; ++i) std::memcpy(reinterpret_cast<char*>(&out) + i * sizeof(R), &one, sizeof(R));
      return out;
    }
  }

  static Vec load(const S* p) {
    Vec r;
    std::memcpy(&r.v, p, sizeof(raw));
    return r;
  }
  void store(S* p) const { std::memcpy(p, &v, sizeof(raw)); }
};

// The natural width of the level for S (a full register), and a width in floats per register.
template <typename S> using NativeVec = Vec<S, lanes_of<S>()>;
using FloatVec = NativeVec<float>;
using DoubleVec = NativeVec<double>;

template <typename S, int N> inline Vec<S, N> operator+(Vec<S, N> a, Vec<S, N> b) { return a.v + b.v; }
template <typename S, int N> inline Vec<S, N> operator-(Vec<S, N> a, Vec<S, N> b) { return a.v - b.v; }
template <typename S, int N> inline Vec<S, N> operator*(Vec<S, N> a, Vec<S, N> b) { return a.v * b.v; }
template <typename S, int N> inline Vec<S, N> operator/(Vec<S, N> a, Vec<S, N> b) { return a.v / b.v; }
template <typename S, int N> inline Vec<S, N> operator-(Vec<S, N> a) { return -a.v; }
template <typename S, int N> inline Vec<S, N>& operator+=(Vec<S, N>& a, Vec<S, N> b) { return a = a + b; }
// f applied to each register-wide piece of a and b. GCC 12 lowers a comparison or a ?: on a vector
// wider than the level's registers one lane at a time (a 16-float ReLU on AVX2 ran 14x slower than
// torch's); on register-wide pieces they stay vector instructions. Used by every select below.
template <typename S, int N, typename F>
inline Vec<S, N> per_register(Vec<S, N> a, Vec<S, N> b, F f) {
  constexpr int L = lanes_of<S>();
  if constexpr (N <= L) {
    return Vec<S, N>(f(a.v, b.v));
  } else {
    static_assert(N % L == 0, "vector widths are powers of two");
    using R = typename RawVec<S, L>::type;
    R ra[N / L], rb[N / L];
    std::memcpy(ra, &a.v, sizeof(a.v));
    std::memcpy(rb, &b.v, sizeof(b.v));
    for (int i = 0; i < N / L; ++i) ra[i] = f(ra[i], rb[i]);
    Vec<S, N> out;
    std::memcpy(&out.v, ra, sizeof(out.v));
    return out;
  }
}

// x < y ? x : y and x > y ? x : y on one register. On x86 the float ones are the min/max
// instructions, which have exactly these semantics (y where either is NaN): GCC 12 lowers the
// ternaries to a compare and a blend when an operand is a constant.
template <typename R> inline R register_min(R x, R y) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<R, RawVec<float, 16>::type>) return _mm512_min_ps(x, y);
#endif
#if defined(__AVX__)
  if constexpr (std::is_same_v<R, RawVec<float, 8>::type>) return _mm256_min_ps(x, y);
#endif
#if defined(__SSE2__)
  if constexpr (std::is_same_v<R, RawVec<float, 4>::type>) return _mm_min_ps(x, y);
#endif
  return x < y ? x : y;
}
template <typename R> inline R register_max(R x, R y) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<R, RawVec<float, 16>::type>) return _mm512_max_ps(x, y);
#endif
#if defined(__AVX__)
  if constexpr (std::is_same_v<R, RawVec<float, 8>::type>) return _mm256_max_ps(x, y);
#endif
#if defined(__SSE2__)
  if constexpr (std::is_same_v<R, RawVec<float, 4>::type>) return _mm_max_ps(x, y);
#endif
  return x > y ? x : y;
}

template <typename S, int N> inline Vec<S, N> vmin(Vec<S, N> a, Vec<S, N> b) {
  return per_register(a, b, [](auto x, auto y) { return register_min(x, y); });
}
template <typename S, int N> inline Vec<S, N> vmax(Vec<S, N> a, Vec<S, N> b) {
  return per_register(a, b, [](auto x, auto y) { return register_max(x, y); });
}
// Found by argument-dependent lookup from vision_ext::epilogue_value.
template <typename S, int N> inline Vec<S, N> relu_value(Vec<S, N> a) {
  // NaN and -0.0 pass, as in torch.relu
  return per_register(a, a, [](auto x, auto) { return x < S(0) ? decltype(x){} : x; });
}

// Integer lane logic: comparisons give a lane mask (all ones / zero) of the same type, so the
// shared integer maths (e.g. vision_ext/canny.h) combines them with & | as it does scalar bools.
template <typename S, int N>
using IntVec = std::enable_if_t<std::is_integral_v<S>, Vec<S, N>>;
template <typename S, int N> inline IntVec<S, N> operator&(Vec<S, N> a, Vec<S, N> b) { return a.v & b.v; }
template <typename S, int N> inline IntVec<S, N> operator|(Vec<S, N> a, Vec<S, N> b) { return a.v | b.v; }
template <typename S, int N> inline IntVec<S, N> operator^(Vec<S, N> a, Vec<S, N> b) { return a.v ^ b.v; }
template <typename S, int N> inline IntVec<S, N> operator<<(Vec<S, N> a, int s) { return a.v << s; }
template <typename S, int N> inline IntVec<S, N> operator>>(Vec<S, N> a, int s) { return a.v >> s; }
template <typename S, int N> inline IntVec<S, N> operator<(Vec<S, N> a, Vec<S, N> b) { return a.v < b.v; }
template <typename S, int N> inline IntVec<S, N> operator>(Vec<S, N> a, Vec<S, N> b) { return a.v > b.v; }
template <typename S, int N> inline IntVec<S, N> operator<=(Vec<S, N> a, Vec<S, N> b) { return a.v <= b.v; }
template <typename S, int N> inline IntVec<S, N> operator>=(Vec<S, N> a, Vec<S, N> b) { return a.v >= b.v; }
template <typename S, int N> inline IntVec<S, N> operator==(Vec<S, N> a, Vec<S, N> b) { return a.v == b.v; }

// Lane-wise conversion (widening or narrowing, C semantics), e.g. uint8 pixels -> int32.
template <typename To, typename S, int N>
inline Vec<To, N> convert_lanes(Vec<S, N> a) {
  return Vec<To, N>(__builtin_convertvector(a.v, typename RawVec<To, N>::type));
}

// uint8 / int16 <-> int32 lanes of one native register, from and to memory. GCC scalarises the
// generic __builtin_convertvector between these widths, so x86 levels use the widening /
// narrowing instructions; the narrowing stores saturate (callers store values that fit).
template <int N>
inline Vec<int32_t, N> load_u8_as_i32(const uint8_t* p) {
  using R [[maybe_unused]] = typename RawVec<int32_t, N>::type;  // unused where no intrinsic applies (aarch64)
#if defined(__AVX512F__)
  if constexpr (N == 16)
    return Vec<int32_t, N>((R)_mm512_maskz_cvtepu8_epi32(0xFFFF, _mm_loadu_si128((const __m128i*)p)));
#endif
#if defined(__AVX2__)
  if constexpr (N == 8) return Vec<int32_t, N>((R)_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*)p)));
#endif
#if defined(__SSE2__)
  if constexpr (N == 4) {
    int32_t word;
    std::memcpy(&word, p, 4);
    const __m128i z = _mm_setzero_si128();
    return Vec<int32_t, N>((R)_mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(word), z), z));
  }
#endif
  return convert_lanes<int32_t>(Vec<uint8_t, N>::load(p));
}

template <int N>
inline Vec<int32_t, N> load_i16_as_i32(const int16_t* p) {
  using R [[maybe_unused]] = typename RawVec<int32_t, N>::type;  // unused where no intrinsic applies (aarch64)
#if defined(__AVX512F__)
  if constexpr (N == 16)
    return Vec<int32_t, N>((R)_mm512_maskz_cvtepi16_epi32(0xFFFF, _mm256_loadu_si256((const __m256i*)p)));
#endif
#if defined(__AVX2__)
  if constexpr (N == 8) return Vec<int32_t, N>((R)_mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i*)p)));
#endif
#if defined(__SSE2__)
  if constexpr (N == 4) {
    const __m128i v = _mm_loadl_epi64((const __m128i*)p);
    return Vec<int32_t, N>((R)_mm_srai_epi32(_mm_unpacklo_epi16(v, v), 16));
  }
#endif
  return convert_lanes<int32_t>(Vec<int16_t, N>::load(p));
}

template <int N>
inline void store_i32_as_i16(Vec<int32_t, N> a, int16_t* p) {
#if defined(__AVX512F__)
  if constexpr (N == 16) return _mm256_storeu_si256((__m256i*)p, _mm512_maskz_cvtsepi32_epi16(0xFFFF, (__m512i)a.v));
#endif
#if defined(__AVX2__)
  if constexpr (N == 8) {
    const __m256i v = (__m256i)a.v;
    return _mm_storeu_si128((__m128i*)p, _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)));
  }
#endif
#if defined(__SSE2__)
  if constexpr (N == 4) return _mm_storel_epi64((__m128i*)p, _mm_packs_epi32((__m128i)a.v, (__m128i)a.v));
#endif
  convert_lanes<int16_t>(a).store(p);
}

template <int N>
inline void store_i32_as_u8(Vec<int32_t, N> a, uint8_t* p) {
#if defined(__AVX512F__)
  if constexpr (N == 16) return _mm_storeu_si128((__m128i*)p, _mm512_maskz_cvtusepi32_epi8(0xFFFF, (__m512i)a.v));
#endif
#if defined(__AVX2__)
  if constexpr (N == 8) {
    const __m256i v = (__m256i)a.v;
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    return _mm_storel_epi64((__m128i*)p, _mm_packus_epi16(w, w));
  }
#endif
#if defined(__SSE2__)
  if constexpr (N == 4) {
    const __m128i w = _mm_packs_epi32((__m128i)a.v, (__m128i)a.v);
    const int32_t word = _mm_cvtsi128_si32(_mm_packus_epi16(w, w));
    return (void)std::memcpy(p, &word, 4);
  }
#endif
  convert_lanes<uint8_t>(a).store(p);
}

// Lane masks as bit words (bit i = lane i), one register at a time: GCC lowers a comparison or a
// ?: on a vector wider than the registers one lane at a time, and gathers a mask's bits lane by
// lane even within one register, so these use the movemask / mask-register instructions.
namespace lane_bits_detail {
template <typename S> using Reg = typename RawVec<S, lanes_of<S>()>::type;

inline unsigned positive(Reg<float> r) {
#if defined(__AVX512F__)
  return _mm512_cmp_ps_mask((__m512)r, _mm512_setzero_ps(), _CMP_GT_OQ);
#elif defined(__AVX2__)
  return static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps((__m256)r, _mm256_setzero_ps(), _CMP_GT_OQ)));
#elif defined(__SSE2__)
  return static_cast<unsigned>(_mm_movemask_ps(_mm_cmpgt_ps((__m128)r, _mm_setzero_ps())));
#else
  unsigned bits = 0;
  for (int i = 0; i < lanes_of<float>(); ++i) bits |= static_cast<unsigned>(r[i] > 0.f) << i;
  return bits;
#endif
}
inline unsigned positive(Reg<double> r) {
#if defined(__AVX512F__)
  return _mm512_cmp_pd_mask((__m512d)r, _mm512_setzero_pd(), _CMP_GT_OQ);
#elif defined(__AVX2__)
  return static_cast<unsigned>(_mm256_movemask_pd(_mm256_cmp_pd((__m256d)r, _mm256_setzero_pd(), _CMP_GT_OQ)));
#elif defined(__SSE2__)
  return static_cast<unsigned>(_mm_movemask_pd(_mm_cmpgt_pd((__m128d)r, _mm_setzero_pd())));
#else
  unsigned bits = 0;
  for (int i = 0; i < lanes_of<double>(); ++i) bits |= static_cast<unsigned>(r[i] > 0.0) << i;
  return bits;
#endif
}

inline Reg<float> keep(unsigned bits, Reg<float> r) {
#if defined(__AVX512F__)
  return (Reg<float>)_mm512_maskz_mov_ps(static_cast<__mmask16>(bits), (__m512)r);
#elif defined(__AVX2__)
  const __m256i pow2 = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  const __m256i m = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(static_cast<int>(bits)), pow2), pow2);
  return (Reg<float>)_mm256_and_ps((__m256)r, _mm256_castsi256_ps(m));
#elif defined(__SSE2__)
  const __m128i pow2 = _mm_setr_epi32(1, 2, 4, 8);
  const __m128i m = _mm_cmpeq_epi32(_mm_and_si128(_mm_set1_epi32(static_cast<int>(bits)), pow2), pow2);
  return (Reg<float>)_mm_and_ps((__m128)r, _mm_castsi128_ps(m));
#else
  for (int i = 0; i < lanes_of<float>(); ++i)
    if (!(bits >> i & 1u)) r[i] = 0.f;
  return r;
#endif
}
inline Reg<double> keep(unsigned bits, Reg<double> r) {
#if defined(__AVX512F__)
  return (Reg<double>)_mm512_maskz_mov_pd(static_cast<__mmask8>(bits), (__m512d)r);
#elif defined(__AVX2__)
  const __m256i pow2 = _mm256_setr_epi64x(1, 2, 4, 8);
  const __m256i m = _mm256_cmpeq_epi64(_mm256_and_si256(_mm256_set1_epi64x(bits), pow2), pow2);
  return (Reg<double>)_mm256_and_pd((__m256d)r, _mm256_castsi256_pd(m));
#elif defined(__SSE2__)
  const __m128i m = _mm_set_epi64x(-static_cast<int64_t>(bits >> 1 & 1u), -static_cast<int64_t>(bits & 1u));
  return (Reg<double>)_mm_and_pd((__m128d)r, _mm_castsi128_pd(m));
#else
  for (int i = 0; i < lanes_of<double>(); ++i)
    if (!(bits >> i & 1u)) r[i] = 0.0;
  return r;
#endif
}
}  // namespace lane_bits_detail

// a * b + c, fused (one rounding) where the level has FMA, two roundings where it does not: the
// one place a kernel opts into results that differ between levels in the last bit. Everything
// else compiles with -ffp-contract=off, so the same source gives the same bits at every level.
inline float mul_add(float a, float b, float c) {
  if constexpr (kHasFma) return __builtin_fmaf(a, b, c);
  return a * b + c;
}
template <int N>
inline Vec<float, N> mul_add(Vec<float, N> a, Vec<float, N> b, Vec<float, N> c) {
#if defined(__AVX512F__)
  if constexpr (N == 16) return Vec<float, N>(_mm512_fmadd_ps(a.v, b.v, c.v));
#endif
#if defined(__FMA__)
  if constexpr (N == 8) return Vec<float, N>(_mm256_fmadd_ps(a.v, b.v, c.v));
  if constexpr (N == 4) return Vec<float, N>(_mm_fmadd_ps(a.v, b.v, c.v));
#endif
#if defined(__aarch64__)
  if constexpr (N == 4) return Vec<float, N>(__builtin_aarch64_fmav4sf(a.v, b.v, c.v));
#endif
  return a * b + c;  // no hardware FMA at this width
}

// The same interface for one scalar, so a kernel written once handles the tail of a row.
template <typename S> inline S load_lanes(const S* p, S) { return *p; }
template <typename S, int N> inline Vec<S, N> load_lanes(const S* p, Vec<S, N>) { return Vec<S, N>::load(p); }
template <typename S> inline void store_lanes(S v, S* p) { *p = v; }
template <typename S, int N> inline void store_lanes(Vec<S, N> v, S* p) { v.store(p); }

}  // namespace vision_ext::cpu::VE_CPU_NS
