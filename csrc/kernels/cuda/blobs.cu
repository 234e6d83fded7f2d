// CUDA kernels of the blob family: the separable scale-space passes, the DoH boxes and the 3x3x3
// maxima, one
// thread per output pixel. The sums are those of vision_ext/blobs.h, in the CPU kernels' order, so
// both devices compute the same bits. Torch-free: pointers, sizes, plain params.
#include <cuda_runtime.h>

#include <cstdint>

#include "vision_ext/blobs.h"
#include "vision_ext/blobs_launch.h"

namespace vision_ext {
namespace {

using blobs::reflect_index;

constexpr int kBlockX = 32, kBlockY = 8;
constexpr long long kMaxGridY = 65535;

// Calls f(y, x) for every pixel, rows in grid strides (gridDim.y <= 65535).
template <typename F>
__device__ void for_each_pixel(int height, int width, F f) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  if (x >= width) return;
  for (int y = blockIdx.y * blockDim.y + threadIdx.y; y < height; y += gridDim.y * blockDim.y) f(y, x);
}

__global__ void column_pass_kernel(const double* __restrict__ src, int h, int w, const double* __restrict__ wa,
                                   const double* __restrict__ wb, int r, double* outa, double* outb) {
  for_each_pixel(h, w, [&](int y, int x) {
    auto at = [&](int k) { return src[static_cast<long long>(reflect_index(y + k, h)) * w + x]; };
    const long long i = static_cast<long long>(y) * w + x;
    outa[i] = blobs::symmetric_correlate<double>(at, wa, r);
    if (wb) outb[i] = blobs::symmetric_correlate<double>(at, wb, r);
  });
}

__device__ double row_sum(const double* row, int w, int x, const double* taps, int r) {
  auto at = [&](int k) { return row[reflect_index(x + k, w)]; };
  return blobs::symmetric_correlate<double>(at, taps, r);
}

__global__ void row_log_kernel(const double* __restrict__ a, const double* __restrict__ b, int h, int w,
                               const double* __restrict__ wg, const double* __restrict__ wd2, int r, double norm,
                               double* out) {
  for_each_pixel(h, w, [&](int y, int x) {
    const long long o = static_cast<long long>(y) * w;
    out[o + x] = blobs::log_response(row_sum(b + o, w, x, wg, r), row_sum(a + o, w, x, wd2, r), norm);
  });
}

__global__ void row_gauss_kernel(const double* __restrict__ a, int h, int w, const double* __restrict__ wg, int r,
                                 const double* previous, double norm, double* g, double* dog) {
  for_each_pixel(h, w, [&](int y, int x) {
    const long long i = static_cast<long long>(y) * w + x;
    const double v = row_sum(a + static_cast<long long>(y) * w, w, x, wg, r);
    g[i] = v;
    if (previous) dog[i] = blobs::dog_response(previous[i], v, norm);
  });
}

__global__ void maxima_kernel(const double* lo, const double* __restrict__ mid, const double* hi, int h, int w,
                              int ex_y, int ex_x, double thr, uint8_t* flags) {
  for_each_pixel(h, w, [&](int y, int x) {
    const long long i = static_cast<long long>(y) * w + x;
    uint8_t peak = 0;
    const double v = mid[i];
    if (y >= ex_y && y < h - ex_y && x >= ex_x && x < w - ex_x && v > thr) {
      peak = 1;
      const double* planes[3] = {lo, mid, hi};
      for (int p = 0; p < 3 && peak; ++p) {
        if (!planes[p]) continue;
        // 'nearest' borders repeat a sample already in the block: clipping the block is the same.
        for (int yy = y > 0 ? y - 1 : y; yy <= (y + 1 < h ? y + 1 : y) && peak; ++yy)
          for (int xx = x > 0 ? x - 1 : x; xx <= (x + 1 < w ? x + 1 : x); ++xx)
            if (planes[p][static_cast<long long>(yy) * w + xx] > v) peak = 0;
      }
    }
    flags[i] = peak;
  });
}

// One thread per column, then one per row: the serial order of the CPU's cumulative sums.
__global__ void integral_columns_kernel(const double* __restrict__ src, int h, int w, double* out) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  if (x >= w) return;
  double acc = src[x];
  out[x] = acc;
  for (int y = 1; y < h; ++y) {
    acc = acc + src[static_cast<long long>(y) * w + x];
    out[static_cast<long long>(y) * w + x] = acc;
  }
}

