// The per-level kernels of the CPU corner family (corners_simd.cpp) and what the glue
// (../corners_kernel.cpp) hands them. Torch-free: the glue allocates every buffer.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../cpu_dispatch.h"
#include "vision_ext/harris.h"

namespace vision_ext::cpu {

// Doubles of scratch one call of a response kernel needs for a plane `width` wide (any input
// type: the kernel carves its rows out of it).
inline size_t corner_scratch_doubles(int width, int block_size) {
  const size_t w = static_cast<size_t>(width);
  return (w + 16)                                         // one source row with pad cells (T)
         + 2 * 8 * (w + 8)                                // row passes of 8 source rows (T)
         + 3 * (w + block_size + 8)                       // products of one row (T)
         + 3 * static_cast<size_t>(block_size) * (w + 8)  // ring of row window sums (double)
         + 3 * (w + 8);                                   // a, b, c of wide windows (double)
}

// A response plane's rows: src and dst are contiguous height x width.
template <typename In, typename T>
using CornerResponseRows = void (*)(const In* src, T* dst, const CornerParams& p, int y0, int y1, double* scratch);

struct CornerKernels {
  // Harris / min-eigenvalue response rows [y0, y1) of one plane; scratch: corner_scratch_doubles.
  CornerResponseRows<uint8_t, float> response_u8;
  CornerResponseRows<float, float> response_f32;
  CornerResponseRows<double, double> response_f64;
  // good_features_to_track's candidates on interior row `row` of a response plane `width` wide
  // (rows row - width and row + width readable): columns x in [1, width - 1) whose value is
  // > thr and >= its 8 neighbours (OpenCV's threshold + 3x3 dilation test, for thr >= 0), in
  // order into cols (room for width); their count returned.
  int (*gftt_row_f32)(const float* row, int width, float thr, int32_t* cols);
  int (*gftt_row_f64)(const double* row, int width, double thr, int32_t* cols);
  // The result of the scan "m = p[0]; then m = p[i] whenever p[i] > m" over p[0..n), n >= 1: the
  // largest value, NaNs after p[0] skipped (good_features_to_track's quality threshold).
  float (*running_max_f32)(const float* p, int64_t n);
  double (*running_max_f64)(const double* p, int64_t n);
  // FAST corners of one tested row (row points at its column 0, `stride` bytes between rows,
  // rows row - 3 * stride .. row + 3 * stride readable, width >= 7): their columns in raster
  // order into cols (room for width), their count returned; with `scores` each corner's score
  // goes to score[x], other entries are left as they are. n: circle size 16, 12 or 8.
  int (*fast_row)(int n, const uint8_t* row, std::ptrdiff_t stride, int width, int threshold, bool scores,
                  uint8_t* score, int32_t* cols);
};

}  // namespace vision_ext::cpu

VE_CPU_KERNELS(CornerKernels, corners)
