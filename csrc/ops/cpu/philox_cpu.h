// CPU generator of the Philox(seed, offset) normal stream (vision_ext/philox.h): 128 normals
// (32 Philox blocks) per AVX-512 iteration, the scalar header code for heads and tails. The
// vector path performs exactly the header's IEEE operations in the same order (integer Philox
// rounds, the same fmas, correctly rounded div/sqrt), so every number is bit-identical to
// philox_normal_at on the CPU and on CUDA. Torch-free.
#pragma once
#include <stdint.h>
#if defined(__AVX512F__) && defined(__AVX512DQ__)
#include <immintrin.h>
#define VE_PHILOX_AVX512 1
#endif

#include "vision_ext/philox.h"

namespace vision_ext {
namespace philox_cpu {

#if defined(VE_PHILOX_AVX512)
// GCC 12's unmasked AVX-512 intrinsics read an "undefined" register and warn about it (GCC PR 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
// philox_uniform on 16 words.
inline __m512 uniform16(__m512i bits) {
  return _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(bits, 9)), _mm512_set1_ps(1.1920928955078125e-07f),
                         _mm512_set1_ps(5.9604644775390625e-08f));
}

// -2 * philox_log(x) on 16 lanes. Bit-identical rewrites of the scalar steps: halving m is an exponent
// decrement, and the final * -2 (exact: a power of two) is folded into the last fma as -4s and -2 ln 2.
inline __m512 minus2_log16(__m512 x) {
  const __m512i b = _mm512_castps_si512(x);
  __m512i e = _mm512_sub_epi32(_mm512_and_si512(_mm512_srli_epi32(b, 23), _mm512_set1_epi32(0xff)),
                               _mm512_set1_epi32(127));
  __m512i mb = _mm512_or_si512(_mm512_and_si512(b, _mm512_set1_epi32(0x7fffff)), _mm512_set1_epi32(0x3f800000));
  const __mmask16 big = _mm512_cmp_ps_mask(_mm512_castsi512_ps(mb), _mm512_set1_ps(1.41421356f), _CMP_GT_OQ);
  mb = _mm512_mask_sub_epi32(mb, big, mb, _mm512_set1_epi32(0x00800000));
  e = _mm512_mask_add_epi32(e, big, e, _mm512_set1_epi32(1));
  const __m512 m = _mm512_castsi512_ps(mb), one = _mm512_set1_ps(1.f);
  const __m512 s = _mm512_div_ps(_mm512_sub_ps(m, one), _mm512_add_ps(m, one));
  const __m512 s2 = _mm512_mul_ps(s, s);
  __m512 p = _mm512_fmadd_ps(s2, _mm512_set1_ps(0.11111111f), _mm512_set1_ps(0.14285715f));
  p = _mm512_fmadd_ps(s2, p, _mm512_set1_ps(0.2f));
  p = _mm512_fmadd_ps(s2, p, _mm512_set1_ps(0.33333334f));
  p = _mm512_fmadd_ps(s2, p, one);
  const __m512 m4s = _mm512_mul_ps(_mm512_set1_ps(-4.f), s);  // -2 * (2s), exact
  return _mm512_fmadd_ps(_mm512_cvtepi32_ps(e), _mm512_set1_ps(-2.f * 0.693147180559945f), _mm512_mul_ps(m4s, p));
}

