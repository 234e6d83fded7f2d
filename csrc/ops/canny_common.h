// Argument checks and shape handling of the Canny op shared by the CPU and CUDA backends, so both
// devices accept the same inputs and word their errors alike.
#pragma once
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "vision_ext/canny.h"

namespace vision_ext {
namespace canny {

// An image of shape (H, W), (C, H, W) or (B, C, H, W), C = 1 or 3, as contiguous (B, C, H, W).
struct Images {
  at::Tensor t;
  int64_t b, c, h, w;
};

inline Images as_images(const at::Tensor& image) {
  const int64_t d = image.dim();
  TORCH_CHECK(d == 2 || d == 3 || d == 4, "canny: image must have shape (H, W), (C, H, W) or (B, C, H, W), got ",
              image.sizes());
  TORCH_CHECK(image.scalar_type() == at::kByte, "canny: image dtype must be uint8 (0..255), got ",
              image.scalar_type(),
              "; convert with (image * 255).round().clamp(0, 255).to(torch.uint8) for images in [0, 1]");
  const int64_t c = d >= 3 ? image.size(d - 3) : 1;
  TORCH_CHECK(c == 1 || c == 3, "canny: image must have 1 or 3 channels at dim ", d - 3, ", got shape ", image.sizes(),
              "; channels-last numpy images (H, W, C) go through vision_ext.features.canny");
  const int64_t h = image.size(d - 2), w = image.size(d - 1);
  TORCH_CHECK(h < (int64_t(1) << 30) && w < (int64_t(1) << 30), "canny: image height and width must be < 2^30, got ",
              image.sizes());
  const int64_t b = d == 4 ? image.size(0) : 1;
  return Images{image.reshape({b, c, h, w}).contiguous(), b, c, h, w};
}

// OpenCV's integer thresholds: aperture 7 divides by 16 (its Sobel is scaled so), low > high are
// swapped, L2 clamps to 32767 and squares positive values, then floor. Values that do not fit an
// int32 are refused (OpenCV's conversion would wrap them to INT_MIN: every candidate an edge).
inline int threshold_int(double t, const char* name) {
  const double f = std::floor(t);
  TORCH_CHECK(f >= -2147483648.0 && f <= 2147483647.0, "canny: ", name, " threshold is too large in magnitude (",
              t, ", scaled for the aperture / L2 norm); use a value below 2^31 (above the largest gradient "
              "magnitude already means no edges)");
  return static_cast<int>(f);
}

inline CannyParams make_params(const Images& img, double low, double high, int64_t aperture, bool l2) {
  TORCH_CHECK(std::isfinite(low), "canny: low threshold must be a finite number, got ", low);
  TORCH_CHECK(std::isfinite(high), "canny: high threshold must be a finite number, got ", high);
  TORCH_CHECK(aperture == 3 || aperture == 5 || aperture == 7,
              "canny: aperture must be 3, 5 or 7 (the Sobel size), got ", aperture);
  if (aperture == 7) low /= 16.0, high /= 16.0;
  if (low > high) std::swap(low, high);
  if (l2) {
    low = std::min(32767.0, low), high = std::min(32767.0, high);
    if (low > 0) low *= low;
    if (high > 0) high *= high;
  }
  CannyParams p{};
  p.height = static_cast<int>(img.h);
  p.width = static_cast<int>(img.w);
  p.channels = static_cast<int>(img.c);
  p.aperture = static_cast<int>(aperture);
  p.l2 = l2 ? 1 : 0;
  p.low = threshold_int(low, "low");
  p.high = threshold_int(high, "high");
  return p;
}

// ---- The op over a device backend D, which supplies ----
//   D::Guard(device)                  device guard (a no-op on the CPU)
//   D::edges(images, out, params)     the (B, 1, H, W) uint8 edge maps into `out`
// Every check runs before the guard, so both devices reject the same inputs with the same words.
template <typename D>
at::Tensor canny_op(const at::Tensor& image, double low, double high, int64_t aperture, bool l2_gradient) {
  Images img = as_images(image);
  const CannyParams p = make_params(img, low, high, aperture, l2_gradient);
  typename D::Guard guard(image.device());
  at::Tensor out = at::empty({img.b, 1, img.h, img.w}, image.options());
  if (img.b > 0 && img.h > 0 && img.w > 0) D::edges(img, out, p);
  const int64_t d = image.dim();
  if (d == 2) return out.view({img.h, img.w});
  if (d == 3) return out.view({1, img.h, img.w});
  return out;
}

template <typename D>
void register_canny_ops(torch::Library& m) {
  m.impl("canny", &canny_op<D>);
}

}  // namespace canny
}  // namespace vision_ext
