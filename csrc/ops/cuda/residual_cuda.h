// The CUDA backend of the residual family (register_residual_ops<Cuda> in ../residual_common.h).
// Its members are defined in residual_kernel.cpp and winograd_kernel.cpp.
#pragma once
#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>

#include <optional>

#include "../residual_common.h"

namespace vision_ext::residual {

struct Cuda {
  // The dispatcher runs these impls when any argument is on CUDA, not only x. Guard x's device
  // when it is CUDA; when it is not, the shared checks that follow report the mismatch with the
  // CPU op's own message (a CUDAGuard on a CPU device would throw an unrelated one first).
  struct Guard {
    c10::cuda::OptionalCUDAGuard guard;
    explicit Guard(const at::Tensor& x)
        : guard(x.is_cuda() ? std::optional<at::Device>(x.device()) : std::nullopt) {}
  };
  static void epilogue(const char* op, const EpilogueParams& p, const at::Tensor& x);
  static void bn_forward(const BnForwardCall& c);
  static void bn_backward(const BnBackwardCall& c);
  static at::Tensor conv_bias_act(const at::Tensor& x, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                                  const std::optional<at::Tensor>& residual, at::IntArrayRef stride,
                                  at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups, bool inner_relu,
                                  bool outer_relu);
  static at::Tensor winograd_pack_weight(const at::Tensor& w);
  static at::Tensor conv3x3_winograd(const at::Tensor& x, const at::Tensor& packed,
                                     const std::optional<at::Tensor>& bias, const std::optional<at::Tensor>& residual,
                                     int64_t padding, bool inner_relu, bool outer_relu);
  static at::Tensor conv3x3_winograd_weight_grad(const at::Tensor& x, const at::Tensor& grad_output,
                                                 int64_t padding);
};

}  // namespace vision_ext::residual
