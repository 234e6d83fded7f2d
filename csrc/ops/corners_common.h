// Argument checks and shape handling shared by the CPU and CUDA corner ops, so
// both devices accept exactly the same inputs and word their errors alike.
#pragma once
#include <ATen/ATen.h>
#include <torch/library.h>

#include <string>
#include <tuple>

#include "vision_ext/fast.h"
#include "vision_ext/harris.h"

namespace vision_ext {
namespace corners {

constexpr int64_t kMaxBlockSize = 31;

// An image of shape (H, W), (1, H, W) or (B, 1, H, W) seen as B contiguous planes.
struct Planes {
  at::Tensor t;  // (B, H, W), contiguous
  int64_t b, h, w;
};

inline Planes as_planes(const at::Tensor& image, const char* op) {
  const int64_t d = image.dim();
  TORCH_CHECK(d == 2 || d == 3 || d == 4, op, ": image must have shape (H, W), (1, H, W) or (B, 1, H, W), got ",
              image.sizes());
  if (d >= 3) {
    const int64_t c = image.size(d - 3);
    TORCH_CHECK(c == 1, op, ": image must have a single channel (C=1) at dim ", d - 3, ", got shape ", image.sizes(),
                "; convert colour images to grayscale first (e.g. kornia.color.rgb_to_grayscale, or "
                "cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) for numpy)");
  }
  const int64_t h = image.size(d - 2), w = image.size(d - 1);
  const int64_t b = d == 4 ? image.size(0) : 1;
  TORCH_CHECK(h < (int64_t(1) << 30) && w < (int64_t(1) << 30), op, ": image height and width must be < 2^30, got ",
              image.sizes());
  return Planes{image.reshape({b, h, w}).contiguous(), b, h, w};
}

inline void check_dtype(const at::Tensor& image, const char* op, bool allow_float) {
  const auto st = image.scalar_type();
  if (allow_float) {
    TORCH_CHECK(st == at::kByte || st == at::kFloat || st == at::kDouble, op,
                ": image dtype must be uint8, float32 or float64, got ", st,
                "; convert with image.float() (values as they are; uint8 is read as 0..255 and rescaled like OpenCV)");
  } else {
    TORCH_CHECK(st == at::kByte, op, ": image dtype must be uint8 (0..255), got ", st,
                "; convert with (image * 255).round().clamp(0, 255).to(torch.uint8) for images in [0, 1]");
  }
}

inline void check_response_args(const char* op, int64_t block_size, int64_t ksize, int64_t border, const char* ksize_name) {
  TORCH_CHECK(block_size >= 1 && block_size <= kMaxBlockSize, op, ": block_size must be in [1, ", kMaxBlockSize,
              "], got ", block_size);
  TORCH_CHECK(sobel_ksize_valid(static_cast<int>(ksize)), op, ": ", ksize_name,
              " must be 1, 3, 5, 7 or -1 (Scharr), got ", ksize);
  TORCH_CHECK(border == kBorderConstant || border == kBorderReplicate || border == kBorderReflect ||
                  border == kBorderReflect101,
              op, ": border must be 0 (constant), 1 (replicate), 2 (reflect) or 4 (reflect101), got ", border,
              "; pass a name like border=\"reflect101\" to vision_ext.features");
}

inline CornerParams make_params(int64_t h, int64_t w, int64_t block_size, int64_t ksize, int64_t border, bool harris,
                                double k, bool is_uint8) {
  CornerParams p{};
  p.height = static_cast<int>(h);
  p.width = static_cast<int>(w);
  p.block_size = static_cast<int>(block_size);
  p.ksize = static_cast<int>(ksize);
  p.border = static_cast<int>(border);
  p.harris = harris ? 1 : 0;
  p.k = k;
  p.scale = corner_derivative_scale(p.ksize, p.block_size, is_uint8);
  return p;
}

inline at::ScalarType response_dtype(const at::Tensor& image) {
  return image.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

// Calls f(src, dst) with the typed data pointers of a response computation:
// uint8 -> float, float -> float, double -> double (response_dtype).
template <typename F>
void with_response_types(const Planes& img, at::Tensor& out, F&& f) {
  switch (img.t.scalar_type()) {
    case at::kByte: f(img.t.data_ptr<uint8_t>(), out.data_ptr<float>()); break;
    case at::kFloat: f(img.t.data_ptr<float>(), out.data_ptr<float>()); break;
    case at::kDouble: f(img.t.data_ptr<double>(), out.data_ptr<double>()); break;
    default: TORCH_CHECK(false, "corner response: unsupported dtype ", img.t.scalar_type());
  }
}

inline int fast_pattern_from_arg(const char* op, int64_t pattern) {
  TORCH_CHECK(fast_pattern_valid(static_cast<int>(pattern)), op,
              ": pattern must be 16 (type 9_16), 12 (7_12) or 8 (5_8), got ", pattern);
  return static_cast<int>(pattern);
}

inline void check_fast_args(const char* op, int64_t threshold, int64_t max_keypoints) {
  TORCH_CHECK(threshold >= 0 && threshold <= 255, op, ": threshold must be in [0, 255] (uint8 intensity difference), got ",
              threshold);
  TORCH_CHECK(max_keypoints >= 0, op, ": max_keypoints must be >= 0 (0 = keep all), got ", max_keypoints);
}

inline void check_gftt_args(const char* op, int64_t max_corners, double quality_level, double min_distance) {
  TORCH_CHECK(max_corners >= 0, op, ": max_corners must be >= 0 (0 = no limit), got ", max_corners);
  TORCH_CHECK(quality_level > 0.0, op, ": quality_level must be > 0 (e.g. 0.01), got ", quality_level);
  TORCH_CHECK(min_distance >= 0.0, op, ": min_distance must be a number >= 0 (inf keeps only the best corner), got ",
              min_distance);
}

// The mask of good_features_to_track: None, (H, W) shared by the batch, or one per image.
inline at::Tensor mask_planes(const c10::optional<at::Tensor>& mask, const Planes& img, const char* op) {
  if (!mask.has_value() || !mask->defined()) return at::Tensor();
  const auto& m = *mask;
  TORCH_CHECK(m.scalar_type() == at::kByte || m.scalar_type() == at::kBool, op,
              ": mask dtype must be uint8 or bool, got ", m.scalar_type());
  TORCH_CHECK(m.device() == img.t.device(), op, ": mask must be on the image's device (", img.t.device(), "), got ",
              m.device());
  const int64_t hw = img.h * img.w;
  TORCH_CHECK(m.dim() >= 2 && m.size(-2) == img.h && m.size(-1) == img.w && (m.numel() == hw || m.numel() == img.b * hw),
              op, ": mask must have shape (H, W) = (", img.h, ", ", img.w, ") or one mask per image, got ", m.sizes());
  at::Tensor u = (m.scalar_type() == at::kBool ? m.to(at::kByte) : m).reshape({-1, img.h, img.w});
  return u.expand({img.b, img.h, img.w}).contiguous();
}

using Keypoints = std::tuple<at::Tensor, at::Tensor, at::Tensor>;  // xy (B, K, 2), scores (B, K), counts (B,)

// ---- The four ops over a device backend D, which supplies ----
//   D::Guard(device)                          device guard (a no-op on the CPU)
//   D::response(planes, out, params)          Harris / min-eigenvalue into `out` (B, H, W)
//   D::fast(planes, threshold, nonmax, pattern, max_keypoints) -> Keypoints
//   D::template gftt_select<S>(resp, mask, planes, max_corners, quality, min_distance) -> Keypoints
// Every check runs before the guard, so both devices reject the same inputs with the same words.

template <typename D>
at::Tensor response_op(const at::Tensor& image, int64_t block_size, int64_t ksize, double k, int64_t border,
                       bool harris, const char* op) {
  check_dtype(image, op, true);
  check_response_args(op, block_size, ksize, border, "ksize");
  Planes img = as_planes(image, op);
  typename D::Guard guard(image.device());
  at::Tensor out = at::empty({img.b, img.h, img.w}, image.options().dtype(response_dtype(image)));
  D::response(img, out, make_params(img.h, img.w, block_size, ksize, border, harris, k, image.scalar_type() == at::kByte));
  return out.view(image.sizes());
}

template <typename D>
at::Tensor harris_response_op(const at::Tensor& image, int64_t block_size, int64_t ksize, double k, int64_t border) {
  return response_op<D>(image, block_size, ksize, k, border, true, "harris_response");
}

template <typename D>
at::Tensor min_eigen_response_op(const at::Tensor& image, int64_t block_size, int64_t ksize, int64_t border) {
  return response_op<D>(image, block_size, ksize, 0.0, border, false, "min_eigen_response");
}

template <typename D>
Keypoints fast_op(const at::Tensor& image, int64_t threshold, bool nonmax, int64_t pattern, int64_t max_keypoints) {
  const char* op = "fast";
  check_dtype(image, op, false);
  check_fast_args(op, threshold, max_keypoints);
  const int n = fast_pattern_from_arg(op, pattern);
  Planes img = as_planes(image, op);
  typename D::Guard guard(image.device());
  return D::fast(img, static_cast<int>(threshold), nonmax, n, max_keypoints);
}

template <typename D>
Keypoints good_features_to_track_op(const at::Tensor& image, int64_t max_corners, double quality_level,
                                    double min_distance, int64_t block_size, int64_t gradient_size, bool use_harris,
                                    double k, const c10::optional<at::Tensor>& mask) {
  const char* op = "good_features_to_track";
  check_dtype(image, op, true);
  check_gftt_args(op, max_corners, quality_level, min_distance);
  check_response_args(op, block_size, gradient_size, kBorderReflect101, "gradient_size");
  Planes img = as_planes(image, op);
  at::Tensor m = mask_planes(mask, img, op);  // a mask on another device dispatches here too
  typename D::Guard guard(image.device());
  at::Tensor resp = at::empty({img.b, img.h, img.w}, image.options().dtype(response_dtype(image)));
  D::response(img, resp,
              make_params(img.h, img.w, block_size, gradient_size, kBorderReflect101, use_harris, k,
                          image.scalar_type() == at::kByte));
  if (resp.scalar_type() == at::kDouble)
    return D::template gftt_select<double>(resp, m, img, max_corners, quality_level, min_distance);
  return D::template gftt_select<float>(resp, m, img, max_corners, quality_level, min_distance);
}

template <typename D>
void register_corner_ops(torch::Library& m) {
  m.impl("harris_response", &harris_response_op<D>);
  m.impl("min_eigen_response", &min_eigen_response_op<D>);
  m.impl("fast", &fast_op<D>);
  m.impl("good_features_to_track", &good_features_to_track_op<D>);
}

}  // namespace corners
}  // namespace vision_ext
