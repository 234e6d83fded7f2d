// Torch-free launchers of the texture CUDA kernels (csrc/kernels/cuda/texture.cu). All pointers are
// device pointers; images are `batch` contiguous planes.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "vision_ext/texture.h"

namespace vision_ext {

// Properties graycoprops computes in one launch (indices of texture::GlcmProp).
constexpr int kGlcmMaxProps = 32;
struct GlcmPropList {
  int count;
  int prop[kGlcmMaxProps];
};

// LBP codes: padded is batch zero-padded float64 planes (texture::lbp_padded_plane), out batch x h x w.
cudaError_t launch_lbp(const double* padded, long long batch, const texture::LbpParams& p, double* out,
                       cudaStream_t stream);

// Co-occurrence counts of K offsets: hist (batch, K, levels, levels) int32, zeroed by the caller.
// img: uint8 (is_u8) or int32 values < levels.
cudaError_t launch_glcm_count(const void* img, bool is_u8, long long batch, int height, int width,
                              const texture::GlcmOffset* offsets, int K, int levels, int32_t* hist,
                              cudaStream_t stream);

// hist -> out (batch, levels, levels, K): symmetric sum, then division by pairs[k] (* 2 if
// symmetric, 0 counts as 1) when normed (out_f64), else int32 counts (out_i32).
cudaError_t launch_glcm_finish(const int32_t* hist, long long batch, int K, int levels, const long long* pairs,
                               bool symmetric, bool normed, int32_t* out_i32, double* out_f64, cudaStream_t stream);

// graycoprops of `count` contiguous levels x levels float64 matrices (matrix i = n * K + k) into
// out[(n * props.count + j) * K + k].
cudaError_t launch_glcm_props(const double* m, long long count, int K, int levels, const GlcmPropList& props,
                              double* out, cudaStream_t stream);

// HOG of batch images (channels x height x width of `kind`: 0 double, 1 float, 2 uint8):
// features (batch, blocks_row, blocks_col, block_rows, block_cols, orientations) of the image's
// float type (double for uint8);
// vis (batch, height, width) zeroed by the caller or null; work buffers from texture_hog_workspace.
struct HogWorkspace {
  uint8_t* bins;     // batch * cells_row * cell_rows * cells_col * cell_cols
  double* mags;      // same count
  float* hist;       // batch * cells_row * cells_col * orientations
  double* blocks;    // batch * blocks_row * blocks_col * block_rows * block_cols * orientations
  const double* line_dr;  // orientations: radius * sin / cos of each bin's middle angle
  const double* line_dc;
};
cudaError_t launch_hog(const void* img, int kind, long long batch, const texture::HogParams& p,
                       const HogWorkspace& ws, void* features, void* vis, cudaStream_t stream);

}  // namespace vision_ext
