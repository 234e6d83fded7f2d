// Torch-free launchers of the blob CUDA kernels (csrc/kernels/cuda/blobs.cu). Planes are
// contiguous height x width doubles on the device; taps are device copies of the half kernels
// w[0..r] (vision_ext/blobs.h).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "vision_ext/blobs.h"

namespace vision_ext {

// Column correlation: outa with wa and, when wb is not null, outb with wb.
cudaError_t launch_blob_column_pass(const double* src, int height, int width, const double* wa, const double* wb,
                                    int r, double* outa, double* outb, cudaStream_t stream);

// LoG response out = -(rows_g(b) + rows_d2(a)) * norm.
cudaError_t launch_blob_row_log(const double* a, const double* b, int height, int width, const double* wg,
                                const double* wd2, int r, double norm, double* out, cudaStream_t stream);

// Gaussian rows g = rows_g(a) and, with `previous`, dog = (previous - g) * norm.
cudaError_t launch_blob_row_gauss(const double* a, int height, int width, const double* wg, int r,
                                  const double* previous, double norm, double* g, double* dog, cudaStream_t stream);

// flags[y * width + x] = 1 where the scale `mid` has a 3x3x3 maximum (lo / hi: the scales below /
// above, null at the ends of the stack) above thr, inside the border [ex_y, height - ex_y) x
// [ex_x, width - ex_x); 0 elsewhere.
cudaError_t launch_blob_maxima(const double* lo, const double* mid, const double* hi, int height, int width, int ex_y,
                               int ex_x, double thr, uint8_t* flags, cudaStream_t stream);

// Integral image (cumulative sums down the columns, then along the rows, serially like
// scikit-image) and one scale's determinant-of-Hessian response from it.
cudaError_t launch_blob_integral_image(const double* src, int height, int width, double* out, cudaStream_t stream);
cudaError_t launch_blob_doh(const double* ii, int height, int width, const blobs::DohBoxes& boxes, double* out,
                            cudaStream_t stream);

}  // namespace vision_ext
