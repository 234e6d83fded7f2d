// CUDA glue of the Canny op: the same checks as the CPU (../canny_common.h), then the torch-free
// launchers of csrc/kernels/cuda/canny.cu on the current stream. Hysteresis runs in chunks of
// kPassesPerCheck device-gated passes; the host reads one flag per chunk (not per pass), and
// most images converge within the first chunk.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include "../canny_common.h"
#include "vision_ext/canny_launch.h"

namespace vision_ext {
namespace canny {
namespace {

constexpr int kPassesPerCheck = 32;

// The CUDA backend of the op in canny_common.h.
struct Cuda {
  using Guard = c10::cuda::CUDAGuard;

  static void edges(const Images& img, at::Tensor& out, const CannyParams& p) {
    cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
    const auto opts = img.t.options();
    at::Tensor dx = at::empty({img.b, img.h, img.w}, opts.dtype(at::kShort));
    at::Tensor dy = at::empty_like(dx);
    const int64_t padded = img.b * canny_padded_plane(p);
    at::Tensor mag = at::empty({padded}, opts.dtype(at::kInt));
    at::Tensor state = at::empty({padded}, opts.dtype(at::kByte));
    at::Tensor flags = at::empty({kPassesPerCheck + 1}, opts.dtype(at::kInt));
    C10_CUDA_CHECK(launch_canny_suppress(img.t.data_ptr<uint8_t>(), img.b, p, dx.data_ptr<int16_t>(),
                                         dy.data_ptr<int16_t>(), mag.data_ptr<int32_t>(), state.data_ptr<uint8_t>(),
                                         stream));
    do {
      C10_CUDA_CHECK(launch_canny_hysteresis(state.data_ptr<uint8_t>(), img.b, p, flags.data_ptr<int>(),
                                             kPassesPerCheck, stream));
    } while (flags[kPassesPerCheck].item<int>() != 0);  // the one host read per chunk
    C10_CUDA_CHECK(launch_canny_finish(state.data_ptr<uint8_t>(), img.b, p, out.data_ptr<uint8_t>(), stream));
  }
};

}  // namespace
}  // namespace canny
}  // namespace vision_ext

TORCH_LIBRARY_IMPL(vision_ext, CUDA, m) { vision_ext::canny::register_canny_ops<vision_ext::canny::Cuda>(m); }
