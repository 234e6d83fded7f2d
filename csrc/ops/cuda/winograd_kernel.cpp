// CUDA: conv3x3_winograd, its weight gradient and winograd_pack_weight through the device-generic ATen path (cuBLAS
// batched GEMM). fuse() keeps cuDNN for CUDA models; this makes the ops usable on every device.
#include <c10/cuda/CUDAGuard.h>

#include "../winograd_generic.h"
#include "residual_cuda.h"

namespace vision_ext::residual {

at::Tensor Cuda::winograd_pack_weight(const at::Tensor& w) {
  const Guard guard(w);
  return winograd::pack_weight(w);
}

at::Tensor Cuda::conv3x3_winograd(const at::Tensor& x, const at::Tensor& packed, const std::optional<at::Tensor>& bias,
                                  const std::optional<at::Tensor>& residual, int64_t padding, bool inner_relu,
                                  bool outer_relu) {
  // Guard only a CUDA x (Guard), so that a CPU x gets check_call's device message rather than the guard's.
  const Guard guard(x);
  std::optional<at::Tensor> b;
  if (bias) {
    TORCH_CHECK(bias->device() == x.device(), "vision_ext::conv3x3_winograd: bias is on ", bias->device(),
                " but x is on ", x.device(), "; move both to the same device");
    b = bias->to(x.scalar_type());  // as the CPU kernel: a float64 bias must not promote the output
  }
  return winograd::conv_generic(x, packed, b, residual, padding, inner_relu, outer_relu);
}

at::Tensor Cuda::conv3x3_winograd_weight_grad(const at::Tensor& x, const at::Tensor& grad_output, int64_t padding) {
  const Guard guard(x);
  return winograd::weight_grad_generic(x, grad_output, padding);
}

}  // namespace vision_ext::residual
