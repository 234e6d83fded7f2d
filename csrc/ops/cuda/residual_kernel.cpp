// CUDA glue of the residual family: the shared checks and buffers (../residual_common.h), then
// the current stream and dtype -> torch-free launchers in csrc/kernels/cuda.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include "residual_cuda.h"
#include "scalar_kind_of.h"
#include "vision_ext/residual_launch.h"

namespace vision_ext::residual {
namespace {

// The current stream of x's device, once the checks have put every tensor there.
cudaStream_t stream_for(const char* op, const at::Tensor& x) {
  TORCH_CHECK(x.is_cuda(), op, ": x is on ", x.device(), " but another argument is on CUDA; move all to one device");
  return c10::cuda::getCurrentCUDAStream();
}

at::Tensor bn_workspace(const at::Tensor& x) {
  return at::empty({static_cast<int64_t>(bn_workspace_bytes(x.size(1)))}, x.options().dtype(at::kByte));
}

}  // namespace

void Cuda::epilogue(const char* op, const EpilogueParams& p, const at::Tensor& x) {
  C10_CUDA_CHECK(launch_residual_epilogue(p, scalar_kind_of(x), stream_for(op, x)));
}

// cuDNN convolution through ATen, then one epilogue pass (bias + residual + ReLU) in place.
at::Tensor Cuda::conv_bias_act(const at::Tensor& x_in, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                               const std::optional<at::Tensor>& residual, at::IntArrayRef stride,
                               at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups, bool inner_relu,
                               bool outer_relu) {
  const char* op = "vision_ext::conv_bias_act";
  const Guard guard(x_in);
  check_conv(op, x_in, weight, bias, residual, stride, padding, dilation, groups);
  const auto format = layout_of(x_in);
  // x's layout, as the CPU op and the fake kernel: cuDNN picks channels_last from the weight too.
  at::Tensor out = at::convolution(x_in.contiguous(format), weight, std::nullopt, stride, padding, dilation, false,
                                   {0, 0}, groups)
                       .contiguous(format);
  if (out.numel() == 0) return out;
  const at::Tensor res = residual ? residual->contiguous(layout_of(out)) : at::Tensor();
  const at::Tensor shift = per_channel_as(bias, out);
  epilogue(op, epilogue_params(out, {}, shift, res, out, inner_relu, outer_relu), out);
  return out;
}

void Cuda::bn_forward(const BnForwardCall& c) {
  const cudaStream_t stream = stream_for("vision_ext::bn_add_relu", c.x);
  const at::Tensor ws = bn_workspace(c.x);
  C10_CUDA_CHECK(launch_bn_add_relu_forward(c.params, scalar_kind_of(c.x), ws.data_ptr(), stream));
}

void Cuda::bn_backward(const BnBackwardCall& c) {
  const cudaStream_t stream = stream_for("vision_ext::_bn_add_relu_backward", c.x);
  const at::Tensor ws = bn_workspace(c.x);
  C10_CUDA_CHECK(launch_bn_add_relu_backward(c.params, scalar_kind_of(c.x), ws.data_ptr(), stream));
}

TORCH_LIBRARY_IMPL(vision_ext, CUDA, m) { register_residual_ops<Cuda>(m); }

}  // namespace vision_ext::residual
