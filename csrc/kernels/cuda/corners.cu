// CUDA kernels of the corner family. Torch-free: pointers, sizes, plain params.
// The per-pixel arithmetic comes from vision_ext/harris.h and fast.h, shared with the CPU.
#include <cuda_runtime.h>

#include <cstdint>

#include "vision_ext/corners_launch.h"
#include "vision_ext/fast.h"
#include "vision_ext/harris.h"

namespace vision_ext {
namespace {

constexpr int kTileX = kCornerTileX;
constexpr int kTileY = kCornerTileY;
// gridDim.y and gridDim.z may not exceed 65535: taller images and larger batches are
// walked by grid-stride loops over rows (tile rows) and planes.
constexpr long long kMaxGridYZ = 65535;

// One thread per output pixel. For each of its tiles the block first fills shared memory
// with the derivative products of the tile plus the window halo (corner_products_at
// applies the border rule, as the CPU does), then scores each window
// (corner_window_response: the CPU kernel's summation order, so the bits match).
template <typename In, typename T>
__global__ void corner_response_kernel(const In* __restrict__ src, T* __restrict__ dst, long long batch, int tiles_y,
                                       CornerParams p, SobelTaps taps) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* sxx = reinterpret_cast<T*>(smem_raw);
  const int lo = p.block_size / 2;
  const int sw = corner_tile_extent(kTileX, p.block_size), sn = sw * corner_tile_extent(kTileY, p.block_size);
  T* sxy = sxx + sn;
  T* syy = sxy + sn;
  const long long hw = static_cast<long long>(p.height) * p.width;
  const int tid = threadIdx.y * kTileX + threadIdx.x;
  const int x0 = static_cast<int>(blockIdx.x) * kTileX - lo, x = x0 + lo + threadIdx.x;
  // The loop bounds are the same for every thread of the block, so the barriers are safe.
  for (long long n = blockIdx.z; n < batch; n += gridDim.z) {
    const In* img = src + n * hw;
    for (int ty = blockIdx.y; ty < tiles_y; ty += gridDim.y) {
      const int y0 = ty * kTileY - lo, y = y0 + lo + threadIdx.y;
      for (int i = tid; i < sn; i += kTileX * kTileY)
        corner_products_at<T, In>(img, p, taps, x0 + i % sw, y0 + i / sw, sxx + i, sxy + i, syy + i);
      __syncthreads();
      if (x < p.width && y < p.height)
        dst[n * hw + static_cast<long long>(y) * p.width + x] =
            corner_window_response(sxx, sxy, syy, threadIdx.y * sw + threadIdx.x, sw, p);
      __syncthreads();  // the next tile overwrites shared memory
    }
  }
}

template <int N>
__device__ void fast_pixel(const uint8_t* center, int width, int t, int nonmax, uint8_t* corner, uint8_t* score) {
  int circle[N];
  fast_load_circle<N>(center, width, circle);
  const int v = center[0];
  if (!fast_is_corner<N>(v, circle, t)) return;
  *corner = 1;
  if (nonmax) *score = static_cast<uint8_t>(fast_score<N>(v, circle));
}

// Calls f(n, y, x) for every pixel of a batch of planes, walking rows and planes in grid
// strides (see kMaxGridYZ); one column per thread.
template <typename F>
__device__ void for_each_pixel(long long batch, int height, int width, F f) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  if (x >= width) return;
  for (long long n = blockIdx.z; n < batch; n += gridDim.z)
    for (int y = blockIdx.y * blockDim.y + threadIdx.y; y < height; y += gridDim.y * blockDim.y) f(n, y, x);
}

__global__ void fast_detect_kernel(const uint8_t* __restrict__ src, uint8_t* corner, uint8_t* score, long long batch,
                                   FastParams p) {
  const long long hw = static_cast<long long>(p.height) * p.width;
  for_each_pixel(batch, p.height, p.width, [&](long long n, int y, int x) {
    if (x < kFastBorder || y < kFastBorder || x >= p.width - kFastBorder || y >= p.height - kFastBorder) return;
    const long long i = n * hw + static_cast<long long>(y) * p.width + x;
    if (p.pattern == 16)
      fast_pixel<16>(src + i, p.width, p.threshold, p.nonmax, corner + i, score + i);
    else if (p.pattern == 12)
      fast_pixel<12>(src + i, p.width, p.threshold, p.nonmax, corner + i, score + i);
    else
      fast_pixel<8>(src + i, p.width, p.threshold, p.nonmax, corner + i, score + i);
  });
}

