// CUDA glue of the GroupNorm (+ SiLU) family: the shared checks of group_norm_common.h, then the
// torch-free launchers of csrc/kernels/cuda/group_norm.cu on the current stream.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include "../group_norm_common.h"
#include "scalar_kind_of.h"
#include "vision_ext/group_norm_launch.h"

namespace vision_ext::group_norm {
namespace {

GroupNormShape launch_shape(const Shape& s, int act) {
  return GroupNormShape{s.n, s.c, s.hw, s.groups, s.channels_last ? 1 : 0, act};
}

// The CUDA backend of the ops in group_norm_common.h.
struct Cuda {
  using Guard = c10::cuda::CUDAGuard;

  static void forward(const ForwardArgs& f) {
    GroupNormForwardParams p{};
    p.s = launch_shape(f.s, f.act);
    p.x = f.x.data_ptr();
    p.weight = f.weight.data_ptr();
    p.bias = f.bias.data_ptr();
    p.out = f.out.data_ptr();
    p.mean = f.mean.data_ptr();
    p.rstd = f.rstd.data_ptr();
    p.eps = f.eps;
    C10_CUDA_CHECK(launch_group_norm_forward(p, scalar_kind_of(f.x), c10::cuda::getCurrentCUDAStream()));
  }

  static void backward(BackwardArgs& a) {
    at::Tensor sums = at::empty({2 * a.s.n * a.s.c}, a.x.options().dtype(at::kDouble));
    at::Tensor constants = at::empty({2 * a.s.n * a.s.groups}, a.x.options().dtype(at::kDouble));
    GroupNormBackwardParams p{};
    p.s = launch_shape(a.s, a.act);
    p.grad_out = a.grad_out.data_ptr();
    p.x = a.x.data_ptr();
    p.mean = a.mean.data_ptr();
    p.rstd = a.rstd.data_ptr();
    p.weight = a.weight.data_ptr();
    p.bias = a.bias.data_ptr();
    p.grad_x = a.grad_x.data_ptr();
    p.grad_weight = a.grad_weight.data_ptr();
    p.grad_bias = a.grad_bias.data_ptr();
    p.sums = sums.data_ptr<double>();
    p.constants = constants.data_ptr<double>();
    C10_CUDA_CHECK(launch_group_norm_backward(p, scalar_kind_of(a.x), c10::cuda::getCurrentCUDAStream()));
  }
};

}  // namespace
}  // namespace vision_ext::group_norm

TORCH_LIBRARY_IMPL(vision_ext, CUDA, m) {
  vision_ext::group_norm::register_group_norm_ops<vision_ext::group_norm::Cuda>(m);
}
