// The per-level kernels of the CPU blob family (LoG, DoG, DoH) (blobs_simd.cpp) and what the glue
// (../blobs_kernel.cpp) hands them. Torch-free: the glue allocates every buffer. Planes are
// contiguous height x width doubles; half kernels w[0..r] as in vision_ext/blobs.h.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../cpu_dispatch.h"
#include "vision_ext/blobs.h"

namespace vision_ext::cpu {

// Doubles of scratch one row-pass call needs for rows `width` wide and kernel radius r.
inline size_t blob_row_scratch_doubles(int width, int r) { return 2 * (static_cast<size_t>(width) + 2 * r + 8); }

struct BlobKernels {
  // Column correlation of rows [y0, y1) of src: outa with wa and, when wb is not null, outb with
  // wb (both kernels of radius r, one pass over the input). ymap[k] (k in [0, height + 2r)) is
  // the row that stands for row k - r (blobs::reflect_index).
  void (*column_pass)(const double* src, int height, int width, int y0, int y1, const int32_t* ymap,
                      const double* wa, const double* wb, int r, double* outa, double* outb);
  // `rows` rows of the LoG response: out = -(row_g(b) + row_d2(a)) * norm, where a is the
  // column-smoothed image and b its column second derivative. xmap[k] (k in [0, width + 2r))
  // is the column that stands for column k - r.
  void (*row_log)(const double* a, const double* b, int width, int rows, const int32_t* xmap, const double* wg,
                  const double* wd2, int r, double norm, double* out, double* scratch);
  // `rows` rows of a Gaussian: g = row_g(a); with `previous` (the last scale's Gaussian) also
  // dog = (previous - g) * norm.
  void (*row_gauss)(const double* a, int width, int rows, const int32_t* xmap, const double* wg, int r,
                    const double* previous, double norm, double* g, double* dog, double* scratch);
  // Candidates of row y of the scale `mid` (lo / hi: the scales below / above, null at the ends
  // of the stack): columns x in [x0, x1) whose value is > thr and >= every neighbour of its
  // 3x3x3 block clipped to the stack (scipy's maximum_filter, mode 'nearest'), in order into cols
  // (room for x1 - x0); their count returned.
  int (*row_maxima)(const double* lo, const double* mid, const double* hi, int height, int width, int y, int x0,
                    int x1, double thr, int32_t* cols);
  // Smallest and largest value of n doubles (n >= 1) into *lo, *hi.
  void (*min_max)(const double* p, long long n, double* lo, double* hi);
  // Integral image of a plane: cumulative sums down the columns, then along the rows
  // (scikit-image's integral_image, the same additions in the same order).
  void (*integral_image)(const double* src, int height, int width, double* out);
  // Row y of a determinant-of-Hessian response from the integral image `ii`.
  void (*row_doh)(const double* ii, int height, int width, int y, const blobs::DohBoxes& boxes, double* out);
};

}  // namespace vision_ext::cpu

VE_CPU_KERNELS(BlobKernels, blobs)
