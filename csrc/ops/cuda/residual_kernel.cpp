// CUDA glue of the residual family: checks (shared with CPU), device guard,
// current stream, dtype -> torch-free launchers in csrc/kernels/cuda.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "../residual_prepare.h"
#include "scalar_kind_of.h"
#include "vision_ext/residual_launch.h"

namespace vision_ext::cuda {
namespace {

// The dispatcher runs these impls when any argument is on CUDA, not only x. Guard x's device
// when it is CUDA; when it is not, the shared checks that follow report the mismatch with the
// CPU op's own message (a CUDAGuard on a CPU device would throw an unrelated one first).
c10::cuda::OptionalCUDAGuard guard_of(const at::Tensor& x) {
  return c10::cuda::OptionalCUDAGuard(x.is_cuda() ? std::optional<at::Device>(x.device()) : std::nullopt);
}

// The current stream of x's device, once the checks have put every tensor there.
cudaStream_t stream_for(const char* op, const at::Tensor& x) {
  TORCH_CHECK(x.is_cuda(), op, ": x is on ", x.device(), " but another argument is on CUDA; move all to one device");
  return c10::cuda::getCurrentCUDAStream();
}

void run_epilogue(const char* op, const EpilogueParams& p, const at::Tensor& like) {
  C10_CUDA_CHECK(launch_residual_epilogue(p, scalar_kind_of(like), stream_for(op, like)));
}

at::Tensor residual_epilogue_cuda(const at::Tensor& x, const std::optional<at::Tensor>& scale,
                                  const std::optional<at::Tensor>& shift, const std::optional<at::Tensor>& residual,
                                  bool inner_relu, bool outer_relu) {
  const auto guard = guard_of(x);
  auto c = residual::prepare_epilogue(x, scale, shift, residual, inner_relu, outer_relu);
  run_epilogue("vision_ext::residual_epilogue", c.params, c.x);
  return c.out;
}

// cuDNN convolution through ATen, then one epilogue pass (bias + residual + ReLU) in place.
at::Tensor conv_bias_act_cuda(const at::Tensor& x_in, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                              const std::optional<at::Tensor>& residual, at::IntArrayRef stride,
                              at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups, bool inner_relu,
                              bool outer_relu) {
  const char* op = "vision_ext::conv_bias_act";
  const auto guard = guard_of(x_in);
  residual::check_conv(op, x_in, weight, bias, residual, stride, padding, dilation, groups);
  const auto format = residual::layout_of(x_in);
  // x's layout, as the CPU op and the fake kernel: cuDNN picks channels_last from the weight too.
  at::Tensor out = at::convolution(x_in.contiguous(format), weight, std::nullopt, stride, padding, dilation, false,
                                   {0, 0}, groups)
                       .contiguous(format);
  if (out.numel() == 0) return out;
  const at::Tensor res = residual ? residual->contiguous(residual::layout_of(out)) : at::Tensor();
  const at::Tensor shift = residual::per_channel_as(bias, out);
  run_epilogue(op, residual::epilogue_params(out, {}, shift, res, out, inner_relu, outer_relu), out);
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> bn_add_relu_cuda(const at::Tensor& x,
                                                                            const at::Tensor& weight,
                                                                            const at::Tensor& bias,
                                                                            const std::optional<at::Tensor>& residual,
                                                                            double eps, bool relu) {
  const auto guard = guard_of(x);
  auto c = residual::prepare_bn_forward(x, weight, bias, residual, eps, relu);
  const cudaStream_t stream = stream_for("vision_ext::bn_add_relu", c.x);
  at::Tensor ws = at::empty({static_cast<int64_t>(bn_workspace_bytes(c.x.size(1)))}, c.x.options().dtype(at::kByte));
  C10_CUDA_CHECK(launch_bn_add_relu_forward(c.params, scalar_kind_of(c.x), ws.data_ptr(), stream));
  return {c.out, c.mean, c.var, c.mask};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> bn_add_relu_backward_cuda(
    const at::Tensor& grad_out, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& mean,
    const at::Tensor& var, const at::Tensor& mask, double eps, bool has_residual) {
  const auto guard = guard_of(x);
  auto c = residual::prepare_bn_backward(grad_out, x, weight, mean, var, mask, eps, has_residual);
  const cudaStream_t stream = stream_for("vision_ext::_bn_add_relu_backward", c.x);
  at::Tensor ws = at::empty({static_cast<int64_t>(bn_workspace_bytes(c.x.size(1)))}, c.x.options().dtype(at::kByte));
  C10_CUDA_CHECK(launch_bn_add_relu_backward(c.params, scalar_kind_of(c.x), ws.data_ptr(), stream));
  return {c.grad_x, c.grad_weight.to(weight.scalar_type()), c.grad_bias.to(weight.scalar_type()), c.grad_residual};
}

}  // namespace

TORCH_LIBRARY_IMPL(vision_ext, CUDA, m) {
  m.impl("residual_epilogue", &residual_epilogue_cuda);
  m.impl("conv_bias_act", &conv_bias_act_cuda);
  m.impl("bn_add_relu", &bn_add_relu_cuda);
  m.impl("_bn_add_relu_backward", &bn_add_relu_backward_cuda);
}

}  // namespace vision_ext::cuda
