// CUDA glue of the corner family: the same checks as the CPU, then the torch-free
// launchers of csrc/kernels/cuda/corners.cu on the current stream. Ordering and
// compaction use deterministic ATen ops on the device (stable sort, nonzero).
#include <ATen/ATen.h>
#include <c10/cuda/CUDAStream.h>  // c10::cuda::getCurrentCUDAStream (= at::cuda::getCurrentCUDAStream)
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <limits>

#include "../corners_common.h"
#include "vision_ext/corners_launch.h"

namespace vision_ext {
namespace corners {
namespace {

void compute_response_cuda(const Planes& img, at::Tensor& out, const CornerParams& p) {
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  const int b = static_cast<int>(img.b);
  switch (img.t.scalar_type()) {
    case at::kByte:
      C10_CUDA_CHECK((launch_corner_response<uint8_t, float>(img.t.data_ptr<uint8_t>(), out.data_ptr<float>(), b, p,
                                                             stream)));
      break;
    case at::kFloat:
      C10_CUDA_CHECK((launch_corner_response<float, float>(img.t.data_ptr<float>(), out.data_ptr<float>(), b, p, stream)));
      break;
    case at::kDouble:
      C10_CUDA_CHECK(
          (launch_corner_response<double, double>(img.t.data_ptr<double>(), out.data_ptr<double>(), b, p, stream)));
      break;
    default:
      TORCH_CHECK(false, "corner response: unsupported dtype ", img.t.scalar_type());
  }
}

at::Tensor response_op(const at::Tensor& image, int64_t block_size, int64_t ksize, double k, int64_t border,
                       bool harris, const char* op) {
  check_dtype(image, op, true);
  check_response_args(op, block_size, ksize, border, "ksize");
  c10::cuda::CUDAGuard guard(image.device());
  Planes img = as_planes(image, op);
  at::Tensor out = at::empty({img.b, img.h, img.w}, image.options().dtype(response_dtype(image)));
  compute_response_cuda(img, out,
                        make_params(img.h, img.w, block_size, ksize, border, harris, k, image.scalar_type() == at::kByte));
  return out.view(image.sizes());
}

at::Tensor harris_response_cuda(const at::Tensor& image, int64_t block_size, int64_t ksize, double k, int64_t border) {
  return response_op(image, block_size, ksize, k, border, true, "harris_response");
}

at::Tensor min_eigen_response_cuda(const at::Tensor& image, int64_t block_size, int64_t ksize, int64_t border) {
  return response_op(image, block_size, ksize, 0.0, border, false, "min_eigen_response");
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> fast_cuda(const at::Tensor& image, int64_t threshold, bool nonmax,
                                                         int64_t pattern, int64_t max_keypoints) {
  const char* op = "fast";
  check_dtype(image, op, false);
  check_fast_args(op, threshold, max_keypoints);
  const int n = fast_pattern_from_arg(op, pattern);
  c10::cuda::CUDAGuard guard(image.device());
  Planes img = as_planes(image, op);
  auto u8 = image.options().dtype(at::kByte);
  at::Tensor corner = at::zeros({img.b, img.h, img.w}, u8);
  at::Tensor score = at::zeros({img.b, img.h, img.w}, u8);
  at::Tensor keep = at::zeros({img.b, img.h, img.w}, u8);
  const FastParams p{static_cast<int>(img.h), static_cast<int>(img.w), static_cast<int>(threshold), n, nonmax ? 1 : 0};
  C10_CUDA_CHECK(launch_fast(img.t.data_ptr<uint8_t>(), corner.data_ptr<uint8_t>(), score.data_ptr<uint8_t>(),
                             keep.data_ptr<uint8_t>(), static_cast<int>(img.b), p, c10::cuda::getCurrentCUDAStream()));
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
  at::Tensor counts = at::zeros({img.b}, image.options().dtype(at::kLong));
  counts.index_add_(0, bidx, at::ones_like(bidx));
  const int64_t kk = max_keypoints > 0 ? max_keypoints : (idx.numel() > 0 ? counts.max().item<int64_t>() : 0);
  at::Tensor starts = counts.cumsum(0) - counts;
  at::Tensor pos = at::arange(idx.numel(), counts.options()) - starts.index_select(0, bidx);
  at::Tensor sel = (pos < kk).nonzero().reshape({-1});
  bidx = bidx.index_select(0, sel);
  pos = pos.index_select(0, sel);
  pix = pix.index_select(0, sel);
  at::Tensor xy = at::zeros({img.b, kk, 2}, image.options().dtype(at::kFloat));
  at::Tensor scores = at::zeros({img.b, kk}, image.options().dtype(at::kFloat));
  at::Tensor pts = at::stack({(pix % std::max<int64_t>(img.w, 1)), pix.div(std::max<int64_t>(img.w, 1), "floor")}, 1);
  xy.index_put_({bidx, pos}, pts.to(at::kFloat));
  if (nonmax) scores.index_put_({bidx, pos}, sc.index_select(0, sel).to(at::kFloat));
  return {xy, scores, counts.clamp_max(kk)};
}

template <typename S>
std::tuple<at::Tensor, at::Tensor, at::Tensor> gftt_select_cuda(const at::Tensor& resp, const at::Tensor& mask,
                                                                const Planes& img, int64_t max_corners, double quality,
                                                                double min_distance) {
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  const int64_t hw = img.h * img.w;
  const S neg_inf = -std::numeric_limits<S>::infinity();
  at::Tensor maxv;
  if (hw == 0) {
    maxv = at::zeros({img.b}, resp.options());
  } else if (mask.defined()) {
    maxv = resp.masked_fill(mask == 0, neg_inf).amax({1, 2});
    maxv = at::where(mask.reshape({img.b, -1}).ne(0).any(1), maxv, at::zeros_like(maxv));
  } else {
    maxv = resp.amax({1, 2});
  }
  maxv = maxv.contiguous();
  at::Tensor cand = at::empty({img.b, hw}, resp.options());
  C10_CUDA_CHECK(launch_gftt_candidates<S>(resp.data_ptr<S>(), mask.defined() ? mask.data_ptr<uint8_t>() : nullptr,
                                           maxv.data_ptr<S>(), quality, static_cast<int>(img.b),
                                           static_cast<int>(img.h), static_cast<int>(img.w), neg_inf,
                                           cand.data_ptr<S>(), stream));
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
                                         static_cast<int>(img.b), static_cast<int>(img.h), static_cast<int>(img.w),
                                         static_cast<int>(capacity), min_distance, xy.data_ptr<float>(),
                                         scores.data_ptr<S>(), counts.data_ptr<int64_t>(), stream));
  if (max_corners == 0) {  // unlimited: trim to the longest list (the one host read)
    const int64_t kk = img.b > 0 ? counts.max().item<int64_t>() : 0;
    xy = xy.narrow(1, 0, kk).contiguous();
    scores = scores.narrow(1, 0, kk).contiguous();
  }
  return {xy, scores, counts};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> good_features_to_track_cuda(
    const at::Tensor& image, int64_t max_corners, double quality_level, double min_distance, int64_t block_size,
    int64_t gradient_size, bool use_harris, double k, const c10::optional<at::Tensor>& mask) {
  const char* op = "good_features_to_track";
  check_dtype(image, op, true);
  check_gftt_args(op, max_corners, quality_level, min_distance);
  check_response_args(op, block_size, gradient_size, kBorderReflect101, "gradient_size");
  TORCH_CHECK(max_corners <= std::numeric_limits<int>::max(), op, ": max_corners must fit in int32, got ", max_corners);
  c10::cuda::CUDAGuard guard(image.device());
  Planes img = as_planes(image, op);
  at::Tensor m = mask_planes(mask, img, op);
  at::Tensor resp = at::empty({img.b, img.h, img.w}, image.options().dtype(response_dtype(image)));
  compute_response_cuda(img, resp,
                        make_params(img.h, img.w, block_size, gradient_size, kBorderReflect101, use_harris, k,
                                    image.scalar_type() == at::kByte));
  if (resp.scalar_type() == at::kDouble)
    return gftt_select_cuda<double>(resp, m, img, max_corners, quality_level, min_distance);
  return gftt_select_cuda<float>(resp, m, img, max_corners, quality_level, min_distance);
}

}  // namespace
}  // namespace corners
}  // namespace vision_ext

TORCH_LIBRARY_IMPL(vision_ext, CUDA, m) {
  using namespace vision_ext::corners;
  m.impl("harris_response", &harris_response_cuda);
  m.impl("min_eigen_response", &min_eigen_response_cuda);
  m.impl("fast", &fast_cuda);
  m.impl("good_features_to_track", &good_features_to_track_cuda);
}
