// Argument checks, the pyramid plan and the op bodies shared by the CPU and CUDA ORB ops, so
// both devices accept the same inputs, build the same levels and word their errors alike.
#pragma once
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <tuple>
#include <vector>

#include "corners_common.h"
#include "vision_ext/orb.h"

namespace vision_ext {
namespace orb {

using corners::Planes;

constexpr int64_t kMaxFeatures = int64_t(1) << 20;
constexpr int64_t kMaxLevels = 32;

// One pyramid level: its size, the ratio to level 0, how many features it may keep.
struct Level {
  int w, h;
  double rx, ry;  // level-0 size / level size, per axis (x0 = (x + 0.5) * rx - 0.5)
  int budget;
  float scale;    // scale_factor^level
};

struct Plan {
  std::vector<Level> levels;
  int border;      // keypoints keep this many pixels from every edge of their level
  int half_patch;  // orientation disc radius
  int fast_threshold;
  bool harris;
  int64_t n_features;
};

// OpenCV's split of n_features over the levels: a geometric series of ratio 1/scale_factor,
// rounded per level, the last level taking what is left.
inline std::vector<int> level_budgets(int64_t n_features, double scale_factor, int n_levels) {
  std::vector<int> out(n_levels);
  const double factor = 1.0 / scale_factor;
  double per = static_cast<double>(n_features) * (1.0 - factor) / (1.0 - std::pow(factor, n_levels));
  int64_t sum = 0;
  for (int l = 0; l < n_levels - 1; ++l) {
    out[l] = static_cast<int>(std::nearbyint(per));
    sum += out[l];
    per *= factor;
  }
  out[n_levels - 1] = static_cast<int>(std::max<int64_t>(n_features - sum, 0));
  return out;
}

inline Plan make_plan(int64_t h, int64_t w, int64_t n_features, double scale_factor, int64_t n_levels,
                      int64_t edge_threshold, int64_t fast_threshold, int64_t patch_size, bool harris) {
  Plan p;
  p.half_patch = static_cast<int>(patch_size / 2);
  p.border = static_cast<int>(std::max<int64_t>({edge_threshold, p.half_patch, kOrbMinBorder}));
  p.fast_threshold = static_cast<int>(fast_threshold);
  p.harris = harris;
  p.n_features = n_features;
  const std::vector<int> budgets = level_budgets(n_features, scale_factor, static_cast<int>(n_levels));
  for (int l = 0; l < n_levels; ++l) {
    const double s = std::pow(scale_factor, l);
    Level lv;
    lv.w = l == 0 ? static_cast<int>(w) : static_cast<int>(std::nearbyint(static_cast<double>(w) / s));
    lv.h = l == 0 ? static_cast<int>(h) : static_cast<int>(std::nearbyint(static_cast<double>(h) / s));
    if (lv.w < 1 || lv.h < 1) break;  // the rest of the pyramid is empty
    lv.rx = static_cast<double>(w) / lv.w;
    lv.ry = static_cast<double>(h) / lv.h;
    lv.budget = budgets[l];
    lv.scale = static_cast<float>(s);
    p.levels.push_back(lv);
  }
  return p;
}

// Can level lv hold a keypoint at all (a pixel `border` inside every edge)?
inline bool level_has_room(const Level& lv, int border) { return lv.w > 2 * border && lv.h > 2 * border; }

// Level-0 coordinate of level pixel index i (centre-aligned, as the pyramid resamples).
inline float level0_coord(int i, double ratio) { return static_cast<float>((i + 0.5) * ratio - 0.5); }

inline void check_orb_args(int64_t n_features, double scale_factor, int64_t n_levels, int64_t edge_threshold,
                           int64_t fast_threshold, int64_t patch_size) {
  const char* op = "orb";
  TORCH_CHECK(n_features >= 1 && n_features <= kMaxFeatures, op, ": n_features must be in [1, ", kMaxFeatures,
              "], got ", n_features);
  TORCH_CHECK(scale_factor > 1.0 && scale_factor <= 4.0, op, ": scale_factor must be in (1, 4] (e.g. 1.2), got ",
              scale_factor);
  TORCH_CHECK(n_levels >= 1 && n_levels <= kMaxLevels, op, ": n_levels must be in [1, ", kMaxLevels, "], got ",
              n_levels);
  TORCH_CHECK(edge_threshold >= 0 && edge_threshold <= 1024, op,
              ": edge_threshold must be in [0, 1024] pixels (e.g. 31), got ", edge_threshold);
  TORCH_CHECK(fast_threshold >= 0 && fast_threshold <= 255, op,
              ": fast_threshold must be in [0, 255] (uint8 intensity difference), got ", fast_threshold);
  TORCH_CHECK(patch_size >= 2 && patch_size <= 255, op, ": patch_size must be in [2, 255] (e.g. 31), got ",
              patch_size);
}

// (xy (B, K, 2) f32 level-0 pixels, level (B, K) int64, angle (B, K) f32 degrees, response (B, K)
// f32, descriptors (B, K, 32) uint8, counts (B,) int64); K = n_features, zero padded.
using OrbResult = std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>;

inline OrbResult empty_result(int64_t b, int64_t k, const at::TensorOptions& opts) {
  return {at::zeros({b, k, 2}, opts.dtype(at::kFloat)), at::zeros({b, k}, opts.dtype(at::kLong)),
          at::zeros({b, k}, opts.dtype(at::kFloat)),    at::zeros({b, k}, opts.dtype(at::kFloat)),
          at::zeros({b, k, 32}, opts.dtype(at::kByte)), at::zeros({b}, opts.dtype(at::kLong))};
}

// ---- Hamming matching ----------------------------------------------------------------------------
// Descriptors (N, 32) or (B, N, 32) uint8 seen as (B, N, 32) contiguous, with per-image counts.
struct DescSet {
  at::Tensor t;       // (B, N, 32)
  at::Tensor counts;  // (B,) int64 on the descriptors' device
  int64_t b, n;
};

inline DescSet as_desc_set(const at::Tensor& d, const c10::optional<at::Tensor>& counts, const char* name) {
  const char* op = "match_descriptors";
  TORCH_CHECK(d.scalar_type() == at::kByte, op, ": ", name, " must be uint8 (ORB descriptors, 32 bytes each), got ",
              d.scalar_type());
  TORCH_CHECK((d.dim() == 2 || d.dim() == 3) && d.size(-1) == 32, op, ": ", name,
              " must have shape (N, 32) or (B, N, 32), got ", d.sizes());
  TORCH_CHECK(d.size(-2) < (int64_t(1) << 31), op, ": ", name, " holds too many descriptors (", d.size(-2), ")");
  DescSet s;
  s.t = (d.dim() == 2 ? d.unsqueeze(0) : d).contiguous();
  s.b = s.t.size(0);
  s.n = s.t.size(1);
  if (counts.has_value() && counts->defined()) {
    const auto& c = *counts;
    TORCH_CHECK(c.dim() == 1 && c.size(0) == s.b && c.scalar_type() == at::kLong, op, ": counts of ", name,
                " must be an int64 tensor of shape (", s.b, ",), got ", c.scalar_type(), " ", c.sizes());
    TORCH_CHECK(c.device() == d.device(), op, ": counts of ", name, " must be on ", d.device(), ", got ", c.device());
    s.counts = c.clamp(0, s.n).contiguous();
  } else {
    s.counts = at::full({s.b}, s.n, d.options().dtype(at::kLong));
  }
  return s;
}

struct MatchArgs {
  bool cross_check;
  double max_ratio;      // <= 0: no ratio test
  int64_t max_distance;  // < 0: no limit
};

using MatchResult = std::tuple<at::Tensor, at::Tensor>;  // index (B, N1) int64 (-1: none), distance (B, N1) int32

// ---- the ops over a device backend D, which supplies ----
//   D::Guard(device)
//   D::orb(planes, plan) -> OrbResult
//   D::match(set1, set2, args) -> MatchResult

template <typename D>
OrbResult orb_op(const at::Tensor& image, int64_t n_features, double scale_factor, int64_t n_levels,
                 int64_t edge_threshold, int64_t fast_threshold, int64_t patch_size, bool harris) {
  const char* op = "orb";
  corners::check_dtype(image, op, false);
  check_orb_args(n_features, scale_factor, n_levels, edge_threshold, fast_threshold, patch_size);
  Planes img = corners::as_planes(image, op);
  typename D::Guard guard(image.device());
  const Plan plan = make_plan(img.h, img.w, n_features, scale_factor, n_levels, edge_threshold, fast_threshold,
                              patch_size, harris);
  return D::orb(img, plan);
}

template <typename D>
MatchResult match_op(const at::Tensor& d1, const at::Tensor& d2, const c10::optional<at::Tensor>& counts1,
                     const c10::optional<at::Tensor>& counts2, bool cross_check, double max_ratio,
                     int64_t max_distance) {
  const char* op = "match_descriptors";
  TORCH_CHECK(d1.device() == d2.device(), op, ": descriptors1 and descriptors2 must be on one device, got ",
              d1.device(), " and ", d2.device());
  DescSet s1 = as_desc_set(d1, counts1, "descriptors1");
  DescSet s2 = as_desc_set(d2, counts2, "descriptors2");
  TORCH_CHECK(s1.b == s2.b, op, ": descriptors1 and descriptors2 must have the same batch size, got ", s1.b, " and ",
              s2.b);
  TORCH_CHECK(!(max_ratio > 1.0) && !std::isnan(max_ratio), op,
              ": max_ratio must be in (0, 1] (Lowe's ratio test, e.g. 0.8), or <= 0 for none; got ", max_ratio);
  typename D::Guard guard(d1.device());
  return D::match(s1, s2, MatchArgs{cross_check, max_ratio, max_distance});
}

template <typename D>
void register_orb_ops(torch::Library& m) {
  m.impl("orb", &orb_op<D>);
  m.impl("match_descriptors", &match_op<D>);
}

}  // namespace orb
}  // namespace vision_ext
