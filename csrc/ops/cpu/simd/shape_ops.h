// Lane searches of the shape kernels (shape_simd.cpp): where a row of int32 region ids stops
// being one value. One mask test per register on x86 (AVX-512 compare masks, AVX2 / SSE2 movemask);
// a scalar loop elsewhere (aarch64), which GCC vectorises well enough for the same answer.
#pragma once
#include <cstdint>

#include "isa.h"
#include "vec.h"

namespace vision_ext::cpu::VE_CPU_NS {

// Index of the first i in [0, n) with p[i] != v, or n.
inline int first_not_equal(const int32_t* p, int n, int32_t v) {
  int i = 0;
#if defined(__AVX512F__)
  const __m512i b = _mm512_set1_epi32(v);
  for (; i + 16 <= n; i += 16) {
    const __mmask16 m = _mm512_cmpneq_epi32_mask(_mm512_loadu_si512(p + i), b);
    if (m) return i + __builtin_ctz(static_cast<unsigned>(m));
  }
#elif defined(__AVX2__)
  const __m256i b = _mm256_set1_epi32(v);
  for (; i + 8 <= n; i += 8) {
    const __m256i eq = _mm256_cmpeq_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)), b);
    const unsigned m = ~static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(eq))) & 0xffu;
    if (m) return i + __builtin_ctz(m);
  }
#elif defined(__SSE2__)
  const __m128i b = _mm_set1_epi32(v);
  for (; i + 4 <= n; i += 4) {
    const __m128i eq = _mm_cmpeq_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)), b);
    const unsigned m = ~static_cast<unsigned>(_mm_movemask_ps(_mm_castsi128_ps(eq))) & 0xfu;
    if (m) return i + __builtin_ctz(m);
  }
#endif
  for (; i < n; ++i)
    if (p[i] != v) return i;
  return n;
}

}  // namespace vision_ext::cpu::VE_CPU_NS
