// CPU FAST detection and good-features-to-track selection for one plane (the glue around the
// per-level row kernels of simd/corners_simd.cpp). Both produce a list of (x, y, score) in the
// order the op returns.
#pragma once
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstddef>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "work_sharing.h"
#include "simd/corners_simd.h"
#include "vision_ext/fast.h"
#include "vision_ext/macros.h"

namespace vision_ext {
namespace corners {

using cpu::run_items;  // work_sharing.h

template <typename S>
struct PointList {
  std::vector<int32_t> x, y;
  std::vector<S> score;
  size_t size() const { return x.size(); }
};

// Keypoints of one plane: raster order, then (with nonmax) stably sorted by score, descending.
// Row chunks run in parallel; each keeps three score rows (OpenCV's 3x3 rule needs the rows
// above and below), recomputing one row on each side of the chunk. stride: the plane's row
// stride (w by default; larger for a window of a bigger plane, as ORB's interior is).
template <int N>
void fast_plane(const uint8_t* img, int h, int w, int t, bool nonmax, PointList<float>& out, std::ptrdiff_t stride = 0) {
  if (stride == 0) stride = w;
  if (h < 2 * kFastBorder + 1 || w < 2 * kFastBorder + 1) return;
  const int y_lo = kFastBorder, y_hi = h - kFastBorder;  // tested rows [y_lo, y_hi)
  // Small chunks so that a thread the machine delays leaves little behind (run_items); each
  // chunk recomputes the row above and below it.
  const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
  const int64_t chunk = std::max<int64_t>(32, (y_hi - y_lo + 8 * threads - 1) / (8 * threads));
  const int64_t nchunks = (y_hi - y_lo + chunk - 1) / chunk;
  std::vector<PointList<float>> parts(nchunks);
  const auto& kernels = cpu::corners_kernels();
  // Below ~1M pixels a thread hand-off costs more than it saves.
  run_items(nchunks, static_cast<int64_t>(h) * w >= (int64_t(1) << 20), [&](int64_t c) {
    std::vector<uint8_t> score(3 * static_cast<size_t>(w), 0);
    std::vector<int32_t> cols(3 * static_cast<size_t>(w));
    int count[3] = {0, 0, 0};
    const int r0 = static_cast<int>(y_lo + c * chunk), r1 = static_cast<int>(std::min<int64_t>(y_hi, r0 + chunk));
    PointList<float>& part = parts[c];
    for (int y = r0 - 1; y <= r1; ++y) {
      const int slot = y % 3;
      uint8_t* srow = score.data() + slot * static_cast<size_t>(w);
      int32_t* crow = cols.data() + slot * static_cast<size_t>(w);
      for (int j = 0; j < count[slot]; ++j) srow[crow[j]] = 0;  // only corners hold a score
      count[slot] = 0;
      if (y >= y_lo && y < y_hi)
        count[slot] = kernels.fast_row(N, img + static_cast<std::ptrdiff_t>(y) * stride, stride, w, t, nonmax, srow, crow);
      const int e = y - 1;  // row whose 3x3 neighbourhood is now complete
      if (e < r0 || e >= r1) continue;
      const uint8_t* above = score.data() + ((e + 2) % 3) * static_cast<size_t>(w);
      const uint8_t* mid = score.data() + (e % 3) * static_cast<size_t>(w);
      const uint8_t* below = srow;
      const int32_t* ecols = cols.data() + (e % 3) * static_cast<size_t>(w);
      for (int j = 0; j < count[e % 3]; ++j) {
        const int x = ecols[j];
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

// goodFeaturesToTrack's selection on a response plane, OpenCV's rules: threshold at
// max * quality, 3x3 local maxima off the 1-pixel border, descending order (ties: larger raster
// index first), greedy minimum distance (tests/ops/test_corners_ops.py compares with cv2).
template <typename S>
void gftt_select_plane(const S* resp, const uint8_t* mask, int h, int w, int64_t max_corners, double quality,
                       double min_distance, PointList<S>& out) {
  const long long n = static_cast<long long>(h) * w;
  S maxv = S(0);
  if (!mask && n > 0) {
    if constexpr (sizeof(S) == sizeof(float))
      maxv = cpu::corners_kernels().running_max_f32(resp, n);
    else
      maxv = cpu::corners_kernels().running_max_f64(resp, n);
  } else {
    bool any = false;  // the same scan over the masked-in values
    for (long long i = 0; i < n; ++i) {
      if (mask && !mask[i]) continue;
      if (!any || resp[i] > maxv) maxv = resp[i];
      any = true;
    }
  }
  const S thr = static_cast<S>(static_cast<double>(maxv) * quality);
  auto tz = [&](long long i) { return resp[i] > thr ? resp[i] : S(0); };
  std::vector<std::pair<S, long long>> cand;
  if (thr >= S(0)) {  // the level's vector scan (the test it makes needs thr >= 0)
    std::vector<int32_t> cols(w);
    for (int y = 1; y < h - 1; ++y) {
      const S* row = resp + static_cast<long long>(y) * w;
      int n = 0;
      if constexpr (sizeof(S) == sizeof(float))
        n = cpu::corners_kernels().gftt_row_f32(row, w, thr, cols.data());
      else
        n = cpu::corners_kernels().gftt_row_f64(row, w, thr, cols.data());
      for (int j = 0; j < n; ++j) {
        const long long i = static_cast<long long>(y) * w + cols[j];
        if (!mask || mask[i]) cand.emplace_back(resp[i], i);
      }
    }
  } else {
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
  }
  // Descending value; ties: larger raster index first (OpenCV sorts pointers that way).
  std::sort(cand.begin(), cand.end(), [](const std::pair<S, long long>& a, const std::pair<S, long long>& b) {
    return a.first > b.first || (a.first == b.first && a.second > b.second);
  });
  // Greedy acceptance; a grid of cells of side ceil(min_distance) finds the close points. A
  // distance past the image (up to inf) makes one cell: every later corner conflicts.
  const bool check = min_distance >= 1.0;
  const int cell = !check ? 1 : min_distance >= std::max(w, h) ? std::max(1, std::max(w, h))
                                                                : static_cast<int>(std::ceil(min_distance));
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