__global__ void integral_rows_kernel(int h, int w, double* out) {
  const int y = blockIdx.x * blockDim.x + threadIdx.x;
  if (y >= h) return;
  double* row = out + static_cast<long long>(y) * w;
  for (int x = 1; x < w; ++x) row[x] = row[x - 1] + row[x];
}

__device__ int clip_to(long long v, int hi) { return static_cast<int>(v < 0 ? 0 : (v > hi ? hi : v)); }

__global__ void doh_kernel(const double* __restrict__ ii, int h, int w, blobs::DohBoxes b, double* out) {
  for_each_pixel(h, w, [&](int y, int x) {
    double box[8];
    for (int k = 0; k < 8; ++k) {
      const int r0 = clip_to(static_cast<long long>(y) + b.dr[k], h - 1);
      const int r1 = clip_to(static_cast<long long>(r0) + b.rl[k], h - 1);
      const int c0 = clip_to(static_cast<long long>(x) + b.dc[k], w - 1);
      const int c1 = clip_to(static_cast<long long>(c0) + b.cl[k], w - 1);
      const double* near = ii + static_cast<long long>(r0) * w;
      const double* far = ii + static_cast<long long>(r1) * w;
      box[k] = blobs::box_sum(near[c0], far[c1], near[c1], far[c0]);
    }
    out[static_cast<long long>(y) * w + x] = blobs::doh_response(box, b.w_i);
  });
}

dim3 pixel_grid(int width, int height) {
  const long long gy = (height + kBlockY - 1) / kBlockY;
  return dim3((width + kBlockX - 1) / kBlockX, static_cast<unsigned>(gy < kMaxGridY ? gy : kMaxGridY));
}

}  // namespace

cudaError_t launch_blob_column_pass(const double* src, int height, int width, const double* wa, const double* wb,
                                    int r, double* outa, double* outb, cudaStream_t stream) {
  if (height == 0 || width == 0) return cudaSuccess;
  column_pass_kernel<<<pixel_grid(width, height), dim3(kBlockX, kBlockY), 0, stream>>>(src, height, width, wa, wb, r,
                                                                                       outa, outb);
  return cudaGetLastError();
}

cudaError_t launch_blob_row_log(const double* a, const double* b, int height, int width, const double* wg,
                                const double* wd2, int r, double norm, double* out, cudaStream_t stream) {
  if (height == 0 || width == 0) return cudaSuccess;
  row_log_kernel<<<pixel_grid(width, height), dim3(kBlockX, kBlockY), 0, stream>>>(a, b, height, width, wg, wd2, r,
                                                                                   norm, out);
  return cudaGetLastError();
}

cudaError_t launch_blob_row_gauss(const double* a, int height, int width, const double* wg, int r,
                                  const double* previous, double norm, double* g, double* dog, cudaStream_t stream) {
  if (height == 0 || width == 0) return cudaSuccess;
  row_gauss_kernel<<<pixel_grid(width, height), dim3(kBlockX, kBlockY), 0, stream>>>(a, height, width, wg, r,
                                                                                     previous, norm, g, dog);
  return cudaGetLastError();
}

cudaError_t launch_blob_maxima(const double* lo, const double* mid, const double* hi, int height, int width, int ex_y,
                               int ex_x, double thr, uint8_t* flags, cudaStream_t stream) {
  if (height == 0 || width == 0) return cudaSuccess;
  maxima_kernel<<<pixel_grid(width, height), dim3(kBlockX, kBlockY), 0, stream>>>(lo, mid, hi, height, width, ex_y,
                                                                                  ex_x, thr, flags);
  return cudaGetLastError();
}

cudaError_t launch_blob_integral_image(const double* src, int height, int width, double* out, cudaStream_t stream) {
  if (height == 0 || width == 0) return cudaSuccess;
  integral_columns_kernel<<<(width + 127) / 128, 128, 0, stream>>>(src, height, width, out);
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return err;
  integral_rows_kernel<<<(height + 127) / 128, 128, 0, stream>>>(height, width, out);
  return cudaGetLastError();
}

cudaError_t launch_blob_doh(const double* ii, int height, int width, const blobs::DohBoxes& boxes, double* out,
                            cudaStream_t stream) {
  if (height == 0 || width == 0) return cudaSuccess;
  doh_kernel<<<pixel_grid(width, height), dim3(kBlockX, kBlockY), 0, stream>>>(ii, height, width, boxes, out);
  return cudaGetLastError();
}

}  // namespace vision_ext
