// The per-level kernels of CPU find_contours (contours_simd.cpp) and what the glue
// (../contours_kernel.cpp) hands them: rows of one image as float64, the pixel classification
// bytes, and the segment buffer. Torch-free.
#pragma once
#include <cstdint>

#include "../cpu_dispatch.h"
#include "vision_ext/contours.h"

namespace vision_ext::cpu {

struct ContourKernels {
  // *lo, *hi = the min and max of values[0, n) that are not NaN (+inf, -inf when there are none).
  void (*min_max)(const double* values, int64_t n, double* lo, double* hi);
  // bits[x] = contours::pixel_bits(row[x], level, mask ? mask[x] : 1) for x < width.
  void (*classify_row)(const double* row, const uint8_t* mask, int64_t width, double level, uint8_t* bits);
  // Segments the cells between two classified rows emit (width - 1 cells).
  int64_t (*count_cells)(const uint8_t* top_bits, const uint8_t* bottom_bits, int64_t width);
  // The segments of cell row r (pixel rows r and r + 1 of an h x width image), in column order, into
  // out (count_cells of the same rows entries); returns how many were written.
  int64_t (*emit_cells)(const double* top, const double* bottom, const uint8_t* top_bits, const uint8_t* bottom_bits,
                        int64_t r, int64_t h, int64_t width, double level, bool fully_connected_high,
                        contours::Segment* out);
};

}  // namespace vision_ext::cpu

VE_CPU_KERNELS(ContourKernels, contours)
