// Torch-free launchers of the GroupNorm (+ SiLU) CUDA kernels (csrc/kernels/cuda/group_norm.cu),
// called by csrc/ops/cuda/group_norm_kernel.cpp. x / out / grad tensors are in the element type
// `dtype`; weight, bias, mean, rstd and the (C,) gradients are in its accumulate type (double for
// f64, else float). All pointers are device pointers; channels_last means (N, HW, C) storage.
#pragma once
#include <cuda_runtime.h>
#include <stdint.h>

#include "vision_ext/scalar_kind.h"

namespace vision_ext {

struct GroupNormShape {
  long long n, c, hw, groups;
  int channels_last;
  int act;  // GroupNormAct (vision_ext/group_norm.h)
};

struct GroupNormForwardParams {
  GroupNormShape s;
  const void* x;
  const void* weight;
  const void* bias;
  void* out;
  void* mean;  // (N, groups)
  void* rstd;
  double eps;
};

struct GroupNormBackwardParams {
  GroupNormShape s;
  const void* grad_out;
  const void* x;
  const void* mean;
  const void* rstd;
  const void* weight;
  const void* bias;
  void* grad_x;
  void* grad_weight;  // (C,)
  void* grad_bias;
  double* sums;       // workspace: 2 * N * C doubles (sum g, sum g * (x - mean))
  double* constants;  // workspace: 2 * N * groups doubles (c2, c3)
};

cudaError_t launch_group_norm_forward(const GroupNormForwardParams& p, ScalarKind dtype, cudaStream_t stream);
cudaError_t launch_group_norm_backward(const GroupNormBackwardParams& p, ScalarKind dtype, cudaStream_t stream);

}  // namespace vision_ext
