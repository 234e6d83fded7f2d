// The per-level kernels of the CPU colour family (colour_simd.cpp) and what the glue
// (../colour_kernel.cpp) hands them. Torch-free: the glue allocates every buffer.
#pragma once
#include <cstdint>

#include "../cpu_dispatch.h"
#include "vision_ext/colour.h"

namespace vision_ext::cpu {

// Gradient rows [y0, y1) of one image: `channels` planes of p.height x p.width pixels, one after the
// other; mag / dir point at the image's output planes; work: colour_gradient_work(...) doubles.
template <typename In, typename Out>
using ColourGradientRows = void (*)(const In* planes, int channels, const CornerParams& p, int y0, int y1, Out* mag,
                                    Out* dir, double* work);

// Scratch of one gradient_rows call: the output row's tensor sums (3 rows) and, per channel, a ring
// of 2R + 1 source rows' two row passes (R: the aperture's tap radius, 3 at most).
inline long long colour_gradient_work(int channels, int ksize, int width) {
  const int r = ksize == 5 ? 2 : ksize == 7 ? 3 : 1;
  return (3 + static_cast<long long>(channels) * (2 * r + 1) * 2) * width;
}

// Moments of n values (mask: keep where nonzero, or null): out = {count, mean, mean((x - mean)^2),
// mean((x - mean)^3)}; the sums run in double over 8 fixed lanes (the same bits at every level).
template <typename T>
using ColourMoments = void (*)(const T* src, const uint8_t* mask, int64_t n, double* out);

// Bin indices (-1: dropped) of n values under one rule (edges: the numpy edges array).
template <typename T>
using ColourBins = void (*)(const T* src, int64_t n, const BinRule& r, const double* edges, int32_t* idx);

// A dropped value's entry in joint_u8's table: the index parts of kept values sum to < 2^24, so
// any sum holding one of these (up to kJointU8MaxChannels of them) stays negative.
constexpr int32_t kJointDropped = -(int32_t(1) << 25);
constexpr int kJointU8MaxChannels = 16;

struct ColourKernels {
  // counts[v] += number of kept pixels with value v (counts: 256 entries).
  void (*count_u8)(const uint8_t* src, const uint8_t* mask, int64_t n, uint32_t* counts);
  // idx[i] = lut[src[i]] (lut: 256 bins or -1).
  void (*bins_u8)(const uint8_t* src, int64_t n, const int32_t* lut, int32_t* idx);
  ColourBins<float> bins_f32;
  ColourBins<double> bins_f64;
  // acc[i] = acc[i] < 0 || idx[i] < 0 ? -1 : acc[i] + idx[i] * stride (joint histogram indices).
  void (*combine)(const int32_t* idx, int64_t n, int32_t stride, int32_t* acc);
  // hist[idx[i]] += 1 for kept i with idx[i] >= 0; sub: 3 * bins scratch counters (more
  // histograms to break store-to-load chains), or null for one histogram.
  void (*scatter)(const int32_t* idx, const uint8_t* mask, int64_t n, uint32_t* hist, int bins, uint32_t* sub);
  // Joint uint8 histogram of n pixels of `channels` planes (channels <= kJointU8MaxChannels): index
  // sum_c lut[c * 256 + planes[c][i]] (bin * stride, or kJointDropped), counted where >= 0 and kept;
  // sub as scatter's.
  void (*joint_u8)(const uint8_t* const* planes, int channels, const int32_t* lut, const uint8_t* mask, int64_t n,
                   uint32_t* hist, int bins, uint32_t* sub);
  ColourMoments<float> moments_f32;
  ColourMoments<double> moments_f64;
  ColourGradientRows<uint8_t, float> gradient_u8;
  ColourGradientRows<float, float> gradient_f32;
  ColourGradientRows<double, double> gradient_f64;
};

}  // namespace vision_ext::cpu

VE_CPU_KERNELS(ColourKernels, colour)
