// CUDA launchers of the residual family (torch-free; defined in csrc/kernels/cuda/).
#pragma once
#include <cuda_runtime_api.h>

#include "vision_ext/batch_norm.h"
#include "vision_ext/epilogue.h"
#include "vision_ext/scalar_kind.h"

namespace vision_ext {

cudaError_t launch_residual_epilogue(const EpilogueParams& p, ScalarKind kind, cudaStream_t stream);

// workspace: at least bn_workspace_bytes(p.channels) bytes of device memory.
size_t bn_workspace_bytes(int64_t channels);
cudaError_t launch_bn_add_relu_forward(const BnForwardParams& p, ScalarKind kind, void* workspace,
                                       cudaStream_t stream);
cudaError_t launch_bn_add_relu_backward(const BnBackwardParams& p, ScalarKind kind, void* workspace,
                                        cudaStream_t stream);

}  // namespace vision_ext
