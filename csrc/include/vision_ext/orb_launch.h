// Torch-free launchers of the ORB CUDA kernels (csrc/kernels/cuda/orb.cu); all pointers are device
// pointers, planes are contiguous (row stride = width). The maths is vision_ext/orb.h's.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace vision_ext {

// dst (dw x dh) = src (sw x sh) resized, orb_resize_pixel per pixel.
cudaError_t launch_orb_resize(const uint8_t* src, int sw, int sh, uint8_t* dst, int dw, int dh, cudaStream_t stream);

// Harris score (orb_harris_at) of n points of one plane.
cudaError_t launch_orb_harris(const uint8_t* plane, int w, int h, const int64_t* xs, const int64_t* ys, long long n,
                              float* out, cudaStream_t stream);

// Angles (degrees) and 32-byte descriptors of n keypoints; keypoint i lies on level levels[i], whose
// plane starts at pyramid + offsets[level] with row stride widths[level] (offsets / widths: device
// arrays of the levels).
cudaError_t launch_orb_describe(const uint8_t* pyramid, const int64_t* offsets, const int64_t* widths,
                                const int64_t* xs, const int64_t* ys, const int64_t* levels, long long n,
                                int half_patch, float* angles, uint8_t* desc, cudaStream_t stream);

// For each of nq queries (32 bytes each) the nearest of nt trains: distance, first index (-1 when
// nt = 0) and the second smallest distance (INT32_MAX when nt < 2).
cudaError_t launch_orb_hamming(const uint8_t* q, long long nq, const uint8_t* t, long long nt, int32_t* best_d,
                               int64_t* best_i, int32_t* second_d, cudaStream_t stream);

}  // namespace vision_ext
