// Torch-free launchers of the DDPM CUDA kernels (csrc/kernels/cuda/ddpm.cu). The glue
// (csrc/ops/cuda/ddpm_kernel.cpp) unpacks tensors into one params struct per op (ddpm_body.h);
// timesteps are int64 device arrays (one value, or one per sample) and the schedule is
// a float64 device table, so nothing is read back on the host.
#pragma once
#include <cuda_runtime.h>
#include <stdint.h>

#include "vision_ext/ddpm_body.h"  // the params structs
#include "vision_ext/scalar_kind.h"

namespace vision_ext {

cudaError_t launch_add_noise(const AddNoiseParams& p, ScalarKind dtype, cudaStream_t stream);
cudaError_t launch_ddpm_step(const StepParams& p, ScalarKind dtype, cudaStream_t stream);
cudaError_t launch_plms_step(const PlmsParams& p, ScalarKind dtype, cudaStream_t stream);
cudaError_t launch_philox_normal(void* out, int64_t numel, uint64_t seed, uint64_t offset, ScalarKind dtype,
                                 cudaStream_t stream);

}  // namespace vision_ext
