// CUDA: conv3x3_winograd through the device-generic ATen path (cuBLAS batched GEMM).
// fuse() keeps cuDNN for CUDA models; this makes the op usable on every device.
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "../winograd_generic.h"

namespace vision_ext::cuda {
namespace {

at::Tensor conv3x3_winograd_cuda(const at::Tensor& x, const at::Tensor& packed, const std::optional<at::Tensor>& bias,
                                 const std::optional<at::Tensor>& residual, int64_t padding, bool inner_relu,
                                 bool outer_relu) {
  // Dispatch comes here when any argument is on CUDA: guard only a CUDA x, so that a CPU x gets
  // check_call's device message rather than the guard's.
  const c10::cuda::OptionalCUDAGuard guard(x.is_cuda() ? std::optional<at::Device>(x.device()) : std::nullopt);
  std::optional<at::Tensor> b;
  if (bias) {
    TORCH_CHECK(bias->device() == x.device(), "vision_ext::conv3x3_winograd: bias is on ", bias->device(),
                " but x is on ", x.device(), "; move both to the same device");
    b = bias->to(x.scalar_type());  // as the CPU kernel: a float64 bias must not promote the output
  }
  return winograd::conv_generic(x, packed, b, residual, padding, inner_relu, outer_relu);
}

}  // namespace

TORCH_LIBRARY_IMPL(vision_ext, CUDA, m) { m.impl("conv3x3_winograd", &conv3x3_winograd_cuda); }

}  // namespace vision_ext::cuda
