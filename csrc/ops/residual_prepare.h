// Device-independent set-up of the residual ops: checks, layout, output buffers
// and the kernels' params. The CPU and CUDA impls only add their kernel launch.
#pragma once
#include "residual_common.h"
#include <vector>

#include "vision_ext/batch_norm.h"

namespace vision_ext::residual {

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

}  // namespace vision_ext::residual
