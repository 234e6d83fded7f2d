// Torch-free launchers of the find_contours CUDA kernels (csrc/kernels/cuda/contours.cu). All
// pointers are device pointers into one image: values (h x w float64), mask (h x w uint8 or null).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "vision_ext/contours.h"

namespace vision_ext {

// counts[r * (w - 1) + c] = segments of cell (r, c) ((h - 1) x (w - 1) int32).
cudaError_t launch_contour_count(const double* values, const uint8_t* mask, long long h, long long w, double level,
                                 int32_t* counts, cudaStream_t stream);

// The segments of every cell at offsets[cell] (the exclusive prefix sum of counts, int64): the
// buffer comes out in row-major cell order, as on the CPU.
cudaError_t launch_contour_emit(const double* values, const uint8_t* mask, long long h, long long w, double level,
                                bool fully_connected_high, const int64_t* offsets, contours::Segment* out,
                                cudaStream_t stream);

}  // namespace vision_ext
