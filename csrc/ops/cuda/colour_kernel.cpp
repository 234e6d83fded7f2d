// CUDA glue of the colour family: the shared checks and binning rules of colour_common.h, copied to
// the device, then the torch-free launchers of csrc/kernels/cuda/colour.cu on the current stream.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <algorithm>
#include <cstring>

#include "../colour_common.h"
#include "vision_ext/colour_launch.h"

namespace vision_ext {
namespace colour {
namespace {

constexpr int64_t kMaxPlanesPerLaunch = 65535;  // the histogram grid's y dimension

ColourDtype dtype_of(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kByte: return ColourDtype::u8;
    case at::kFloat: return ColourDtype::f32;
    default: return ColourDtype::f64;
  }
}

ColourImages launch_images(const Images& im, const at::Tensor& mask) {
  return ColourImages{im.t.data_ptr(), dtype_of(im.t), mask.defined() ? mask.data_ptr<uint8_t>() : nullptr, im.b, im.c,
                      im.h * im.w};
}

// Host bytes of a vector as a device tensor (kept alive by the caller until the stream has used it:
// the caching allocator only reuses it after the stream's later work).
template <typename T>
at::Tensor to_device(const std::vector<T>& v, const at::Device& device) {
  at::Tensor host = at::empty({static_cast<int64_t>(std::max<size_t>(1, v.size() * sizeof(T)))}, at::kByte);
  if (!v.empty()) std::memcpy(host.data_ptr(), v.data(), v.size() * sizeof(T));
  return host.to(device, /*non_blocking=*/false);
}

// The CUDA backend of the ops in colour_common.h.
struct Cuda {
  using Guard = c10::cuda::CUDAGuard;

  static void histogram(const Images& im, const at::Tensor& mask, const Binning& bn, bool joint, at::Tensor& out) {
    const auto dev = im.t.device();
    at::Tensor rules = to_device(bn.rules, dev), edges = to_device(bn.edges, dev), lut = to_device(bn.lut, dev);
    int max_bins = 0;
    for (const auto& r : bn.rules) max_bins = std::max(max_bins, r.bins);
    const auto stream = c10::cuda::getCurrentCUDAStream();
    // Batches split so no launch has more planes than the grid allows.
    const int64_t per = std::max<int64_t>(1, kMaxPlanesPerLaunch / (joint ? 1 : im.c));
    for (int64_t b0 = 0; b0 < im.b; b0 += per) {
      const int64_t nb = std::min(per, im.b - b0);
      Images part{im.t.narrow(0, b0, nb), nb, im.c, im.h, im.w};
      at::Tensor mpart = mask.defined() ? mask.narrow(0, b0, nb) : mask;
      ColourHistParams p{};
      p.im = launch_images(part, mpart);
      p.rules = static_cast<const BinRule*>(rules.data_ptr());
      p.edges = static_cast<const double*>(edges.data_ptr());
      p.lut = static_cast<const int32_t*>(lut.data_ptr());
      p.joint = joint ? 1 : 0;
      p.width = bn.width;
      p.max_bins = joint ? static_cast<int>(bn.width) : max_bins;
      p.out = reinterpret_cast<long long*>(out.data_ptr<int64_t>()) + b0 * bn.width;
      C10_CUDA_CHECK(launch_colour_histogram(p, stream));
    }
  }

  static void moments(const Images& im, const at::Tensor& mask, at::Tensor& out) {
    C10_CUDA_CHECK(launch_colour_moments(launch_images(im, mask), out.data_ptr(), c10::cuda::getCurrentCUDAStream()));
  }

  static void gradient(const Images& im, const CornerParams& p, at::Tensor& mag, at::Tensor& dir) {
    C10_CUDA_CHECK(launch_colour_gradient(launch_images(im, at::Tensor()), p, mag.data_ptr(), dir.data_ptr(),
                                          c10::cuda::getCurrentCUDAStream()));
  }
};

}  // namespace
}  // namespace colour
}  // namespace vision_ext

TORCH_LIBRARY_IMPL(vision_ext, CUDA, m) { vision_ext::colour::register_colour_ops<vision_ext::colour::Cuda>(m); }
