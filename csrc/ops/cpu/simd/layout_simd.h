// The per-level NCHW -> NHWC transpose (layout_simd.cpp) behind the CPU channels_last conversion of
// layout_kernel.cpp. Torch-free.
#pragma once
#include <cstdint>

#include "../cpu_dispatch.h"

namespace vision_ext::cpu {

struct LayoutKernels {
  // out[q][c] = in[c][q] for channels [c0, c1) and pixels [q0, q1) of one C x P fp32 image.
  void (*nchw_to_nhwc)(const float* in, float* out, int64_t C, int64_t P, int64_t c0, int64_t c1, int64_t q0,
                       int64_t q1);
};

}  // namespace vision_ext::cpu

VE_CPU_KERNELS(LayoutKernels, layout)
