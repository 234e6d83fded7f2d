// Torch-free launchers of the shape CUDA kernels (csrc/kernels/cuda/shape.cu). ids: batch contiguous
// height x width int32 planes of slot ids (0 = background); all pointers are device pointers. Every
// sum is an integer added with integer atomics, so the results do not depend on the order the
// threads run in: the same bits as the CPU kernels.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace vision_ext {

// Adds each slot's 128-bit raw moments (slots x 20 words, zeroed), border pixel counts per weight
// class (slots x 3, zeroed) and bounding box (slots x 4 int32: min row, min col, max row, max col,
// set to INT32_MAX, INT32_MAX, -1, -1).
cudaError_t launch_shape_sums(const int32_t* ids, long long batch, int height, int width,
                              unsigned long long* moments, unsigned long long* perimeter, int* box,
                              cudaStream_t stream);

// Leftmost / rightmost column of each slot on each of its box's rows: row y of slot s at
// extents[2 * (row_offset[s] + y - box[4 * s])] and the word after it (set to INT32_MAX, -1).
cudaError_t launch_shape_extents(const int32_t* ids, long long batch, int height, int width, const int* box,
                                 const long long* row_offset, int* extents, cudaStream_t stream);

}  // namespace vision_ext
