// CPU conv_bias_act: oneDNN's fused bias / residual add where it applies, else ATen's convolution,
// then our epilogue (residual_kernel.cpp, NaN-keeping ReLUs) in place.
#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/library.h>

#include <string_view>

#include "residual_cpu.h"

namespace vision_ext::residual {
namespace {

// oneDNN's fused conv (post-op: binary add) as ATen registers it for Inductor.
bool onednn_usable(const at::Tensor& x, const at::Tensor& weight) {
  return at::hasMKLDNN() && x.scalar_type() == at::kFloat && x.numel() > 0 &&
         weight.numel() > 0 &&
         c10::Dispatcher::singleton().findSchema({"mkldnn::_convolution_pointwise", "binary"}).has_value();
}

at::Tensor onednn_conv(const at::Tensor& x, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                       const at::Tensor& residual, at::IntArrayRef stride, at::IntArrayRef padding,
                       at::IntArrayRef dilation, int64_t groups) {
  using Scalars = c10::List<std::optional<at::Scalar>>;
  if (!residual.defined()) {
    static auto op = c10::Dispatcher::singleton()
                         .findSchemaOrThrow("mkldnn::_convolution_pointwise", "")
                         .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&,
                                           at::IntArrayRef, at::IntArrayRef, at::IntArrayRef, int64_t,
                                           std::string_view, Scalars, std::optional<std::string_view>)>();
    return op.call(x, weight, bias, padding, stride, dilation, groups, "none", Scalars(), std::nullopt);
  }
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("mkldnn::_convolution_pointwise", "binary")
                       .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                         const std::optional<at::Tensor>&, at::IntArrayRef, at::IntArrayRef,
                                         at::IntArrayRef, int64_t, std::string_view, std::optional<at::Scalar>,
                                         std::optional<std::string_view>, Scalars,
                                         std::optional<std::string_view>)>();
  // The binary variant takes no unary attr (not "none").
  return op.call(x, residual, weight, bias, padding, stride, dilation, groups, "add", std::nullopt, std::nullopt,
                 Scalars(), std::nullopt);
}

}  // namespace

at::Tensor Cpu::conv_bias_act(const at::Tensor& x_in, const at::Tensor& weight,
                              const std::optional<at::Tensor>& bias, const std::optional<at::Tensor>& residual,
                              at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups,
                              bool inner_relu, bool outer_relu) {
  const char* op = "vision_ext::conv_bias_act";
  check_conv(op, x_in, weight, bias, residual, stride, padding, dilation, groups);
  const auto format = layout_of(x_in);
  const at::Tensor x = x_in.contiguous(format);
  at::Tensor res;
  if (residual) res = residual->contiguous(format);
  if (onednn_usable(x, weight)) {
    // oneDNN fuses the bias and (no inner ReLU) the residual add; the ReLUs run in our epilogue, in place:
    // oneDNN's ReLU post-op turns NaN into 0, where torch.relu (and so the eager model) keeps it.
    // oneDNN follows the weight's layout when it differs from x's; the op (and its fake kernel) promise x's.
    const bool add_in_conv = res.defined() && !inner_relu;
    at::Tensor out =
        onednn_conv(x, weight, bias, add_in_conv ? res : at::Tensor(), stride, padding, dilation, groups);
    if (inner_relu || outer_relu) {
      const at::Tensor late_res = add_in_conv || !res.defined() ? at::Tensor() : res.contiguous(layout_of(out));
      // relu(conv + b [+ res]) when the add is fused or absent: one ReLU, whichever flag asked for it.
      const bool inner = late_res.defined() ? inner_relu : false;
      const bool outer = late_res.defined() ? outer_relu : true;
      epilogue(op, epilogue_params(out, {}, {}, late_res, out, inner, outer), out);
    }
    return out.contiguous(format);
  }
  at::Tensor out = at::convolution(x, weight, std::nullopt, stride, padding, dilation, false, {0, 0}, groups)
                       .contiguous(format);
  if (out.numel() == 0) return out;
  if (res.defined()) res = res.contiguous(layout_of(out));
  const at::Tensor shift = per_channel_as(bias, out);
  epilogue(op, epilogue_params(out, {}, shift, res, out, inner_relu, outer_relu), out);
  return out;
}

}  // namespace vision_ext::residual
