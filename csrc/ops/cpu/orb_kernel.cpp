// CPU glue of the ORB family: checks (../orb_common.h) -> per image: pyramid, FAST per level
// (the corner family's fast_plane, keypoints_cpu.h), per-level budget by a total order, Harris at
// the candidates, orientation + rotated BRIEF (simd/orb_simd.h) -> padded tensors; and the
// brute-force Hamming matcher. Work is shared with run_items (work_sharing.h): results never
// depend on which thread ran what.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <numeric>
#include <vector>

#include "../orb_common.h"
#include "work_sharing.h"
#include "keypoints_cpu.h"
#include "simd/orb_simd.h"

namespace vision_ext {
namespace orb {
namespace {

using cpu::run_items;

// A kept keypoint: its level pixel, level, score, and level-0 position.
struct Kp {
  int x, y, level;
  float response;
  float x0, y0;
};

// The total order of the ranking: response (descending), then y, x, level (ascending).
inline bool before(const Kp& a, const Kp& b) {
  if (a.response != b.response) return a.response > b.response;
  if (a.y0 != b.y0) return a.y0 < b.y0;
  if (a.x0 != b.x0) return a.x0 < b.x0;
  return a.level < b.level;
}

// Level l (w x h) resized from `src` (sw x sh) into dst.
void resize_level(const uint8_t* src, int sw, int sh, uint8_t* dst, int dw, int dh, bool parallel) {
  std::vector<int32_t> taps(2 * static_cast<size_t>(dw));
  for (int x = 0; x < dw; ++x) {
    const OrbTap t = orb_resize_tap(x, dw, sw);
    taps[x] = t.i0;
    taps[dw + x] = t.f;
  }
  const int64_t rows = 64, items = (dh + rows - 1) / rows;
  const auto& k = cpu::orb_kernels();
  run_items(items, parallel && static_cast<int64_t>(dw) * dh >= (int64_t(1) << 19), [&](int64_t i) {
    std::vector<int32_t> line(sw + 1);
    const int y0 = static_cast<int>(i * rows), y1 = static_cast<int>(std::min<int64_t>(dh, y0 + rows));
    k.resize_rows(src, sw, sh, dst, dw, dh, y0, y1, taps.data(), line.data());
  });
}

// The keypoints of one level, at most its budget, by the total order.
void detect_level(const uint8_t* plane, const Level& lv, int level, const Plan& plan, std::vector<Kp>& out) {
  // FAST only where a keypoint may be, plus the ring its 3x3 suppression reads: pixels
  // [b - 1, w - b] of the level are the tested ones (3 inside) of a window from b - 4. Scores
  // depend on the 7x7 neighbourhood only, so they are the full plane's.
  const int b = plan.border, o = b - 4;
  corners::PointList<float> fast;
  corners::fast_plane<16>(plane + static_cast<std::ptrdiff_t>(o) * lv.w + o, lv.h - 2 * o, lv.w - 2 * o,
                          plan.fast_threshold, true, fast, lv.w);
  for (size_t i = 0; i < fast.size(); ++i) {
    fast.x[i] += o;
    fast.y[i] += o;
  }
  // fast_plane's order is the FAST score descending, then raster: the total order on that score.
  const size_t cap = static_cast<size_t>(plan.harris ? 2 * static_cast<int64_t>(lv.budget) : lv.budget);
  std::vector<int32_t> xs, ys;
  std::vector<float> resp;
  for (size_t i = 0; i < fast.size() && xs.size() < cap; ++i) {
    const int x = fast.x[i], y = fast.y[i];
    if (x < b || y < b || x >= lv.w - b || y >= lv.h - b) continue;
    xs.push_back(x);
    ys.push_back(y);
    resp.push_back(fast.score[i]);
  }
  const int n = static_cast<int>(xs.size());
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  if (plan.harris) {
    cpu::orb_kernels().harris_points(plane, lv.w, lv.h, xs.data(), ys.data(), n, resp.data());
    std::sort(order.begin(), order.end(), [&](int a, int c) {
      if (resp[a] != resp[c]) return resp[a] > resp[c];
      return ys[a] != ys[c] ? ys[a] < ys[c] : xs[a] < xs[c];
    });
  }
  const int keep = std::min(n, lv.budget);
  for (int i = 0; i < keep; ++i) {
    const int j = order[i];
    out.push_back(Kp{xs[j], ys[j], level, resp[j], level0_coord(xs[j], lv.rx), level0_coord(ys[j], lv.ry)});
  }
}

struct ImageOut {
  float* xy;
  int64_t* level;
  float* angle;
  float* response;
  uint8_t* desc;
  int64_t* count;
};

void orb_image(const uint8_t* plane0, const Plan& plan, bool parallel, const ImageOut& o) {
  const int nl = static_cast<int>(plan.levels.size());
  *o.count = 0;
  if (nl == 0) return;  // an empty image
  std::vector<std::vector<uint8_t>> store(nl);
  std::vector<const uint8_t*> lvp(nl, nullptr);
  lvp[0] = plane0;
  int usable = 0;  // levels [0, usable) have room for a keypoint; smaller levels follow only smaller ones
  while (usable < nl && level_has_room(plan.levels[usable], plan.border)) ++usable;
  for (int l = 1; l < usable; ++l) {
    const Level &lv = plan.levels[l], &pv = plan.levels[l - 1];
    store[l].resize(static_cast<size_t>(lv.w) * lv.h);
    resize_level(lvp[l - 1], pv.w, pv.h, store[l].data(), lv.w, lv.h, parallel);
    lvp[l] = store[l].data();
  }
  std::vector<Kp> kps;
  for (int l = 0; l < usable; ++l)
    if (plan.levels[l].budget > 0) detect_level(lvp[l], plan.levels[l], l, plan, kps);
  std::sort(kps.begin(), kps.end(), before);
  const int64_t n = std::min<int64_t>(static_cast<int64_t>(kps.size()), plan.n_features);
  *o.count = n;
  const auto& k = cpu::orb_kernels();
  std::vector<int32_t> half_widths(2 * plan.half_patch + 1);
  for (int v = -plan.half_patch; v <= plan.half_patch; ++v)
    half_widths[v + plan.half_patch] = orb_disc_half_width(plan.half_patch, v);
  const int64_t per = 16, items = (n + per - 1) / per;
  run_items(items, parallel && n >= 64, [&](int64_t it) {
    thread_local std::vector<int32_t> scratch;
    if (scratch.size() < cpu::orb_describe_scratch_ints()) scratch.resize(cpu::orb_describe_scratch_ints());
    const int64_t i0 = it * per, i1 = std::min(n, (it + 1) * per);
    const uint8_t* centres[per];
    int32_t strides[per];
    for (int64_t i = i0; i < i1; ++i) {
      const Kp& p = kps[i];
      o.xy[2 * i] = p.x0;
      o.xy[2 * i + 1] = p.y0;
      o.level[i] = p.level;
      o.response[i] = p.response;
      strides[i - i0] = plan.levels[p.level].w;
      centres[i - i0] = lvp[p.level] + static_cast<std::ptrdiff_t>(p.y) * strides[i - i0] + p.x;
    }
    k.describe(centres, strides, static_cast<int>(i1 - i0), plan.half_patch, half_widths.data(), o.angle + i0,
               o.desc + 32 * i0, scratch.data());
  });
}

// ---- matching ----
void match_image(const uint8_t* q, int64_t n1, const uint8_t* t, int64_t n2, const MatchArgs& a, int64_t* index,
                 int32_t* distance) {
  for (int64_t i = 0; i < n1; ++i) index[i] = -1;
  if (n1 == 0 || n2 == 0) return;
  // A fixed split of the queries (independent of the thread count); each chunk keeps its own
  // per-train minima, merged in chunk order so the first closest query wins.
  constexpr int64_t kChunks = 16;
  const int64_t chunk = std::max<int64_t>(4, ((n1 + kChunks - 1) / kChunks + 3) / 4 * 4);
  const int64_t nchunks = (n1 + chunk - 1) / chunk;
  std::vector<int32_t> best_d(n1), best_i(n1), second_d(n1);
  std::vector<int32_t> col_d(nchunks * n2, INT32_MAX), col_i(nchunks * n2, -1);
  const auto& k = cpu::orb_kernels();
  run_items(nchunks, n1 * n2 >= (int64_t(1) << 18), [&](int64_t c) {
    const int64_t q0 = c * chunk, len = std::min(n1, q0 + chunk) - q0;
    k.hamming_block(q + 32 * q0, static_cast<int>(len), t, static_cast<int>(n2), static_cast<int>(q0),
                    best_d.data() + q0, best_i.data() + q0, second_d.data() + q0, col_d.data() + c * n2,
                    col_i.data() + c * n2);
  });
  for (int64_t c = 1; c < nchunks; ++c)
    for (int64_t j = 0; j < n2; ++j)
      if (col_d[c * n2 + j] < col_d[j]) {
        col_d[j] = col_d[c * n2 + j];
        col_i[j] = col_i[c * n2 + j];
      }
  for (int64_t i = 0; i < n1; ++i) {
    const int32_t j = best_i[i], d = best_d[i];
    if (j < 0) continue;
    if (a.cross_check && col_i[j] != i) continue;
    if (a.max_distance >= 0 && d > a.max_distance) continue;
    if (a.max_ratio > 0 && second_d[i] != INT32_MAX &&
        !(static_cast<double>(d) < a.max_ratio * static_cast<double>(second_d[i])))
      continue;
    index[i] = j;
    distance[i] = d;
  }
}

// The CPU backend of the ops in orb_common.h.
struct Cpu {
  struct Guard {
    explicit Guard(const at::Device&) {}
  };

