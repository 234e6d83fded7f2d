// CPU FAST detection and good-features-to-track selection for one plane.
// Both produce a list of (x, y, score) in the order the op returns.
#pragma once
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstddef>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "corners_fast_simd.h"
#include "corners_parallel.h"
#include "vision_ext/fast.h"
#include "vision_ext/macros.h"

namespace vision_ext {
namespace corners {

template <typename S>
struct PointList {
  std::vector<int32_t> x, y;
  std::vector<S> score;
  size_t size() const { return x.size(); }
};

// Necessary test for the 9-of-16 arc, vectorised over a row: any 9 contiguous circle points
// contain 4 cyclically consecutive even points (0, 2, ..., 14), so those 8 points must hold
// a run of 4 brighter (or 4 darker) ones. Kept out of line so the restrict promises survive.
__attribute__((noinline)) inline bool fast16_prefilter_row(const uint8_t* VE_RESTRICT r, long long stride, int w,
                                                            int t, uint8_t* VE_RESTRICT flag) {
  const uint8_t* VE_RESTRICT up3 = r - 3 * stride;
  const uint8_t* VE_RESTRICT up2 = r - 2 * stride;
  const uint8_t* VE_RESTRICT dn2 = r + 2 * stride;
  const uint8_t* VE_RESTRICT dn3 = r + 3 * stride;
  const uint8_t tt = static_cast<uint8_t>(t);
  bool found = false;  // any flag set in this row
  std::ptrdiff_t x = kFastBorder;
#if defined(__GNUC__)
  // 64 pixels at a time with GCC/Clang vector extensions (no intrinsics; lowered to the host
  // ISA). A cheap compass test (points 0, 4, 8, 12; implied by the 8-point test) skips most blocks.
  typedef uint8_t u8x64 __attribute__((vector_size(64)));
  auto load = [](const uint8_t* p) {
    u8x64 v;
    std::memcpy(&v, p, sizeof(v));
    return v;
  };
  for (; x + 64 <= w - kFastBorder; x += 64) {
    const u8x64 v = load(r + x);
    u8x64 hi = v + tt;
    hi |= (u8x64)(hi < v);  // saturate at 255
    u8x64 lo = v - tt;
    lo &= ~(u8x64)(lo > v);  // saturate at 0
    u8x64 e[8];
    e[0] = load(dn3 + x);
    e[2] = load(r + x + 3);
    e[4] = load(up3 + x);
    e[6] = load(r + x - 3);
    u8x64 compass = {};
    for (int i = 0; i < 8; i += 2) {
      const int j = (i + 2) % 8;
      compass |= ((u8x64)(e[i] > hi) & (u8x64)(e[j] > hi)) | ((u8x64)(e[i] < lo) & (u8x64)(e[j] < lo));
    }
    uint64_t lanes[8];
    std::memcpy(lanes, &compass, sizeof(lanes));
    if ((lanes[0] | lanes[1] | lanes[2] | lanes[3] | lanes[4] | lanes[5] | lanes[6] | lanes[7]) == 0) {
      std::memcpy(flag + x, &compass, sizeof(compass));
      continue;
    }
    found = true;
    e[1] = load(dn2 + x + 2);
    e[3] = load(up2 + x + 2);
    e[5] = load(up2 + x - 2);
    e[7] = load(dn2 + x - 2);
    u8x64 b[8], d[8];
    for (int i = 0; i < 8; ++i) {
      b[i] = (u8x64)(e[i] > hi);
      d[i] = (u8x64)(e[i] < lo);
    }
    u8x64 pb[8], pd[8];
    for (int i = 0; i < 8; ++i) {
      pb[i] = b[i] & b[(i + 1) % 8];
      pd[i] = d[i] & d[(i + 1) % 8];
    }
    u8x64 any = (pb[0] & pb[2]) | (pd[0] & pd[2]);
    for (int i = 1; i < 8; ++i) any |= (pb[i] & pb[(i + 2) % 8]) | (pd[i] & pd[(i + 2) % 8]);
    std::memcpy(flag + x, &any, sizeof(any));
  }
#endif
  for (; x < w - kFastBorder; ++x) {
    const uint8_t v = r[x];
    const uint8_t hi = v > 255 - tt ? uint8_t(255) : uint8_t(v + tt);  // p > hi: brighter (none if 255)
    const uint8_t lo = v < tt ? uint8_t(0) : uint8_t(v - tt);          // p < lo: darker (none if 0)
    // Even circle points 0, 2, ..., 14: (0,3) (2,2) (3,0) (2,-2) (0,-3) (-2,-2) (-3,0) (-2,2).
    const uint8_t e0 = dn3[x], e1 = dn2[x + 2], e2 = r[x + 3], e3 = up2[x + 2];
    const uint8_t e4 = up3[x], e5 = up2[x - 2], e6 = r[x - 3], e7 = dn2[x - 2];
    // 0/1 bytes throughout so the loop stays in 8-bit lanes.
    const uint8_t b0 = e0 > hi, b1 = e1 > hi, b2 = e2 > hi, b3 = e3 > hi;
    const uint8_t b4 = e4 > hi, b5 = e5 > hi, b6 = e6 > hi, b7 = e7 > hi;
    const uint8_t d0 = e0 < lo, d1 = e1 < lo, d2 = e2 < lo, d3 = e3 < lo;
    const uint8_t d4 = e4 < lo, d5 = e5 < lo, d6 = e6 < lo, d7 = e7 < lo;
    // Runs of 4 from pairs: run(i) = pair(i) & pair(i+2), pair(i) = p[i] & p[i+1] (cyclic).
    const uint8_t pb0 = b0 & b1, pb1 = b1 & b2, pb2 = b2 & b3, pb3 = b3 & b4;
    const uint8_t pb4 = b4 & b5, pb5 = b5 & b6, pb6 = b6 & b7, pb7 = b7 & b0;
    const uint8_t pd0 = d0 & d1, pd1 = d1 & d2, pd2 = d2 & d3, pd3 = d3 & d4;
    const uint8_t pd4 = d4 & d5, pd5 = d5 & d6, pd6 = d6 & d7, pd7 = d7 & d0;
    const uint8_t rb = (pb0 & pb2) | (pb1 & pb3) | (pb2 & pb4) | (pb3 & pb5) | (pb4 & pb6) | (pb5 & pb7) |
                       (pb6 & pb0) | (pb7 & pb1);
    const uint8_t rd = (pd0 & pd2) | (pd1 & pd3) | (pd2 & pd4) | (pd3 & pd5) | (pd4 & pd6) | (pd5 & pd7) |
                       (pd6 & pd0) | (pd7 & pd1);
    flag[x] = rb | rd;
    found |= flag[x] != 0;
  }
  return found;
}

// Corners of tested row y: their columns, and (nonmax) their scores in `score` (zeroed, width w).
template <int N>
inline void fast_detect_row(const uint8_t* img, int w, int y, int t, bool nonmax, bool simd, const long long* offs,
                            uint8_t* flag, uint8_t* score, std::vector<int>& cols) {
  const uint8_t* r = img + static_cast<long long>(y) * w;
#if defined(VE_FAST16_SIMD)
  if (N == 16 && simd) return fast16_detect_row_simd(r, offs, w, t, nonmax, score, cols);
#else
  (void)simd;
#endif
  if (N == 16 && !fast16_prefilter_row(r, w, w, t, flag)) return;
  const int end = w - kFastBorder;
  for (std::ptrdiff_t x = kFastBorder; x < end;) {
    if (x + 32 <= end) {  // skip 32 rejected pixels at once
      uint64_t w4[4];
      std::memcpy(w4, flag + x, 32);
      if ((w4[0] | w4[1] | w4[2] | w4[3]) == 0) {
        x += 32;
        continue;
      }
    }
    if (flag[x]) {
      int p[N];
      const uint8_t* c = r + x;
      for (int k = 0; k < N; ++k) p[k] = c[offs[k]];
      const int v = c[0];
      if (fast_is_corner<N>(v, p, t)) {
        cols.push_back(x);
        if (nonmax) score[x] = static_cast<uint8_t>(fast_score<N>(v, p));
      }
    }
    ++x;
  }
}

// VISION_EXT_FAST_PORTABLE=1 forces the portable 9_16 path on AVX-512 hosts (tests run both).
inline bool fast_simd_enabled() {
  const char* e = std::getenv("VISION_EXT_FAST_PORTABLE");
  return !(e && e[0] == '1');
}

// Keypoints of one plane: raster order, then (with nonmax) stably sorted by score, descending.
// Row chunks run in parallel; each keeps three score rows (OpenCV's 3x3 rule needs the rows
// above and below), recomputing one row on each side of the chunk.
template <int N>
void fast_plane(const uint8_t* img, int h, int w, int t, bool nonmax, PointList<float>& out) {
  if (h < 2 * kFastBorder + 1 || w < 2 * kFastBorder + 1) return;
  const int y_lo = kFastBorder, y_hi = h - kFastBorder;  // tested rows [y_lo, y_hi)
  // Small chunks so that a thread the machine delays leaves little behind (run_items); each
  // chunk recomputes the row above and below it.
  const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
  const int64_t chunk = std::max<int64_t>(32, (y_hi - y_lo + 8 * threads - 1) / (8 * threads));
  const int64_t nchunks = (y_hi - y_lo + chunk - 1) / chunk;
  std::vector<PointList<float>> parts(nchunks);
  const bool simd = fast_simd_enabled();
  // Below ~1M pixels a thread hand-off costs more than it saves.
  run_items(nchunks, static_cast<int64_t>(h) * w >= (int64_t(1) << 20), [&](int64_t c) {
    std::vector<uint8_t> flag(w, 1), score(3 * static_cast<size_t>(w), 0);
    long long offs[N];
    fast_circle_offsets<N>(w, offs);
    std::vector<int> cols[3];
    const int r0 = static_cast<int>(y_lo + c * chunk), r1 = static_cast<int>(std::min<int64_t>(y_hi, r0 + chunk));
    PointList<float>& part = parts[c];
    for (int y = r0 - 1; y <= r1; ++y) {
      const int slot = y % 3;
      uint8_t* srow = score.data() + slot * static_cast<size_t>(w);
      for (int x : cols[slot]) srow[x] = 0;  // only corners wrote a score
      cols[slot].clear();
      if (y >= y_lo && y < y_hi) fast_detect_row<N>(img, w, y, t, nonmax, simd, offs, flag.data(), srow, cols[slot]);
      const int e = y - 1;  // row whose 3x3 neighbourhood is now complete
      if (e < r0 || e >= r1) continue;
      const uint8_t* above = score.data() + ((e + 2) % 3) * static_cast<size_t>(w);
      const uint8_t* mid = score.data() + (e % 3) * static_cast<size_t>(w);
      const uint8_t* below = srow;
      for (int x : cols[e % 3]) {
        const int s = mid[x];
        if (nonmax && !(s > mid[x - 1] && s > mid[x + 1] && s > above[x - 1] && s > above[x] && s > above[x + 1] &&
                        s > below[x - 1] && s > below[x] && s > below[x + 1]))
          continue;
        part.x.push_back(x);
        part.y.push_back(e);
        part.score.push_back(nonmax ? static_cast<float>(s) : 0.f);
      }
    }
  });
  for (const auto& part : parts) {
    out.x.insert(out.x.end(), part.x.begin(), part.x.end());
    out.y.insert(out.y.end(), part.y.begin(), part.y.end());
    out.score.insert(out.score.end(), part.score.begin(), part.score.end());
  }
  if (nonmax) {
    // Stable counting sort on the 8-bit score, descending: raster order within a score.
    size_t start[257] = {};
    for (float sc : out.score) ++start[255 - static_cast<int>(sc) + 1];
    for (int i = 0; i < 256; ++i) start[i + 1] += start[i];
    PointList<float> sorted;
    sorted.x.resize(out.size());
    sorted.y.resize(out.size());
    sorted.score.resize(out.size());
    for (size_t i = 0; i < out.size(); ++i) {
      const size_t j = start[255 - static_cast<int>(out.score[i])]++;
      sorted.x[j] = out.x[i];
      sorted.y[j] = out.y[i];
      sorted.score[j] = out.score[i];
    }
    out = std::move(sorted);
  }
}

// goodFeaturesToTrack's selection on a response plane (OpenCV's rules, DESIGN.md section 5).
template <typename S>
void gftt_select_plane(const S* resp, const uint8_t* mask, int h, int w, int64_t max_corners, double quality,
                       double min_distance, PointList<S>& out) {
  bool any = false;
  S maxv = S(0);
  for (long long i = 0; i < static_cast<long long>(h) * w; ++i) {
    if (mask && !mask[i]) continue;
    if (!any || resp[i] > maxv) maxv = resp[i];
    any = true;
  }
  const S thr = static_cast<S>(static_cast<double>(maxv) * quality);
  auto tz = [&](long long i) { return resp[i] > thr ? resp[i] : S(0); };
  std::vector<std::pair<S, long long>> cand;
  for (int y = 1; y < h - 1; ++y)
    for (std::ptrdiff_t x = 1; x < w - 1; ++x) {
      const long long i = static_cast<long long>(y) * w + x;
      const S v = tz(i);
      if (v == S(0) || (mask && !mask[i])) continue;
      bool is_max = true;
      for (int dy = -1; dy <= 1 && is_max; ++dy)
        for (int dx = -1; dx <= 1; ++dx)
          if (tz(i + dy * static_cast<long long>(w) + dx) > v) {
            is_max = false;
            break;
          }
      if (is_max) cand.emplace_back(v, i);
    }
  // Descending value; ties: larger raster index first (OpenCV sorts pointers that way).
  std::sort(cand.begin(), cand.end(), [](const std::pair<S, long long>& a, const std::pair<S, long long>& b) {
    return a.first > b.first || (a.first == b.first && a.second > b.second);
  });
  // Greedy acceptance; a grid of cells of side ceil(min_distance) finds the close points.
  const bool check = min_distance >= 1.0;
  const int cell = check ? static_cast<int>(std::ceil(min_distance)) : 1;
  const int gw = (w + cell - 1) / cell, gh = (h + cell - 1) / cell;
  std::vector<std::vector<int32_t>> grid(check ? static_cast<size_t>(gw) * gh : 0);
  const double md2 = min_distance * min_distance;
  for (const auto& c : cand) {
    const int x = static_cast<int>(c.second % w), y = static_cast<int>(c.second / w);
    bool good = true;
    if (check) {
      const int cx = x / cell, cy = y / cell;
      for (int yy = std::max(0, cy - 1); yy <= std::min(gh - 1, cy + 1) && good; ++yy)
        for (int xx = std::max(0, cx - 1); xx <= std::min(gw - 1, cx + 1) && good; ++xx)
          for (int32_t k : grid[static_cast<size_t>(yy) * gw + xx]) {
            const double dx = x - out.x[k], dy = y - out.y[k];
            if (dx * dx + dy * dy < md2) {
              good = false;
              break;
            }
          }
    }
    if (!good) continue;
    if (check) grid[static_cast<size_t>(y / cell) * gw + x / cell].push_back(static_cast<int32_t>(out.size()));
    out.x.push_back(x);
    out.y.push_back(y);
    out.score.push_back(c.first);
    if (max_corners > 0 && static_cast<int64_t>(out.size()) == max_corners) break;
  }
}

}  // namespace corners
}  // namespace vision_ext