// philox_sincos_2pi on 16 lanes; the quadrant rotation is a blend and a sign flip.
inline void sincos_2pi16(__m512 u, __m512* sn, __m512* cs) {
  const __m512 v = _mm512_mul_ps(_mm512_set1_ps(4.f), u);
  const __m512 q = _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(v, q);
  const __m512 f2 = _mm512_mul_ps(f, f);
  __m512 s = _mm512_fmadd_ps(f2, _mm512_set1_ps(1.6044118e-04f), _mm512_set1_ps(-4.6817541e-03f));
  s = _mm512_fmadd_ps(f2, s, _mm512_set1_ps(7.9692625e-02f));
  s = _mm512_fmadd_ps(f2, s, _mm512_set1_ps(-6.4596410e-01f));
  s = _mm512_fmadd_ps(f2, s, _mm512_set1_ps(1.5707964f));
  s = _mm512_mul_ps(s, f);
  __m512 c = _mm512_fmadd_ps(f2, _mm512_set1_ps(-2.5202042e-05f), _mm512_set1_ps(9.1926026e-04f));
  c = _mm512_fmadd_ps(f2, c, _mm512_set1_ps(-2.0863481e-02f));
  c = _mm512_fmadd_ps(f2, c, _mm512_set1_ps(2.5366950e-01f));
  c = _mm512_fmadd_ps(f2, c, _mm512_set1_ps(-1.2337005f));
  c = _mm512_fmadd_ps(f2, c, _mm512_set1_ps(1.f));
  const __m512i k = _mm512_cvttps_epi32(q);
  const __mmask16 odd = _mm512_test_epi32_mask(k, _mm512_set1_epi32(1));
  const __m512i sign = _mm512_set1_epi32(static_cast<int>(0x80000000u));
  // sin: s, c, -s, -c for k & 3 = 0..3 (sign from bit 1 of k); cos: c, -s, -c, s (bit 1 of k + 1)
  const __m512i sin_sign = _mm512_and_si512(_mm512_slli_epi32(k, 30), sign);
  const __m512i cos_sign = _mm512_and_si512(_mm512_slli_epi32(_mm512_add_epi32(k, _mm512_set1_epi32(1)), 30), sign);
  *sn = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(_mm512_mask_blend_ps(odd, s, c)), sin_sign));
  *cs = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(_mm512_mask_blend_ps(odd, c, s)), cos_sign));
}

// Philox rounds on N x 8 blocks held one 32-bit word per 64-bit lane: vpmuludq reads only the low
// halves, and the high halves' junk never reaches a low half, so the low halves are philox4x32_10's
// words. The N independent chains are interleaved to hide the multiply latency.
template <int N>
inline void rounds(__m512i* x0, __m512i* x1, __m512i* x2, __m512i* x3, const uint32_t* k0, const uint32_t* k1) {
  const __m512i m0 = _mm512_set1_epi64(kPhiloxM0), m1 = _mm512_set1_epi64(kPhiloxM1);
#pragma GCC unroll 10
  for (int round = 0; round < 10; ++round) {
    const __m512i kk0 = _mm512_set1_epi64(k0[round]), kk1 = _mm512_set1_epi64(k1[round]);
#pragma GCC unroll 8
    for (int j = 0; j < N; ++j) {
      const __m512i p0 = _mm512_mul_epu32(x0[j], m0), p1 = _mm512_mul_epu32(x2[j], m1);
      x0[j] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1, 32), x1[j], kk0, 0x96);
      x1[j] = p1;
      x2[j] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), x3[j], kk1, 0x96);
      x3[j] = p0;
    }
  }
}

// Box-Muller on 16 blocks' words (lane l = block l) -> their 64 normals in flat order at out.
inline void box_muller16(__m512i w0, __m512i w1, __m512i w2, __m512i w3, float* out) {
  const __m512 r0 = _mm512_sqrt_ps(minus2_log16(uniform16(w0)));
  const __m512 r1 = _mm512_sqrt_ps(minus2_log16(uniform16(w2)));
  __m512 s0, c0, s1, c1;
  sincos_2pi16(uniform16(w1), &s0, &c0);
  sincos_2pi16(uniform16(w3), &s1, &c1);
  // Lane-wise (A, B, C, D) = the 4 normals of each block; transpose to block-major order.
  const __m512 A = _mm512_mul_ps(r0, c0), B = _mm512_mul_ps(r0, s0);
  const __m512 C = _mm512_mul_ps(r1, c1), D = _mm512_mul_ps(r1, s1);
  const __m512 t0 = _mm512_unpacklo_ps(A, B), t1 = _mm512_unpackhi_ps(A, B);
  const __m512 t2 = _mm512_unpacklo_ps(C, D), t3 = _mm512_unpackhi_ps(C, D);
  // q0: blocks 0,4,8,12 (one per 128-bit lane), q1: 1,5,9,13, q2: 2,6,10,14, q3: 3,7,11,15
  const __m512 q0 = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t2)));
  const __m512 q1 = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t2)));
  const __m512 q2 = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t1), _mm512_castps_pd(t3)));
  const __m512 q3 = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t1), _mm512_castps_pd(t3)));
  const __m512 u0 = _mm512_shuffle_f32x4(q0, q1, 0x44), u1 = _mm512_shuffle_f32x4(q2, q3, 0x44);  // 0,4,1,5 | 2,6,3,7
  const __m512 u2 = _mm512_shuffle_f32x4(q0, q1, 0xEE), u3 = _mm512_shuffle_f32x4(q2, q3, 0xEE);  // 8,12,.. | 10,14,..
  _mm512_storeu_ps(out, _mm512_shuffle_f32x4(u0, u1, 0x88));
  _mm512_storeu_ps(out + 16, _mm512_shuffle_f32x4(u0, u1, 0xDD));
  _mm512_storeu_ps(out + 32, _mm512_shuffle_f32x4(u2, u3, 0x88));
  _mm512_storeu_ps(out + 48, _mm512_shuffle_f32x4(u2, u3, 0xDD));
}

