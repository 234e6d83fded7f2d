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
  const c10::cuda::CUDAGuard guard(x.device());
  return winograd::conv_generic(x, packed, bias, residual, padding, inner_relu, outer_relu);
}

}  // namespace

TORCH_LIBRARY_IMPL(vision_ext, CUDA, m) { m.impl("conv3x3_winograd", &conv3x3_winograd_cuda); }

}  // namespace vision_ext::cuda
