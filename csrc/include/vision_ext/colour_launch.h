// Torch-free launchers of the colour CUDA kernels (csrc/kernels/cuda/colour.cu), called by
// csrc/ops/cuda/colour_kernel.cpp. All pointers are device pointers; images are b x c contiguous
// planes of hw pixels, mask (when not null) b rows of hw uint8 (nonzero = keep).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "vision_ext/colour.h"

namespace vision_ext {

enum class ColourDtype : int { u8 = 0, f32 = 1, f64 = 2 };

struct ColourImages {
  const void* src;
  ColourDtype dtype;
  const uint8_t* mask;
  long long b, c, hw;
};

// Per-channel (joint = 0: out b x width, channel ch from rules[ch].offset) or joint (joint = 1: out b x
// width, index sum_c bin_c * rules[c].offset) histograms added into out (zeroed by the caller).
// rules: c BinRule; edges: the numpy edges; lut: c x 256 bins of uint8 values (u8 images only).
struct ColourHistParams {
  ColourImages im;
  const BinRule* rules;
  const double* edges;
  const int32_t* lut;
  int joint;
  long long width;
  int max_bins;  // the largest rules[c].bins (per channel) or width (joint): sizes the shared histogram
  long long* out;
};

cudaError_t launch_colour_histogram(const ColourHistParams& p, cudaStream_t stream);

// out: b x c x 3 (float for u8 / f32 images, double for f64): mean, mean((x-mean)^2), mean((x-mean)^3).
cudaError_t launch_colour_moments(const ColourImages& im, void* out, cudaStream_t stream);

// mag, dir: b planes of p.height x p.width (float for u8 / f32 images, double for f64).
cudaError_t launch_colour_gradient(const ColourImages& im, const CornerParams& p, void* mag, void* dir,
                                   cudaStream_t stream);

}  // namespace vision_ext
