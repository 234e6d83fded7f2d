// CUDA glue of the corner family: the same checks as the CPU, then the torch-free
// launchers of csrc/kernels/cuda/corners.cu on the current stream. Ordering and
// compaction use deterministic ATen ops on the device (stable sort, nonzero).
#include <ATen/ATen.h>
#include <c10/cuda/CUDAStream.h>  // c10::cuda::getCurrentCUDAStream (= at::cuda::getCurrentCUDAStream)
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <algorithm>
#include <limits>

#include "../corners_common.h"
#include "vision_ext/corners_launch.h"

namespace vision_ext {
namespace corners {
namespace {

// The CUDA backend of the ops in corners_common.h: torch-free launchers on the current stream.
struct Cuda {
  using Guard = c10::cuda::CUDAGuard;

  static void response(const Planes& img, at::Tensor& out, const CornerParams& p) {
    cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
    with_response_types(img, out, [&](const auto* src, auto* dst) {
      C10_CUDA_CHECK(launch_corner_response(src, dst, img.b, p, stream));
    });
  }

  static Keypoints fast(const Planes& img, int threshold, bool nonmax, int n, int64_t max_keypoints) {
    const auto opts = img.t.options();
    auto u8 = opts.dtype(at::kByte);
    at::Tensor corner = at::zeros({img.b, img.h, img.w}, u8);
    at::Tensor score = at::zeros({img.b, img.h, img.w}, u8);
    at::Tensor keep = at::zeros({img.b, img.h, img.w}, u8);
    const FastParams p{static_cast<int>(img.h), static_cast<int>(img.w), threshold, n, nonmax ? 1 : 0};
    C10_CUDA_CHECK(launch_fast(img.t.data_ptr<uint8_t>(), corner.data_ptr<uint8_t>(), score.data_ptr<uint8_t>(),
                               keep.data_ptr<uint8_t>(), img.b, p, c10::cuda::getCurrentCUDAStream()));
    // Raster-ordered compaction (nonzero is deterministic), then a stable sort by image, then score.
    const int64_t hw = img.h * img.w;
    at::Tensor idx = keep.reshape({-1}).nonzero().reshape({-1});
    at::Tensor bidx = idx.div(std::max<int64_t>(hw, 1), "floor");
    at::Tensor pix = idx - bidx * hw;
    at::Tensor sc = score.reshape({-1}).index_select(0, idx).to(at::kLong);
    if (nonmax && idx.numel() > 0) {
      at::Tensor order = std::get<1>((bidx * 256 + (255 - sc)).sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
      bidx = bidx.index_select(0, order);
      pix = pix.index_select(0, order);
      sc = sc.index_select(0, order);
    }
    at::Tensor counts = at::zeros({img.b}, opts.dtype(at::kLong));
    counts.index_add_(0, bidx, at::ones_like(bidx));
    const int64_t kk = max_keypoints > 0 ? max_keypoints : (idx.numel() > 0 ? counts.max().item<int64_t>() : 0);
    at::Tensor starts = counts.cumsum(0) - counts;
    at::Tensor pos = at::arange(idx.numel(), counts.options()) - starts.index_select(0, bidx);
    at::Tensor sel = (pos < kk).nonzero().reshape({-1});
    bidx = bidx.index_select(0, sel);
    pos = pos.index_select(0, sel);
    pix = pix.index_select(0, sel);
    at::Tensor xy = at::zeros({img.b, kk, 2}, opts.dtype(at::kFloat));
    at::Tensor scores = at::zeros({img.b, kk}, opts.dtype(at::kFloat));
    at::Tensor pts = at::stack({(pix % std::max<int64_t>(img.w, 1)), pix.div(std::max<int64_t>(img.w, 1), "floor")}, 1);
    xy.index_put_({bidx, pos}, pts.to(at::kFloat));
    if (nonmax) scores.index_put_({bidx, pos}, sc.index_select(0, sel).to(at::kFloat));
    return {xy, scores, counts.clamp_max(kk)};
  }

  template <typename S>
  static Keypoints gftt_select(const at::Tensor& resp, const at::Tensor& mask, const Planes& img, int64_t max_corners,
                               double quality, double min_distance) {
    cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
    const int64_t hw = img.h * img.w;
    const S neg_inf = -std::numeric_limits<S>::infinity();
    at::Tensor maxv;
    if (hw == 0) {
      maxv = at::zeros({img.b}, resp.options());
    } else if (mask.defined()) {
      maxv = resp.masked_fill(mask == 0, neg_inf).amax({1, 2});
      maxv = at::where(mask.flatten(1).ne(0).any(1), maxv, at::zeros_like(maxv));  // flatten: B may be 0
    } else {
      maxv = resp.amax({1, 2});
    }
    maxv = maxv.contiguous();
    at::Tensor cand = at::empty({img.b, hw}, resp.options());
    C10_CUDA_CHECK(launch_gftt_candidates<S>(resp.data_ptr<S>(), mask.defined() ? mask.data_ptr<uint8_t>() : nullptr,
                                             maxv.data_ptr<S>(), quality, img.b, static_cast<int>(img.h),
                                             static_cast<int>(img.w), neg_inf, cand.data_ptr<S>(), stream));
    at::Tensor ncand = cand.ne(neg_inf).sum(1).contiguous();
    // Best first; ties: larger raster index first (OpenCV's order) via a stable sort of the reversed row.
    auto sorted = cand.flip({1}).sort(/*stable=*/true, /*dim=*/1, /*descending=*/true);
    at::Tensor sval = std::get<0>(sorted).contiguous();
    at::Tensor sidx = ((hw - 1) - std::get<1>(sorted)).contiguous();
    const int64_t capacity =
        max_corners > 0 ? max_corners : std::max<int64_t>(0, img.h - 2) * std::max<int64_t>(0, img.w - 2);
    at::Tensor xy = at::zeros({img.b, capacity, 2}, resp.options().dtype(at::kFloat));
    at::Tensor scores = at::zeros({img.b, capacity}, resp.options());
    at::Tensor counts = at::zeros({img.b}, resp.options().dtype(at::kLong));
    if (capacity > 0 && hw > 0)
      C10_CUDA_CHECK(launch_gftt_select<S>(sval.data_ptr<S>(), sidx.data_ptr<int64_t>(), ncand.data_ptr<int64_t>(),
                                           img.b, static_cast<int>(img.h), static_cast<int>(img.w), capacity,
                                           min_distance, xy.data_ptr<float>(), scores.data_ptr<S>(),
                                           counts.data_ptr<int64_t>(), stream));
    if (max_corners == 0) {  // unlimited: trim to the longest list (the one host read)
      const int64_t kk = img.b > 0 ? counts.max().item<int64_t>() : 0;
      xy = xy.narrow(1, 0, kk).contiguous();
      scores = scores.narrow(1, 0, kk).contiguous();
    }
    return {xy, scores, counts};
  }
};

}  // namespace
}  // namespace corners
}  // namespace vision_ext

TORCH_LIBRARY_IMPL(vision_ext, CUDA, m) { vision_ext::corners::register_corner_ops<vision_ext::corners::Cuda>(m); }