  static OrbResult orb(const Planes& img, const Plan& plan) {
    OrbResult r = empty_result(img.b, plan.n_features, img.t.options());
    if (img.b == 0) return r;
    auto& [xy, level, angle, response, desc, counts] = r;
    const int64_t k = plan.n_features, hw = img.h * img.w;
    const uint8_t* base = img.t.data_ptr<uint8_t>();
    auto run = [&](int64_t i, bool parallel) {
      const ImageOut o{xy.data_ptr<float>() + i * k * 2, level.data_ptr<int64_t>() + i * k,
                       angle.data_ptr<float>() + i * k,  response.data_ptr<float>() + i * k,
                       desc.data_ptr<uint8_t>() + i * k * 32, counts.data_ptr<int64_t>() + i};
      orb_image(base + i * hw, plan, parallel, o);
    };
    if (img.b == 1)
      run(0, true);
    else  // one image per item: the images keep the threads busy
      run_items(img.b, true, [&](int64_t i) { run(i, false); });
    return r;
  }

  static MatchResult match(const DescSet& s1, const DescSet& s2, const MatchArgs& a) {
    at::Tensor index = at::full({s1.b, s1.n}, -1, s1.t.options().dtype(at::kLong));
    at::Tensor distance = at::zeros({s1.b, s1.n}, s1.t.options().dtype(at::kInt));
    const int64_t* c1 = s1.counts.data_ptr<int64_t>();
    const int64_t* c2 = s2.counts.data_ptr<int64_t>();
    for (int64_t i = 0; i < s1.b; ++i)
      match_image(s1.t.data_ptr<uint8_t>() + i * s1.n * 32, c1[i], s2.t.data_ptr<uint8_t>() + i * s2.n * 32, c2[i],
                  a, index.data_ptr<int64_t>() + i * s1.n, distance.data_ptr<int32_t>() + i * s1.n);
    return {index, distance};
  }
};

}  // namespace
}  // namespace orb
}  // namespace vision_ext

TORCH_LIBRARY_IMPL(vision_ext, CPU, m) { vision_ext::orb::register_orb_ops<vision_ext::orb::Cpu>(m); }
