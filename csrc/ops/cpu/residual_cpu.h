// The CPU backend of the residual family (register_residual_ops<Cpu> in ../residual_common.h).
// Its members are defined beside their kernels: residual_kernel.cpp (epilogue, batch norm),
// conv_bias_act_kernel.cpp, winograd_kernel.cpp.
#pragma once
#include <ATen/ATen.h>

#include <optional>

#include "../residual_common.h"

namespace vision_ext::residual {

struct Cpu {
  struct Guard {
    explicit Guard(const at::Tensor&) {}
  };
  // out = post(pre(x * scale + shift) + residual) over p (out may alias x); x: the tensor p reads.
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
