// Torch-free launchers of the Canny CUDA kernels (csrc/kernels/cuda/canny.cu). All pointers are
// device pointers; `src` is batch images of p.channels contiguous planes of p.height x p.width.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "vision_ext/canny.h"

namespace vision_ext {

// Padded planes: the magnitude and state maps of every image carry a one-pixel zero border.
inline long long canny_padded_plane(const canny::CannyParams& p) {
  return static_cast<long long>(p.height + 2) * (p.width + 2);
}

// Gradients (dx, dy: batch x h x w int16; mag: batch padded int32 planes) and non-maximum
// suppression into state (batch padded uint8 planes of canny::kNotEdge / kWeak / kStrong).
cudaError_t launch_canny_suppress(const uint8_t* src, long long batch, const canny::CannyParams& p, int16_t* dx,
                                  int16_t* dy, int32_t* mag, uint8_t* state, cudaStream_t stream);

// `passes` hysteresis passes over state, each gated on the device: pass i runs only if
// pass_flags[i] != 0 and sets pass_flags[i + 1] when it promoted a pixel. Each pass settles every
// 32x32 tile to its own fixed point in shared memory, so a pass carries edges across whole tiles.
// pass_flags: passes + 1 ints; the launcher sets [0] = 1 and clears the rest (stream-ordered), and
// pass_flags[passes] != 0 afterwards means "not converged yet: launch again". No host sync.
cudaError_t launch_canny_hysteresis(uint8_t* state, long long batch, const canny::CannyParams& p, int* pass_flags,
                                    int passes, cudaStream_t stream);

// out (batch x h x w) = 255 where state is kStrong, else 0.
cudaError_t launch_canny_finish(const uint8_t* state, long long batch, const canny::CannyParams& p, uint8_t* out,
                                cudaStream_t stream);

}  // namespace vision_ext
