// CPU: residual_epilogue and conv_bias_act (oneDNN post-op fusion where it applies).
#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/library.h>

#include <string_view>

#include "../residual_common.h"
#include "epilogue_cpu.h"

namespace vision_ext::cpu {
namespace {

using residual::check_activation;
using residual::check_per_channel;
using residual::check_residual;
using residual::layout_of;

at::Tensor residual_epilogue_cpu(const at::Tensor& x_in, const std::optional<at::Tensor>& scale,
                                 const std::optional<at::Tensor>& shift, const std::optional<at::Tensor>& residual,
                                 bool inner_relu, bool outer_relu) {
  const char* op = "vision_ext::residual_epilogue";
  check_activation(op, "x", x_in);
  if (scale) check_per_channel(op, "scale", *scale, x_in);
  if (shift) check_per_channel(op, "shift", *shift, x_in);
  if (residual) check_residual(op, *residual, x_in.sizes(), x_in);
  const auto format = layout_of(x_in);
  const at::Tensor x = x_in.contiguous(format);
  const at::Tensor res = residual ? residual->contiguous(format) : at::Tensor();
  const at::Tensor s = residual::per_channel_as(scale, x), t = residual::per_channel_as(shift, x);
  at::Tensor out = at::empty_like(x, x.options(), format);
  if (x.numel() == 0) return out;
  epilogue_cpu(residual::epilogue_params(x, s, t, res, out, inner_relu, outer_relu), x.scalar_type());
  return out;
}

void check_conv_args(const char* op, const at::Tensor& x, const at::Tensor& weight,
                     const std::optional<at::Tensor>& bias, int64_t groups) {
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
  }
}

// oneDNN's fused conv (post-ops: eltwise ReLU, binary add) as ATen registers it for Inductor.
bool onednn_usable(const at::Tensor& x, const at::Tensor& weight) {
  return at::hasMKLDNN() && x.scalar_type() == at::kFloat && x.numel() > 0 &&
         weight.numel() > 0 &&
         c10::Dispatcher::singleton().findSchema({"mkldnn::_convolution_pointwise", "binary"}).has_value();
}

at::Tensor onednn_conv(const at::Tensor& x, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                       const at::Tensor& residual, at::IntArrayRef stride, at::IntArrayRef padding,
                       at::IntArrayRef dilation, int64_t groups, bool relu) {
  using Scalars = c10::List<std::optional<at::Scalar>>;
  const std::string_view unary = relu ? "relu" : "none";
  if (!residual.defined()) {
    static auto op = c10::Dispatcher::singleton()
                         .findSchemaOrThrow("mkldnn::_convolution_pointwise", "")
                         .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&,
                                           at::IntArrayRef, at::IntArrayRef, at::IntArrayRef, int64_t,
                                           std::string_view, Scalars, std::optional<std::string_view>)>();
    return op.call(x, weight, bias, padding, stride, dilation, groups, unary, Scalars(), std::nullopt);
  }
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("mkldnn::_convolution_pointwise", "binary")
                       .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                         const std::optional<at::Tensor>&, at::IntArrayRef, at::IntArrayRef,
                                         at::IntArrayRef, int64_t, std::string_view, std::optional<at::Scalar>,
                                         std::optional<std::string_view>, Scalars,
                                         std::optional<std::string_view>)>();
  return op.call(x, residual, weight, bias, padding, stride, dilation, groups, "add", std::nullopt, unary,
                 Scalars(), std::nullopt);
}

at::Tensor conv_bias_act_cpu(const at::Tensor& x_in, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                             const std::optional<at::Tensor>& residual, at::IntArrayRef stride,
                             at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups, bool inner_relu,
                             bool outer_relu) {
  const char* op = "vision_ext::conv_bias_act";
  check_conv_args(op, x_in, weight, bias, groups);
  const auto format = layout_of(x_in);
  const at::Tensor x = x_in.contiguous(format);
  std::vector<int64_t> out_sizes = {x.size(0), weight.size(0), 0, 0};
  for (int d = 0; d < 2; ++d) {
    const int64_t span = dilation[d] * (weight.size(d + 2) - 1) + 1;
    out_sizes[d + 2] = (x.size(d + 2) + 2 * padding[d] - span) / stride[d] + 1;
    TORCH_CHECK(stride[d] > 0 && dilation[d] > 0 && padding[d] >= 0 && out_sizes[d + 2] > 0, op,
                ": input spatial size ", x.sizes().slice(2), " is too small for kernel ", weight.sizes().slice(2),
                " with padding ", padding, ", dilation ", dilation, ", stride ", stride);
  }
  at::Tensor res;
  if (residual) {
    check_residual(op, *residual, out_sizes, x);
    res = residual->contiguous(format);
  }
  if (onednn_usable(x, weight)) {
    if (!inner_relu || !res.defined())
      return onednn_conv(x, weight, bias, res, stride, padding, dilation, groups, inner_relu || outer_relu);
    // relu(relu(conv + b) + residual): oneDNN fuses the inner ReLU, our epilogue the rest, in place.
    at::Tensor out = onednn_conv(x, weight, bias, at::Tensor(), stride, padding, dilation, groups, true);
    res = res.contiguous(layout_of(out));
    epilogue_cpu(residual::epilogue_params(out, {}, {}, res, out, false, outer_relu), out.scalar_type());
    return out;
  }
  at::Tensor out = at::convolution(x, weight, std::nullopt, stride, padding, dilation, false, {0, 0}, groups)
                       .contiguous(format);
  if (out.numel() == 0) return out;
  if (res.defined()) res = res.contiguous(layout_of(out));
  const at::Tensor shift = residual::per_channel_as(bias, out);
  epilogue_cpu(residual::epilogue_params(out, {}, shift, res, out, inner_relu, outer_relu), out.scalar_type());
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(vision_ext, CPU, m) {
  m.impl("residual_epilogue", &residual_epilogue_cpu);
  m.impl("conv_bias_act", &conv_bias_act_cpu);
}

}  // namespace vision_ext::cpu
