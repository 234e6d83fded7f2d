// FAST 9_16 segment test and score for 64 pixels of a row at a time with AVX-512BW.
// The portable path (keypoints_cpu.h) is used when the build host lacks AVX-512BW.
//
// Saturating byte differences make the test exact in 8 bits: with up = p -sat v and
// dn = v -sat p, "9 contiguous points all brighter than v+t" is "min of up over the arc > t".
// The best arc value over both classes, m, is then the corner test (m > t) and OpenCV's score
// (m - 1): for a corner m >= t+1 >= 1, where saturating at 0 changes nothing.
#pragma once
#if defined(__AVX512BW__)
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "vision_ext/fast.h"

#define VE_FAST16_SIMD 1

namespace vision_ext {
namespace corners {

// max over the 16 cyclic arcs of 9 points of min over the arc, per byte lane.
__attribute__((always_inline)) inline __m512i fast16_best_arc(const __m512i* d) {
  __m512i m2[16], m4[16], m8[16];  // minima of windows of 2, 4 and 8 points starting at i
  for (int i = 0; i < 16; ++i) m2[i] = _mm512_min_epu8(d[i], d[(i + 1) & 15]);
  for (int i = 0; i < 16; ++i) m4[i] = _mm512_min_epu8(m2[i], m2[(i + 2) & 15]);
  for (int i = 0; i < 16; ++i) m8[i] = _mm512_min_epu8(m4[i], m4[(i + 4) & 15]);
  __m512i best = _mm512_min_epu8(m8[0], d[8]);
  for (int i = 1; i < 16; ++i) best = _mm512_max_epu8(best, _mm512_min_epu8(m8[i], d[(i + 8) & 15]));
  return best;
}

// Lanes [x, x+64) of the row whose circle point k starts at pt[k]; `lanes` masks the pixels
// that are tested (masked loads keep a short last block inside the image). Returns the corner
// lanes and, for them, the score in `score` (8-bit lanes).
template <bool kMasked>
inline uint64_t fast16_block(const uint8_t* const* pt, const uint8_t* centre, std::ptrdiff_t x, __mmask64 lanes,
                             __m512i tv, __m512i* score) {
  auto load = [&](const uint8_t* p) {
    return kMasked ? _mm512_maskz_loadu_epi8(lanes, p + x) : _mm512_loadu_si512(p + x);
  };
  const __m512i v = load(centre);
  const __m512i hi = _mm512_adds_epu8(v, tv), lo = _mm512_subs_epu8(v, tv);
  // Any 9-arc holds two neighbouring compass points (0, 4, 8, 12): reject the rest cheaply.
  // "Both of a pair brighter" is "the pair's min brighter", so one compare per class.
  const __m512i c0 = load(pt[0]), c1 = load(pt[4]), c2 = load(pt[8]), c3 = load(pt[12]);
  const __m512i bright = _mm512_max_epu8(_mm512_max_epu8(_mm512_min_epu8(c0, c1), _mm512_min_epu8(c1, c2)),
                                         _mm512_max_epu8(_mm512_min_epu8(c2, c3), _mm512_min_epu8(c3, c0)));
  const __m512i dark = _mm512_min_epu8(_mm512_min_epu8(_mm512_max_epu8(c0, c1), _mm512_max_epu8(c1, c2)),
                                       _mm512_min_epu8(_mm512_max_epu8(c2, c3), _mm512_max_epu8(c3, c0)));
  const uint64_t pass = _mm512_mask_cmpgt_epu8_mask(lanes, bright, hi) | _mm512_mask_cmplt_epu8_mask(lanes, dark, lo);
  if (pass == 0) return 0;
  __m512i up[16], dn[16];
  for (int k = 0; k < 16; ++k) {
    const __m512i p = load(pt[k]);
    up[k] = _mm512_subs_epu8(p, v);
    dn[k] = _mm512_subs_epu8(v, p);
  }
  const __m512i m = _mm512_max_epu8(fast16_best_arc(up), fast16_best_arc(dn));
  *score = _mm512_sub_epi8(m, _mm512_set1_epi8(1));
  return _mm512_cmpgt_epu8_mask(m, tv) & pass;
}

// Corners of row r (tested columns [3, w-3)) appended to cols in raster order; with `scores`
// their scores are written to score[x] (other entries untouched). offs: fast_circle_offsets<16>.
inline void fast16_detect_row_simd(const uint8_t* r, const long long* offs, int w, int t, bool scores,
                                   uint8_t* score, std::vector<int>& cols) {
  const uint8_t* pt[16];
  for (int k = 0; k < 16; ++k) pt[k] = r + offs[k];
  const __m512i tv = _mm512_set1_epi8(static_cast<char>(t));
  const std::ptrdiff_t end = w - kFastBorder;
  auto emit = [&](std::ptrdiff_t x, uint64_t m, __m512i s) {
    if (scores) _mm512_mask_storeu_epi8(score + x, m, s);
    for (; m; m &= m - 1) cols.push_back(static_cast<int>(x + __builtin_ctzll(m)));
  };
  std::ptrdiff_t x = kFastBorder;
  __m512i s;
  // Row y+4 is the one the next row brings in from memory: fetch it while this row works
  // (a prefetch past the last row is a no-op hint, never a fault).
  const uint8_t* ahead = pt[0] + (pt[0] - r) / 3;
  for (; x + 64 <= end; x += 64) {
    _mm_prefetch(reinterpret_cast<const char*>(ahead + x), _MM_HINT_T0);
    if (const uint64_t m = fast16_block<false>(pt, r, x, ~__mmask64(0), tv, &s)) emit(x, m, s);
  }
  if (x < end) {
    const __mmask64 lanes = (uint64_t(1) << (end - x)) - 1;  // end - x < 64
    if (const uint64_t m = fast16_block<true>(pt, r, x, lanes, tv, &s)) emit(x, m, s);
  }
}

}  // namespace corners
}  // namespace vision_ext
#endif  // __AVX512BW__
