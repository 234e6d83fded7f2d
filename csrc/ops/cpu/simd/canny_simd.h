// The per-level kernels of CPU Canny (canny_simd.cpp) and what the glue (../canny_kernel.cpp) hands
// them: plain pointers into its band workspaces. Torch-free.
#pragma once
#include <cstdint>

#include "../cpu_dispatch.h"
#include "vision_ext/canny.h"

namespace vision_ext::cpu {

struct CannyKernels {
  // Gradients of image rows [y0, y1) of `src` (p.channels planes of height x width): for each
  // pixel the derivatives (int16) and magnitude (int32) of the channel with the largest
  // magnitude (the first on ties). Row y goes to row y - y0 of dx / dy (stride width) and of
  // mag (stride mag_stride). work: 2 * (width + 2 * kMaxRadius) int32.
  void (*gradient_rows)(const uint8_t* src, const canny::CannyParams& p, int y0, int y1, int32_t* work, int16_t* dx,
                        int16_t* dy, int32_t* mag, int64_t mag_stride);
  // Non-maximum suppression of `rows` rows of `width` pixels into state (canny::kNotEdge / kWeak /
  // kStrong, stride state_stride). mag points at the first pixel: the rows above and below and
  // the columns -1 and width must be readable (zero outside the image).
  void (*suppress_rows)(const int16_t* dx, const int16_t* dy, const int32_t* mag, int64_t mag_stride, int rows,
                        int width, int low, int high, uint8_t* state, int64_t state_stride);
  // out = 255 where state is kStrong, else 0 (after hysteresis has promoted the connected weak pixels).
  void (*finish_row)(const uint8_t* state, int width, uint8_t* out);
};

}  // namespace vision_ext::cpu

VE_CPU_KERNELS(CannyKernels, canny)