// Only tested pixels (3 inside the edge) are corners, so all 8 neighbours are in the plane.
__global__ void fast_nms_kernel(const uint8_t* __restrict__ corner, const uint8_t* __restrict__ score, uint8_t* keep,
                                long long batch, FastParams p) {
  const long long hw = static_cast<long long>(p.height) * p.width;
  for_each_pixel(batch, p.height, p.width, [&](long long n, int y, int x) {
    const long long i = n * hw + static_cast<long long>(y) * p.width + x;
    if (!corner[i]) return;
    if (p.nonmax) {
      const int s = score[i];
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx)
          if ((dx || dy) && s <= score[i + static_cast<long long>(dy) * p.width + dx]) return;
    }
    keep[i] = 1;
  });
}

template <typename S>
__device__ S thresholded(S v, S thr) {
  return v > thr ? v : S(0);
}

template <typename S>
__global__ void gftt_candidates_kernel(const S* __restrict__ resp, const uint8_t* __restrict__ mask,
                                       const S* __restrict__ max_value, double quality, long long batch, int height,
                                       int width, S empty, S* cand) {
  const long long hw = static_cast<long long>(height) * width;
  for_each_pixel(batch, height, width, [&](long long n, int y, int x) {
    const long long i = n * hw + static_cast<long long>(y) * width + x;
    S out = empty;
    if (x >= 1 && y >= 1 && x < width - 1 && y < height - 1 && (!mask || mask[i])) {
      const S thr = static_cast<S>(static_cast<double>(max_value[n]) * quality);
      const S v = thresholded(resp[i], thr);
      bool is_max = v != S(0);
      for (int dy = -1; dy <= 1 && is_max; ++dy)
        for (int dx = -1; dx <= 1; ++dx)
          if (thresholded(resp[i + static_cast<long long>(dy) * width + dx], thr) > v) is_max = false;
      if (is_max) out = v;
    }
    cand[i] = out;
  });
}

// One block per image walks the sorted candidates in order; the block's threads share
// the distance test against the points accepted so far (kept in the output itself).
template <typename S>
__global__ void gftt_select_kernel(const S* __restrict__ sorted_val, const int64_t* __restrict__ sorted_idx,
                                   const int64_t* __restrict__ ncand, long long batch, long long hw, int width,
                                   long long capacity, double min_distance, float* xy, S* scores, int64_t* counts) {
  const bool check = min_distance >= 1.0;
  const double md2 = min_distance * min_distance;
  for (long long b = blockIdx.x; b < batch; b += gridDim.x) {
    const S* val = sorted_val + b * hw;
    const int64_t* idx = sorted_idx + b * hw;
    float* out = xy + b * capacity * 2;
    S* sc = scores + b * capacity;
    const long long n = ncand[b] < hw ? ncand[b] : hw;
    long long accepted = 0;
    for (long long i = 0; i < n && accepted < capacity; ++i) {
      const int64_t pix = idx[i];
      const double x = static_cast<double>(pix % width), y = static_cast<double>(pix / width);
      int close = 0;
      if (check)
        for (long long j = threadIdx.x; j < accepted; j += blockDim.x) {
          const double dx = x - out[2 * j], dy = y - out[2 * j + 1];
          if (dx * dx + dy * dy < md2) close = 1;
        }
      close = __syncthreads_or(close);
      if (!close) {
        if (threadIdx.x == 0) {
          out[2 * accepted] = static_cast<float>(x);
          out[2 * accepted + 1] = static_cast<float>(y);
          sc[accepted] = val[i];
        }
        ++accepted;
      }
      __syncthreads();  // thread 0's write is visible to the next distance test
    }
    if (threadIdx.x == 0) counts[b] = accepted;
  }
}

unsigned capped(long long n, long long cap) { return static_cast<unsigned>(n < cap ? n : cap); }

