// CPU glue of the corner family: Harris / min-eigenvalue responses, FAST and
// good-features-to-track. Checks (../corners_common.h) -> dtype -> run_items (work_sharing.h)
// over row tiles, each calling the active level's kernels (simd/corners_simd.h).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <vector>

#include "../corners_common.h"
#include "work_sharing.h"
#include "keypoints_cpu.h"
#include "simd/corners_simd.h"

namespace vision_ext {
namespace corners {
namespace {

using cpu::run_items;  // work_sharing.h

constexpr int64_t kParallelPixels = int64_t(1) << 20;

// Rows per work item: enough items for every thread, few enough that the B-1
// window rows each tile recomputes stay cheap.
int64_t tile_rows(int64_t h) {
  const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
  return std::max<int64_t>(16, std::min<int64_t>(64, (h + 2 * threads - 1) / (2 * threads)));
}

// The active level's response kernel for one input/output type.
inline cpu::CornerResponseRows<uint8_t, float> response_kernel(const uint8_t*, float*) {
  return cpu::corners_kernels().response_u8;
}
inline cpu::CornerResponseRows<float, float> response_kernel(const float*, float*) {
  return cpu::corners_kernels().response_f32;
}
inline cpu::CornerResponseRows<double, double> response_kernel(const double*, double*) {
  return cpu::corners_kernels().response_f64;
}

template <typename In, typename T>
void response_planes(const In* src, T* dst, int64_t b, const CornerParams& p) {
  const int64_t h = p.height, hw = static_cast<int64_t>(p.height) * p.width;
  const int64_t tile = tile_rows(h);
  const int64_t tiles = (h + tile - 1) / tile;
  const auto rows = response_kernel(src, dst);
  const size_t scratch = cpu::corner_scratch_doubles(p.width, p.block_size);
  // Below ~1M pixels a thread hand-off costs more than it saves (and much more on a busy machine).
  run_items(b * tiles, b * hw >= kParallelPixels, [&](int64_t i) {
    thread_local std::vector<double> buf;
    if (buf.size() < scratch) buf.resize(scratch);
    const int64_t n = i / tiles, y0 = (i % tiles) * tile, y1 = std::min(h, y0 + tile);
    rows(src + n * hw, dst + n * hw, p, static_cast<int>(y0), static_cast<int>(y1), buf.data());
  });
}

// Response of every plane of `img` into `out` (same number of elements, contiguous).
void compute_response(const Planes& img, at::Tensor& out, const CornerParams& p) {
  if (img.b == 0 || img.h == 0 || img.w == 0) return;
  with_response_types(img, out, [&](const auto* src, auto* dst) { response_planes(src, dst, img.b, p); });
}

// Pack per-image point lists into padded (B, K, 2), (B, K), (B,) tensors.
template <typename S>
Keypoints pack(const std::vector<PointList<S>>& lists, int64_t limit, at::ScalarType score_dtype) {
  const int64_t b = static_cast<int64_t>(lists.size());
  int64_t kmax = 0;
  for (const auto& l : lists) kmax = std::max<int64_t>(kmax, static_cast<int64_t>(l.size()));
  const int64_t kk = limit > 0 ? limit : kmax;
  at::Tensor xy = at::zeros({b, kk, 2}, at::kFloat);
  at::Tensor scores = at::zeros({b, kk}, score_dtype);
  at::Tensor counts = at::zeros({b}, at::kLong);
  auto pxy = xy.accessor<float, 3>();
  auto pc = counts.accessor<int64_t, 1>();
  for (int64_t i = 0; i < b; ++i) {
    const int64_t n = std::min<int64_t>(kk, static_cast<int64_t>(lists[i].size()));
    pc[i] = n;
    S* ps = scores.data_ptr<S>() + i * kk;
    for (int64_t j = 0; j < n; ++j) {
      pxy[i][j][0] = static_cast<float>(lists[i].x[j]);
      pxy[i][j][1] = static_cast<float>(lists[i].y[j]);
      ps[j] = lists[i].score[j];
    }
  }
  return {xy, scores, counts};
}

// The CPU backend of the ops in corners_common.h.
struct Cpu {
  struct Guard {
    explicit Guard(const at::Device&) {}
  };

  static void response(const Planes& img, at::Tensor& out, const CornerParams& p) { compute_response(img, out, p); }

  static Keypoints fast(const Planes& img, int t, bool nonmax, int n, int64_t max_keypoints) {
    std::vector<PointList<float>> lists(img.b);
    const uint8_t* base = img.t.data_ptr<uint8_t>();
    const int h = static_cast<int>(img.h), w = static_cast<int>(img.w);
    for (int64_t i = 0; i < img.b; ++i) {
      const uint8_t* plane = base + i * img.h * img.w;
      if (n == 16)
        fast_plane<16>(plane, h, w, t, nonmax, lists[i]);
      else if (n == 12)
        fast_plane<12>(plane, h, w, t, nonmax, lists[i]);
      else
        fast_plane<8>(plane, h, w, t, nonmax, lists[i]);
    }
    return pack(lists, max_keypoints, at::kFloat);
  }

  template <typename S>
  static Keypoints gftt_select(const at::Tensor& resp, const at::Tensor& mask, const Planes& img, int64_t max_corners,
                               double quality, double min_distance) {
    std::vector<PointList<S>> lists(img.b);
    const S* r = resp.data_ptr<S>();
    const uint8_t* m = mask.defined() ? mask.data_ptr<uint8_t>() : nullptr;
    const int64_t hw = img.h * img.w;
    at::parallel_for(0, img.b, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i)
        gftt_select_plane<S>(r + i * hw, m ? m + i * hw : nullptr, static_cast<int>(img.h), static_cast<int>(img.w),
                             max_corners, quality, min_distance, lists[i]);
    });
    return pack(lists, max_corners, resp.scalar_type());
  }
};

}  // namespace
}  // namespace corners
}  // namespace vision_ext

TORCH_LIBRARY_IMPL(vision_ext, CPU, m) { vision_ext::corners::register_corner_ops<vision_ext::corners::Cpu>(m); }