constexpr int kSimdBlocks = 32;  // Philox blocks per vector iteration (128 normals)

// The 128 normals of Philox blocks g .. g + 31 into out (flat order: block-major, 4 per block).
inline void normals128(const uint32_t* k0, const uint32_t* k1, uint64_t offset, uint64_t g, float* out) {
  constexpr int N = kSimdBlocks / 8;
  const __m512i o0 = _mm512_set1_epi64(static_cast<uint32_t>(offset));
  const __m512i o1 = _mm512_set1_epi64(static_cast<uint32_t>(offset >> 32));
  __m512i x0[N], x1[N], x2[N], x3[N];
  __m512i ctr = _mm512_add_epi64(_mm512_set1_epi64(static_cast<int64_t>(g)), _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
#pragma GCC unroll 8
  for (int j = 0; j < N; ++j) {
    x0[j] = ctr;  // the counter's low word; the high half is ignored by vpmuludq
    x1[j] = _mm512_srli_epi64(ctr, 32);
    x2[j] = o0;
    x3[j] = o1;
    ctr = _mm512_add_epi64(ctr, _mm512_set1_epi64(8));
  }
  rounds<N>(x0, x1, x2, x3, k0, k1);
  // Low halves of two 8-lane vectors -> one 16-lane word vector (lane l = block l).
  const __m512i evens = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
#pragma GCC unroll 4
  for (int j = 0; j < N; j += 2)
    box_muller16(_mm512_permutex2var_epi32(x0[j], evens, x0[j + 1]), _mm512_permutex2var_epi32(x1[j], evens, x1[j + 1]),
                 _mm512_permutex2var_epi32(x2[j], evens, x2[j + 1]), _mm512_permutex2var_epi32(x3[j], evens, x3[j + 1]),
                 out + 32 * j);
}
#pragma GCC diagnostic pop
#endif

// Normals of flat indices [first, first + n) of the stream into out[0, n).
inline void normals(uint64_t seed, uint64_t offset, uint64_t first, int64_t n, float* out) {
  uint64_t i = first;
  const uint64_t end = first + static_cast<uint64_t>(n);
  if ((i & 3) && i < end) {  // head: the rest of a block
    const Normal4 z = philox_normal4(seed, offset, i >> 2);
    for (uint64_t k = i & 3; k < 4 && i < end; ++k, ++i) *out++ = z.v[k];
  }
#if defined(VE_PHILOX_AVX512)
  constexpr uint64_t kStep = 4 * kSimdBlocks;
  if (i + kStep <= end) {
    uint32_t k0[10], k1[10];
    k0[0] = static_cast<uint32_t>(seed);
    k1[0] = static_cast<uint32_t>(seed >> 32);
    for (int r = 1; r < 10; ++r) {
      k0[r] = k0[r - 1] + kPhiloxW0;
      k1[r] = k1[r - 1] + kPhiloxW1;
    }
    for (; i + kStep <= end; i += kStep, out += kStep) normals128(k0, k1, offset, i >> 2, out);
  }
#endif
  for (; i < end; i += 4) {  // whole blocks, then a partial last one
    const Normal4 z = philox_normal4(seed, offset, i >> 2);
    const uint64_t m = end - i < 4 ? end - i : 4;
    for (uint64_t k = 0; k < m; ++k) *out++ = z.v[k];
  }
}

}  // namespace philox_cpu
}  // namespace vision_ext
