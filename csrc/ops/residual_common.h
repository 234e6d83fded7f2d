// The residual family's device-independent half, shared by the CPU and CUDA glue (torch-dependent,
// so it lives beside the ops, not in include/): argument checks, layout, output buffers and the
// kernels' params, the ops written once over a device backend, and their registration.
#pragma once
#include <ATen/ATen.h>
#include <torch/library.h>

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "vision_ext/batch_norm.h"
#include "vision_ext/epilogue.h"

namespace vision_ext::residual {

// The two layouts the kernels read; anything else is made contiguous first.
inline bool is_channels_last(const at::Tensor& t) {
  return t.dim() == 4 && !t.is_contiguous() && t.is_contiguous(at::MemoryFormat::ChannelsLast);
}

inline at::MemoryFormat layout_of(const at::Tensor& t) {
  return is_channels_last(t) ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
}

inline void check_activation(const char* op, const char* name, const at::Tensor& x) {
  TORCH_CHECK(x.dim() == 4, op, ": ", name, " must be a 4-D (N, C, H, W) tensor, got ", x.dim(),
              "-D with shape ", x.sizes());
  TORCH_CHECK(at::isFloatingType(x.scalar_type()), op, ": ", name,
              " must be float32, float64, float16 or bfloat16, got ", x.scalar_type(),
              "; convert it with .float()");
}

// A per-channel vector (scale, shift, bias, BN weight) of length C on x's device.
inline void check_per_channel(const char* op, const char* name, const at::Tensor& v, const at::Tensor& x) {
  TORCH_CHECK(v.dim() == 1 && v.size(0) == x.size(1), op, ": ", name, " must have shape (C,) = (", x.size(1),
              ",) to match x's channels, got ", v.sizes());
  TORCH_CHECK(v.device() == x.device(), op, ": ", name, " is on ", v.device(), " but x is on ", x.device(),
              "; move both to the same device");
  TORCH_CHECK(at::isFloatingType(v.scalar_type()), op, ": ", name, " must be floating point, got ",
              v.scalar_type());
}

inline void check_residual(const char* op, const at::Tensor& residual, at::IntArrayRef out_sizes,
                           const at::Tensor& x) {
  TORCH_CHECK(residual.sizes() == out_sizes, op, ": residual must have the output's shape ", out_sizes,
              ", got ", residual.sizes(), "; use a downsample/projection shortcut when shapes differ");
  TORCH_CHECK(residual.device() == x.device(), op, ": residual is on ", residual.device(), " but x is on ",
              x.device(), "; move both to the same device");
  TORCH_CHECK(residual.scalar_type() == x.scalar_type(), op, ": residual dtype ", residual.scalar_type(),
              " differs from x's ", x.scalar_type(), "; cast one of them");
}

// Accumulate type of the per-channel vectors: double for double activations, else float.
inline at::ScalarType acc_type_of(const at::Tensor& x) {
  return x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

inline at::Tensor per_channel_as(const std::optional<at::Tensor>& v, const at::Tensor& x) {
  return v.has_value() ? v->to(acc_type_of(x)).contiguous() : at::Tensor();
}

// rows x row_len view of a 4-D tensor in `format` (see epilogue.h).
struct RowLayout {
  int64_t rows;
  int64_t row_len;
  int64_t channels;
  bool channels_last;
};

inline RowLayout row_layout(const at::Tensor& x, at::MemoryFormat format) {
  const bool cl = format == at::MemoryFormat::ChannelsLast;
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
  return cl ? RowLayout{n * hw, c, c, true} : RowLayout{n * c, hw, c, false};
}

inline EpilogueParams epilogue_params(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& shift,
                                      const at::Tensor& residual, at::Tensor& out, bool inner_relu,
                                      bool outer_relu) {
  const RowLayout l = row_layout(x, layout_of(x));
  EpilogueParams p{};
  p.x = x.data_ptr();
  p.scale = scale.defined() ? scale.data_ptr() : nullptr;
  p.shift = shift.defined() ? shift.data_ptr() : nullptr;
  p.residual = residual.defined() ? residual.data_ptr() : nullptr;
  p.out = out.data_ptr();
  p.rows = l.rows;
  p.row_len = l.row_len;
  p.channels = l.channels;
  p.channels_last = l.channels_last;
  p.flags = EpilogueFlags{inner_relu, outer_relu};
  return p;
}

struct EpilogueCall {
  at::Tensor x, scale, shift, residual, out;
  EpilogueParams params;
};

inline EpilogueCall prepare_epilogue(const at::Tensor& x_in, const std::optional<at::Tensor>& scale,
                                     const std::optional<at::Tensor>& shift,
                                     const std::optional<at::Tensor>& residual, bool inner_relu, bool outer_relu) {
  const char* op = "vision_ext::residual_epilogue";
  check_activation(op, "x", x_in);
  if (scale) check_per_channel(op, "scale", *scale, x_in);
  if (shift) check_per_channel(op, "shift", *shift, x_in);
  if (residual) check_residual(op, *residual, x_in.sizes(), x_in);
  const auto format = layout_of(x_in);
  EpilogueCall c;
  c.x = x_in.contiguous(format);
  c.residual = residual ? residual->contiguous(format) : at::Tensor();
  c.scale = per_channel_as(scale, c.x);
  c.shift = per_channel_as(shift, c.x);
  c.out = at::empty_like(c.x, c.x.options(), format);
  c.params = epilogue_params(c.x, c.scale, c.shift, c.residual, c.out, inner_relu, outer_relu);
  return c;
}

struct BnForwardCall {
  at::Tensor x, residual, weight, bias, out, mean, var, mask;
  BnForwardParams params;
};

inline BnForwardCall prepare_bn_forward(const at::Tensor& x_in, const at::Tensor& weight, const at::Tensor& bias,
                                        const std::optional<at::Tensor>& residual, double eps, bool relu) {
  const char* op = "vision_ext::bn_add_relu";
  check_activation(op, "x", x_in);
  check_per_channel(op, "weight", weight, x_in);
  check_per_channel(op, "bias", bias, x_in);
  TORCH_CHECK(x_in.numel() / std::max<int64_t>(1, x_in.size(1)) > 1, op,
              ": expected more than 1 value per channel when training, got input of shape ", x_in.sizes(),
              "; use a larger batch or eval mode");
  TORCH_CHECK(eps > 0, op, ": eps must be positive, got ", eps);
  if (residual) check_residual(op, *residual, x_in.sizes(), x_in);
  const auto format = layout_of(x_in);
  const auto acc = acc_type_of(x_in);
  BnForwardCall c;
  c.x = x_in.contiguous(format);
  c.residual = residual ? residual->contiguous(format) : at::Tensor();
  c.weight = weight.to(acc).contiguous();
  c.bias = bias.to(acc).contiguous();
  const auto l = row_layout(c.x, format);
  c.out = at::empty_like(c.x, c.x.options(), format);
  c.mean = at::empty({c.x.size(1)}, c.x.options().dtype(acc));
  c.var = at::empty({c.x.size(1)}, c.x.options().dtype(acc));
  c.mask = at::empty({relu ? l.rows * mask_row_bytes(l.row_len) : 0}, c.x.options().dtype(at::kByte));
  c.params = BnForwardParams{c.x.data_ptr(), c.residual.defined() ? c.residual.data_ptr() : nullptr,
                             c.weight.data_ptr(), c.bias.data_ptr(), c.out.data_ptr(),
                             relu ? c.mask.data_ptr<unsigned char>() : nullptr, c.mean.data_ptr(), c.var.data_ptr(),
                             l.rows, l.row_len, l.channels, l.channels_last, relu, eps};
  return c;
}

struct BnBackwardCall {
  at::Tensor grad_out, x, weight, mean, var, mask, grad_x, grad_residual, grad_weight, grad_bias;
  BnBackwardParams params;
};

inline BnBackwardCall prepare_bn_backward(const at::Tensor& grad_out, const at::Tensor& x_in,
                                          const at::Tensor& weight, const at::Tensor& mean, const at::Tensor& var,
                                          const at::Tensor& mask, double eps, bool has_residual) {
  const char* op = "vision_ext::_bn_add_relu_backward";
  check_activation(op, "x", x_in);
  TORCH_CHECK(grad_out.sizes() == x_in.sizes(), op, ": grad_out shape ", grad_out.sizes(), " != x shape ",
              x_in.sizes());
  // Every tensor the kernels read must sit on x's device (a CUDA kernel handed a host pointer faults).
  TORCH_CHECK(grad_out.device() == x_in.device(), op, ": grad_out is on ", grad_out.device(), " but x is on ",
              x_in.device(), "; move both to the same device");
  TORCH_CHECK(mask.numel() == 0 || (mask.scalar_type() == at::kByte && mask.device() == x_in.device()), op,
              ": mask must be bn_add_relu's uint8 mask on x's device (", x_in.device(), "), got ",
              mask.scalar_type(), " on ", mask.device());
  check_per_channel(op, "weight", weight, x_in);
  check_per_channel(op, "mean", mean, x_in);
  check_per_channel(op, "var", var, x_in);
  const auto format = layout_of(x_in);
  const auto acc = acc_type_of(x_in);
  BnBackwardCall c;
  c.x = x_in.contiguous(format);
  const auto l = row_layout(c.x, format);
  const int64_t mask_bytes = l.rows * mask_row_bytes(l.row_len);
  TORCH_CHECK(mask.numel() == 0 || mask.numel() == mask_bytes, op, ": mask has ", mask.numel(), " bytes, expected ",
              mask_bytes, " for x of shape ", x_in.sizes(), " in this memory format; pass bn_add_relu's mask");
  c.grad_out = grad_out.to(c.x.scalar_type()).contiguous(format);
  c.weight = weight.to(acc).contiguous();
  c.mean = mean.to(acc).contiguous();
  c.var = var.to(acc).contiguous();
  c.mask = mask.contiguous();
  c.grad_x = at::empty_like(c.x, c.x.options(), format);
  c.grad_residual = has_residual ? at::empty_like(c.x, c.x.options(), format) : at::empty({0}, c.x.options());
  c.grad_weight = at::empty({c.x.size(1)}, c.x.options().dtype(acc));
  c.grad_bias = at::empty({c.x.size(1)}, c.x.options().dtype(acc));
  c.params = BnBackwardParams{c.grad_out.data_ptr(), c.x.data_ptr(),
                              c.mask.numel() ? c.mask.data_ptr<unsigned char>() : nullptr, c.weight.data_ptr(),
                              c.mean.data_ptr(), c.var.data_ptr(), c.grad_x.data_ptr(),
                              has_residual ? c.grad_residual.data_ptr() : nullptr, c.grad_weight.data_ptr(),
                              c.grad_bias.data_ptr(), l.rows, l.row_len, l.channels, l.channels_last, eps};
  return c;
}

// Checks a conv_bias_act call and returns the output shape (N, C_out, H_out, W_out).
inline std::vector<int64_t> check_conv(const char* op, const at::Tensor& x, const at::Tensor& weight,
                                       const std::optional<at::Tensor>& bias,
                                       const std::optional<at::Tensor>& residual, at::IntArrayRef stride,
                                       at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups) {
  check_activation(op, "x", x);
  TORCH_CHECK(weight.dim() == 4, op, ": weight must be 4-D (C_out, C_in/groups, kH, kW), got shape ",
              weight.sizes());
  TORCH_CHECK(groups >= 1 && x.size(1) % groups == 0 && weight.size(0) % groups == 0, op,
              ": groups must be >= 1 and divide both x's channels (", x.size(1), ") and weight's C_out (",
              weight.size(0), "), got groups=", groups);
  TORCH_CHECK(weight.size(1) * groups == x.size(1), op, ": x has ", x.size(1),
              " channels but weight expects C_in = weight.size(1) * groups = ", weight.size(1) * groups,
              "; check the conv's in_channels");
  TORCH_CHECK(weight.scalar_type() == x.scalar_type(), op, ": weight dtype ", weight.scalar_type(),
              " differs from x's ", x.scalar_type(), "; cast the module with .to(x.dtype)");
  TORCH_CHECK(weight.device() == x.device(), op, ": weight is on ", weight.device(), " but x is on ",
              x.device(), "; move the module and the input to the same device");
  if (bias) {
    TORCH_CHECK(bias->dim() == 1 && bias->size(0) == weight.size(0), op, ": bias must have shape (C_out,) = (",
                weight.size(0), ",), got ", bias->sizes());
    TORCH_CHECK(bias->device() == x.device(), op, ": bias is on ", bias->device(), " but x is on ", x.device());
    TORCH_CHECK(at::isFloatingType(bias->scalar_type()), op, ": bias must be a floating-point tensor, got ",
                bias->scalar_type(), "; pass bias.float() (or the conv's own dtype)");
  }
  std::vector<int64_t> out_sizes = {x.size(0), weight.size(0), 0, 0};
  for (int d = 0; d < 2; ++d) {
    TORCH_CHECK(stride[d] > 0 && dilation[d] > 0 && padding[d] >= 0, op,
                ": stride and dilation must be positive and padding non-negative, got stride ", stride,
                ", padding ", padding, ", dilation ", dilation);
    const int64_t span = dilation[d] * (weight.size(d + 2) - 1) + 1;
    out_sizes[d + 2] = (x.size(d + 2) + 2 * padding[d] - span) / stride[d] + 1;
    TORCH_CHECK(out_sizes[d + 2] > 0, op,
                ": input spatial size ", x.sizes().slice(2), " is too small for kernel ", weight.sizes().slice(2),
                " with padding ", padding, ", dilation ", dilation, ", stride ", stride);
  }
  if (residual) check_residual(op, *residual, out_sizes, x);
  return out_sizes;
}


// ---- The family's ops over a device backend B, which supplies ----
//   B::Guard(x)                              device guard of x's device (a no-op on the CPU)
//   B::epilogue(op, params, x)               the epilogue over params (x: the tensor it reads)
//   B::bn_forward(call), B::bn_backward(call) the batch-norm kernels on a prepared call
//   B::conv_bias_act, B::winograd_pack_weight, B::conv3x3_winograd,
//   B::conv3x3_winograd_weight_grad          whole ops (the devices differ)
// The checks and buffers above run before B's kernels, so every device rejects the same inputs
// with the same words.

template <class B>
at::Tensor residual_epilogue_op(const at::Tensor& x, const std::optional<at::Tensor>& scale,
                                const std::optional<at::Tensor>& shift, const std::optional<at::Tensor>& residual,
                                bool inner_relu, bool outer_relu) {
  const typename B::Guard guard(x);
  auto c = prepare_epilogue(x, scale, shift, residual, inner_relu, outer_relu);
  B::epilogue("vision_ext::residual_epilogue", c.params, c.x);
  return c.out;
}

template <class B>
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> bn_add_relu_op(const at::Tensor& x,
                                                                          const at::Tensor& weight,
                                                                          const at::Tensor& bias,
                                                                          const std::optional<at::Tensor>& residual,
                                                                          double eps, bool relu) {
  const typename B::Guard guard(x);
  auto c = prepare_bn_forward(x, weight, bias, residual, eps, relu);
  B::bn_forward(c);
  return {c.out, c.mean, c.var, c.mask};
}

template <class B>
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> bn_add_relu_backward_op(
    const at::Tensor& grad_out, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& mean,
    const at::Tensor& var, const at::Tensor& mask, double eps, bool has_residual) {
  const typename B::Guard guard(x);
  auto c = prepare_bn_backward(grad_out, x, weight, mean, var, mask, eps, has_residual);
  B::bn_backward(c);
  return {c.grad_x, c.grad_weight.to(weight.scalar_type()), c.grad_bias.to(weight.scalar_type()), c.grad_residual};
}

template <class B>
void register_residual_ops(torch::Library& m) {
  m.impl("residual_epilogue", &residual_epilogue_op<B>);
  m.impl("conv_bias_act", &B::conv_bias_act);
  m.impl("bn_add_relu", &bn_add_relu_op<B>);
  m.impl("_bn_add_relu_backward", &bn_add_relu_backward_op<B>);
  m.impl("winograd_pack_weight", &B::winograd_pack_weight);
  m.impl("conv3x3_winograd", &B::conv3x3_winograd);
  m.impl("conv3x3_winograd_weight_grad", &B::conv3x3_winograd_weight_grad);
}

}  // namespace vision_ext::residual
