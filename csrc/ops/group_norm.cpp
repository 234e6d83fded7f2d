// Schemas of the fused GroupNorm (+ SiLU) family (CPU: cpu/group_norm_kernel.cpp, CUDA:
// cuda/group_norm_kernel.cpp; the per-element maths is vision_ext/group_norm.h).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(vision_ext, m) {
  // out = act(F.group_norm(x, groups, weight, bias, eps)), act "silu" or "none", in x's memory format
  // (channels_last stays channels_last). mean, rstd: (N, groups) statistics in float32 (float64 for
  // float64 x) for the backward.
  m.def("group_norm(Tensor x, int groups, Tensor? weight, Tensor? bias, float eps, str act) "
        "-> (Tensor out, Tensor mean, Tensor rstd)");
  // Backward of group_norm: (grad_x, grad_weight, grad_bias); the (C,) gradients are computed
  // with weight = 1 / bias = 0 when those are absent (in x's dtype then, else the parameter's).
  m.def("_group_norm_backward(Tensor grad_out, Tensor x, Tensor mean, Tensor rstd, Tensor? weight, "
        "Tensor? bias, int groups, str act) -> (Tensor, Tensor, Tensor)");
}
