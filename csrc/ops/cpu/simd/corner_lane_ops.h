// Byte-lane helpers of the FAST kernel (corners_simd.cpp) at the level being compiled: the
// saturating differences written with min/max (one instruction each at every x86 level and on
// NEON), lane masks, and the one operation generic vectors cannot express, movemask.
#pragma once
#include <cstdint>

#include "isa.h"
#include "vec.h"

#if defined(__AVX2__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace vision_ext::cpu::VE_CPU_NS {

using U8Vec = NativeVec<uint8_t>;

// p -sat v and v +sat t (t the threshold, tmax = 255 - t broadcast).
inline U8Vec subs_u8(U8Vec p, U8Vec v) { return vmax(p, v) - v; }
inline U8Vec adds_u8(U8Vec v, U8Vec t, U8Vec tmax) { return vmin(v, tmax) + t; }

// 0xFF where a > b (unsigned), else 0.
inline U8Vec gt_u8(U8Vec a, U8Vec b) { return U8Vec(reinterpret_cast<U8Vec::raw>(a.v > b.v)); }

// Lane masks combined (0xFF / 0 lanes).
inline U8Vec both(U8Vec a, U8Vec b) { return U8Vec(a.v & b.v); }
inline U8Vec either(U8Vec a, U8Vec b) { return U8Vec(a.v | b.v); }

// Bit i set where lane i has its top bit set (masks from gt_u8 and their & / |).
inline uint64_t lane_bits(U8Vec m) {
#if defined(__AVX512F__) && defined(__AVX512BW__)  // the levels of isa.h: 64, 32, 16 lanes
  return _mm512_movepi8_mask(reinterpret_cast<__m512i>(m.v));
#elif defined(__AVX2__) && defined(__FMA__)
  return static_cast<uint32_t>(_mm256_movemask_epi8(reinterpret_cast<__m256i>(m.v)));
#elif defined(__SSE2__)
  return static_cast<uint32_t>(_mm_movemask_epi8(reinterpret_cast<__m128i>(m.v)));
#else  // other architectures (aarch64): the compiler's own lowering
  uint64_t bits = 0;
  for (int i = 0; i < U8Vec::kLanes; ++i) bits |= static_cast<uint64_t>(m.v[i] >> 7) << i;
  return bits;
#endif
}

}  // namespace vision_ext::cpu::VE_CPU_NS