dim3 pixel_grid(int width, int height, long long batch, dim3 block) {
  return dim3((width + block.x - 1) / block.x, capped((height + block.y - 1) / block.y, kMaxGridYZ),
              capped(batch, kMaxGridYZ));
}

}  // namespace

template <typename In, typename T>
cudaError_t launch_corner_response(const In* src, T* dst, long long batch, const CornerParams& p,
                                   cudaStream_t stream) {
  if (batch == 0 || p.height == 0 || p.width == 0) return cudaSuccess;
  const size_t smem = 3 * sizeof(T) * corner_tile_extent(kTileX, p.block_size) *
                      corner_tile_extent(kTileY, p.block_size);
  auto kernel = corner_response_kernel<In, T>;
  if (smem > 48 * 1024) {
    const cudaError_t err =
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
    if (err != cudaSuccess) return err;
  }
  const dim3 block(kTileX, kTileY);
  const int tiles_y = (p.height + kTileY - 1) / kTileY;
  kernel<<<pixel_grid(p.width, p.height, batch, block), block, smem, stream>>>(src, dst, batch, tiles_y, p,
                                                                              sobel_taps(p.ksize));
  return cudaGetLastError();
}

template cudaError_t launch_corner_response<uint8_t, float>(const uint8_t*, float*, long long, const CornerParams&,
                                                            cudaStream_t);
template cudaError_t launch_corner_response<float, float>(const float*, float*, long long, const CornerParams&,
                                                          cudaStream_t);
template cudaError_t launch_corner_response<double, double>(const double*, double*, long long, const CornerParams&,
                                                            cudaStream_t);

cudaError_t launch_fast(const uint8_t* src, uint8_t* corner, uint8_t* score, uint8_t* keep, long long batch,
                        const FastParams& p, cudaStream_t stream) {
  if (batch == 0 || p.height <= 2 * kFastBorder || p.width <= 2 * kFastBorder) return cudaSuccess;
  const dim3 block(32, 8);
  const dim3 grid = pixel_grid(p.width, p.height, batch, block);
  fast_detect_kernel<<<grid, block, 0, stream>>>(src, corner, score, batch, p);
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return err;
  fast_nms_kernel<<<grid, block, 0, stream>>>(corner, score, keep, batch, p);
  return cudaGetLastError();
}

template <typename S>
cudaError_t launch_gftt_candidates(const S* resp, const uint8_t* mask, const S* max_value, double quality,
                                   long long batch, int height, int width, S empty, S* cand, cudaStream_t stream) {
  if (batch == 0 || height == 0 || width == 0) return cudaSuccess;
  const dim3 block(32, 8);
  gftt_candidates_kernel<S><<<pixel_grid(width, height, batch, block), block, 0, stream>>>(
      resp, mask, max_value, quality, batch, height, width, empty, cand);
  return cudaGetLastError();
}

template <typename S>
cudaError_t launch_gftt_select(const S* sorted_val, const int64_t* sorted_idx, const int64_t* ncand, long long batch,
                               int height, int width, long long capacity, double min_distance, float* xy, S* scores,
                               int64_t* counts, cudaStream_t stream) {
  if (batch == 0 || capacity == 0 || height == 0 || width == 0) return cudaSuccess;
  gftt_select_kernel<S><<<capped(batch, 0x7fffffff), 256, 0, stream>>>(
      sorted_val, sorted_idx, ncand, batch, static_cast<long long>(height) * width, width, capacity, min_distance, xy,
      scores, counts);
  return cudaGetLastError();
}

template cudaError_t launch_gftt_candidates<float>(const float*, const uint8_t*, const float*, double, long long, int,
                                                   int, float, float*, cudaStream_t);
template cudaError_t launch_gftt_candidates<double>(const double*, const uint8_t*, const double*, double, long long,
                                                    int, int, double, double*, cudaStream_t);
template cudaError_t launch_gftt_select<float>(const float*, const int64_t*, const int64_t*, long long, int, int,
                                               long long, double, float*, float*, int64_t*, cudaStream_t);
template cudaError_t launch_gftt_select<double>(const double*, const int64_t*, const int64_t*, long long, int, int,
                                                long long, double, float*, double*, int64_t*, cudaStream_t);

}  // namespace vision_ext
