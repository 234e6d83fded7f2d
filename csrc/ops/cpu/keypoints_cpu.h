// CPU FAST detection and good-features-to-track selection for one plane.
// Both produce a list of (x, y, score) in the order the op returns.
#pragma once
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "vision_ext/fast.h"

namespace vision_ext {
namespace corners {

template <typename S>
struct PointList {
  std::vector<int32_t> x, y;
  std::vector<S> score;
  size_t size() const { return x.size(); }
};

// Cheap necessary test for the 9-of-16 arc: two neighbouring compass points (0, 4, 8,
// 12 of the circle) must both be brighter or both darker. Vectorises over a row.
inline void fast16_prefilter_row(const uint8_t* img, int w, int y, int t, uint8_t* flag) {
  const uint8_t* r = img + static_cast<long long>(y) * w;
  const uint8_t* up = r - 3LL * w;
  const uint8_t* dn = r + 3LL * w;
  for (int x = kFastBorder; x < w - kFastBorder; ++x) {
    const int v = r[x], hi = v + t, lo = v - t;
    const int a = dn[x], b = r[x + 3], c = up[x], d = r[x - 3];
    const int ba = a > hi, bb = b > hi, bc = c > hi, bd = d > hi;
    const int da = a < lo, db = b < lo, dc = c < lo, dd = d < lo;
    flag[x] = static_cast<uint8_t>((ba & bb) | (bb & bc) | (bc & bd) | (bd & ba) | (da & db) | (db & dc) |
                                   (dc & dd) | (dd & da));
  }
}

// Corner flags (1) and, with nonmax, scores of rows [3, h-4] into corner/score (h x w, zeroed).
template <int N>
void fast_detect_plane(const uint8_t* img, int h, int w, int t, bool nonmax, uint8_t* corner, uint8_t* score) {
  if (h < 2 * kFastBorder + 1 || w < 2 * kFastBorder + 1) return;
  at::parallel_for(kFastBorder, h - kFastBorder, 16, [&](int64_t y0, int64_t y1) {
    std::vector<uint8_t> flag(w, 1);
    for (int y = static_cast<int>(y0); y < static_cast<int>(y1); ++y) {
      if (N == 16) fast16_prefilter_row(img, w, y, t, flag.data());
      const uint8_t* r = img + static_cast<long long>(y) * w;
      for (int x = kFastBorder; x < w - kFastBorder; ++x) {
        if (!flag[x]) continue;
        int p[N];
        fast_load_circle<N>(r + x, w, p);
        const int v = r[x];
        if (!fast_is_corner<N>(v, p, t)) continue;
        corner[static_cast<long long>(y) * w + x] = 1;
        if (nonmax) score[static_cast<long long>(y) * w + x] = static_cast<uint8_t>(fast_score<N>(v, p));
      }
    }
  });
}

// Keypoints of one plane: raster order, then (with nonmax) stably sorted by score, descending.
template <int N>
void fast_plane(const uint8_t* img, int h, int w, int t, bool nonmax, PointList<float>& out) {
  const size_t hw = static_cast<size_t>(h) * w;
  std::vector<uint8_t> corner(hw, 0), score(hw, 0);
  fast_detect_plane<N>(img, h, w, t, nonmax, corner.data(), score.data());
  if (h < 2 * kFastBorder + 1 || w < 2 * kFastBorder + 1) return;
  for (int y = kFastBorder; y < h - kFastBorder; ++y) {
    const long long row = static_cast<long long>(y) * w;
    for (int x = kFastBorder; x < w - kFastBorder; ++x) {
      if (!corner[row + x]) continue;
      if (nonmax) {
        // Strictly above all 8 neighbours; non-corners score 0 (OpenCV's rule).
        const int s = score[row + x];
        bool keep = true;
        for (int dy = -1; dy <= 1 && keep; ++dy)
          for (int dx = -1; dx <= 1; ++dx)
            if ((dx || dy) && s <= score[row + dy * static_cast<long long>(w) + x + dx]) {
              keep = false;
              break;
            }
        if (!keep) continue;
      }
      out.x.push_back(x);
      out.y.push_back(y);
      out.score.push_back(nonmax ? static_cast<float>(score[row + x]) : 0.f);
    }
  }
  if (nonmax) {
    std::vector<size_t> order(out.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(), [&](size_t i, size_t j) { return out.score[i] > out.score[j]; });
    PointList<float> sorted;
    for (size_t i : order) {
      sorted.x.push_back(out.x[i]);
      sorted.y.push_back(out.y[i]);
      sorted.score.push_back(out.score[i]);
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
    for (int x = 1; x < w - 1; ++x) {
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
