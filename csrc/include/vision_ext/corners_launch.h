// Torch-free launchers of the corner CUDA kernels (csrc/kernels/cuda/corners.cu).
// Every image is B contiguous planes of height x width; all pointers are device pointers.
// Any batch size and height the int64/int32 arguments hold: the kernels walk rows and
// planes in grid strides (gridDim.y/z <= 65535).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "vision_ext/harris.h"

namespace vision_ext {

// Harris / min-eigenvalue response (p.harris selects), dst has the planes' shape.
// In/T: (uint8_t, float), (float, float), (double, double).
template <typename In, typename T>
cudaError_t launch_corner_response(const In* src, T* dst, long long batch, const CornerParams& p, cudaStream_t stream);

struct FastParams {
  int height;
  int width;
  int threshold;  // 0..255
  int pattern;    // 16, 12 or 8 circle points
  int nonmax;     // 1: scores + 3x3 non-maximum suppression
};

// corner/score/keep: zero-initialised uint8 planes. Writes corner flags and scores (nonmax),
// then keep = corner and (no nonmax, or score above all 8 neighbours).
cudaError_t launch_fast(const uint8_t* src, uint8_t* corner, uint8_t* score, uint8_t* keep, long long batch,
                        const FastParams& p, cudaStream_t stream);

// Candidates of good-features-to-track: cand[i] = response if the pixel is an interior 3x3
// maximum of the thresholded response (threshold max_value[b] * quality) inside the mask,
// else `empty` (-inf). mask may be null.
template <typename S>
cudaError_t launch_gftt_candidates(const S* resp, const uint8_t* mask, const S* max_value, double quality, long long batch,
                                   int height, int width, S empty, S* cand, cudaStream_t stream);

// Greedy minimum-distance selection over candidates sorted by value (best first), one block
// per image: sorted_val/sorted_idx are (batch, height*width), ncand (batch,). Writes up to
// `capacity` points per image into xy (batch, capacity, 2) / scores (batch, capacity) and counts.
template <typename S>
cudaError_t launch_gftt_select(const S* sorted_val, const int64_t* sorted_idx, const int64_t* ncand, long long batch,
                               int height, int width, long long capacity, double min_distance, float* xy, S* scores,
                               int64_t* counts, cudaStream_t stream);

}  // namespace vision_ext
