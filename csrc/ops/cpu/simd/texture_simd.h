// The per-level kernels of the CPU texture family (texture_simd.cpp) and what the glue
// (../texture_kernel.cpp) hands them. Torch-free: the glue allocates every buffer.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../cpu_dispatch.h"
#include "vision_ext/texture.h"

namespace vision_ext::cpu {

// Gradient orientation tests of the vector HOG path: bin = the number of interior edges k (1..n-1)
// with gr * cos_e[k] - gc * sin_e[k] >= 0 once the gradient is folded into the upper half plane;
// lanes within a relative `tol` of an edge take the exact path (vision_ext/texture.h hog_bin).
struct HogEdgeDirections {
  double cos_e[texture::kHogMaxOrientations + 1], sin_e[texture::kHogMaxOrientations + 1];
  double tol;
};

struct TextureKernels {
  // LBP codes of rows [y0, y1) of one image: `padded` is its zero-padded float64 plane
  // (texture::lbp_padded_plane), `out` its height x width codes. scratch: points * lanes doubles.
  void (*lbp_rows)(const texture::LbpParams& p, const double* padded, double* out, int y0, int y1, double* scratch);
  // Co-occurrence counts of one offset over one height x width image into hist (levels x levels,
  // zeroed by the caller); every pixel value is < levels (the glue checks).
  void (*glcm_count_u8)(const uint8_t* img, int height, int width, texture::GlcmOffset off, int levels, int32_t* hist);
  void (*glcm_count_i32)(const int32_t* img, int height, int width, texture::GlcmOffset off, int levels,
                         int32_t* hist);
  // The sums of one contiguous levels x levels matrix (correlation / variance need both passes;
  // `moments` = false skips the covariance pass). scratch: 4 * levels doubles.
  void (*glcm_sums)(const double* P, int levels, bool moments, texture::GlcmSums* out, double* scratch);
  // HOG cell histograms of cell row `cell_row` of one image (channels x height x width planes of S):
  // gradients, the per-pixel channel of largest magnitude, bins and the float32 cell totals into
  // hist (cells_col x orientations, zeroed by the caller). scratch: 4 * (width + 8) doubles.
  void (*hog_cells_f32)(const float* img, const texture::HogParams& p, const HogEdgeDirections& dirs, int cell_row,
                        float* hist, double* scratch);
  void (*hog_cells_f64)(const double* img, const texture::HogParams& p, const HogEdgeDirections& dirs, int cell_row,
                        float* hist, double* scratch);
  // uint8 images, read as the float64 image skimage makes of them.
  void (*hog_cells_u8)(const uint8_t* img, const texture::HogParams& p, const HogEdgeDirections& dirs, int cell_row,
                       float* hist, double* scratch);
};

}  // namespace vision_ext::cpu

VE_CPU_KERNELS(TextureKernels, texture)
