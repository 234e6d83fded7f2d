// CUDA kernels of the corner family. Torch-free: pointers, sizes, plain params.
// The per-pixel arithmetic comes from vision_ext/harris.h and fast.h, shared with the CPU.
#include <cuda_runtime.h>

#include <cstdint>

#include "vision_ext/corners_launch.h"
#include "vision_ext/fast.h"
#include "vision_ext/harris.h"

namespace vision_ext {
namespace {

constexpr int kTileX = 32;
constexpr int kTileY = 8;

// One thread per output pixel. The block first fills shared memory with the derivative
// products of its tile plus the window halo (positions outside the image follow the
// border rule, as the CPU does), then sums each window: rows top to bottom of sums
// along x, the CPU kernel's order, so the bits match.
template <typename In, typename T>
__global__ void corner_response_kernel(const In* __restrict__ src, T* __restrict__ dst, CornerParams p,
                                       SobelTaps taps) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* sxx = reinterpret_cast<T*>(smem_raw);
  const int bsz = p.block_size, lo = bsz / 2;
  const int sw = kTileX + bsz - 1, sh = kTileY + bsz - 1, sn = sw * sh;
  T* sxy = sxx + sn;
  T* syy = sxy + sn;
  const long long plane = static_cast<long long>(blockIdx.z) * p.height * p.width;
  const In* img = src + plane;
  const int x0 = blockIdx.x * kTileX - lo, y0 = blockIdx.y * kTileY - lo;
  const int tid = threadIdx.y * kTileX + threadIdx.x;
  for (int i = tid; i < sn; i += kTileX * kTileY) {
    const int gx = border_index(x0 + i % sw, p.width, p.border);
    const int gy = border_index(y0 + i / sw, p.height, p.border);
    T dx = T(0), dy = T(0);
    if (gx >= 0 && gy >= 0) corner_derivatives_at<T, In>(img, p.width, 1, p, taps, gx, gy, &dx, &dy);
    sxx[i] = ve_mul(dx, dx);
    sxy[i] = ve_mul(dx, dy);
    syy[i] = ve_mul(dy, dy);
  }
  __syncthreads();
  const int x = blockIdx.x * kTileX + threadIdx.x, y = blockIdx.y * kTileY + threadIdx.y;
  if (x >= p.width || y >= p.height) return;
  T a = T(0), b = T(0), c = T(0);
  for (int i = 0; i < bsz; ++i) {
    const int r = (threadIdx.y + i) * sw + threadIdx.x;
    T ra = sxx[r], rb = sxy[r], rc = syy[r];
    for (int j = 1; j < bsz; ++j) {
      ra = ve_add(ra, sxx[r + j]);
      rb = ve_add(rb, sxy[r + j]);
      rc = ve_add(rc, syy[r + j]);
    }
    if (i == 0) {
      a = ra; b = rb; c = rc;
    } else {
      a = ve_add(a, ra); b = ve_add(b, rb); c = ve_add(c, rc);
    }
  }
  dst[plane + static_cast<long long>(y) * p.width + x] =
      p.harris ? harris_from_sums(a, b, c, p.k) : min_eigen_from_sums(a, b, c);
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

__global__ void fast_detect_kernel(const uint8_t* __restrict__ src, uint8_t* corner, uint8_t* score, FastParams p) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x < kFastBorder || y < kFastBorder || x >= p.width - kFastBorder || y >= p.height - kFastBorder) return;
  const long long i = static_cast<long long>(blockIdx.z) * p.height * p.width + static_cast<long long>(y) * p.width + x;
  if (p.pattern == 16)
    fast_pixel<16>(src + i, p.width, p.threshold, p.nonmax, corner + i, score + i);
  else if (p.pattern == 12)
    fast_pixel<12>(src + i, p.width, p.threshold, p.nonmax, corner + i, score + i);
  else
    fast_pixel<8>(src + i, p.width, p.threshold, p.nonmax, corner + i, score + i);
}

// Corners lie at least 3 pixels inside, so all 8 neighbours are in the plane.
__global__ void fast_nms_kernel(const uint8_t* __restrict__ corner, const uint8_t* __restrict__ score, uint8_t* keep,
                                FastParams p) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x < kFastBorder || y < kFastBorder || x >= p.width - kFastBorder || y >= p.height - kFastBorder) return;
  const long long i = static_cast<long long>(blockIdx.z) * p.height * p.width + static_cast<long long>(y) * p.width + x;
  if (!corner[i]) return;
  if (p.nonmax) {
    const int s = score[i];
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx)
        if ((dx || dy) && s <= score[i + static_cast<long long>(dy) * p.width + dx]) return;
  }
  keep[i] = 1;
}

template <typename S>
__device__ S thresholded(S v, S thr) {
  return v > thr ? v : S(0);
}

template <typename S>
__global__ void gftt_candidates_kernel(const S* __restrict__ resp, const uint8_t* __restrict__ mask,
                                       const S* __restrict__ max_value, double quality, int height, int width,
                                       S empty, S* cand) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= width || y >= height) return;
  const long long i = static_cast<long long>(blockIdx.z) * height * width + static_cast<long long>(y) * width + x;
  S out = empty;
  if (x >= 1 && y >= 1 && x < width - 1 && y < height - 1 && (!mask || mask[i])) {
    const S thr = static_cast<S>(static_cast<double>(max_value[blockIdx.z]) * quality);
    const S v = thresholded(resp[i], thr);
    bool is_max = v != S(0);
    for (int dy = -1; dy <= 1 && is_max; ++dy)
      for (int dx = -1; dx <= 1; ++dx)
        if (thresholded(resp[i + static_cast<long long>(dy) * width + dx], thr) > v) is_max = false;
    if (is_max) out = v;
  }
  cand[i] = out;
}

// One block per image walks the sorted candidates in order; the block's threads share
// the distance test against the points accepted so far (kept in the output itself).
template <typename S>
__global__ void gftt_select_kernel(const S* __restrict__ sorted_val, const int64_t* __restrict__ sorted_idx,
                                   const int64_t* __restrict__ ncand, int hw, int width, int capacity,
                                   double min_distance, float* xy, S* scores, int64_t* counts) {
  const int b = blockIdx.x;
  const S* val = sorted_val + static_cast<long long>(b) * hw;
  const int64_t* idx = sorted_idx + static_cast<long long>(b) * hw;
  float* out = xy + static_cast<long long>(b) * capacity * 2;
  S* sc = scores + static_cast<long long>(b) * capacity;
  const long long n = ncand[b] < hw ? ncand[b] : hw;
  const bool check = min_distance >= 1.0;
  const double md2 = min_distance * min_distance;
  int accepted = 0;
  for (long long i = 0; i < n && accepted < capacity; ++i) {
    const int64_t pix = idx[i];
    const double x = static_cast<double>(pix % width), y = static_cast<double>(pix / width);
    int close = 0;
    if (check)
      for (int j = threadIdx.x; j < accepted; j += blockDim.x) {
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

dim3 pixel_grid(int width, int height, int batch, dim3 block) {
  return dim3((width + block.x - 1) / block.x, (height + block.y - 1) / block.y, batch);
}

}  // namespace

template <typename In, typename T>
cudaError_t launch_corner_response(const In* src, T* dst, int batch, const CornerParams& p, cudaStream_t stream) {
  if (batch == 0 || p.height == 0 || p.width == 0) return cudaSuccess;
  const size_t smem = 3 * sizeof(T) * (kTileX + p.block_size - 1) * (kTileY + p.block_size - 1);
  auto kernel = corner_response_kernel<In, T>;
  if (smem > 48 * 1024) {
    const cudaError_t err =
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
    if (err != cudaSuccess) return err;
  }
  const dim3 block(kTileX, kTileY);
  kernel<<<pixel_grid(p.width, p.height, batch, block), block, smem, stream>>>(src, dst, p, sobel_taps(p.ksize));
  return cudaGetLastError();
}

template cudaError_t launch_corner_response<uint8_t, float>(const uint8_t*, float*, int, const CornerParams&,
                                                            cudaStream_t);
template cudaError_t launch_corner_response<float, float>(const float*, float*, int, const CornerParams&, cudaStream_t);
template cudaError_t launch_corner_response<double, double>(const double*, double*, int, const CornerParams&,
                                                            cudaStream_t);

cudaError_t launch_fast(const uint8_t* src, uint8_t* corner, uint8_t* score, uint8_t* keep, int batch,
                        const FastParams& p, cudaStream_t stream) {
  if (batch == 0 || p.height <= 2 * kFastBorder || p.width <= 2 * kFastBorder) return cudaSuccess;
  const dim3 block(32, 8);
  const dim3 grid = pixel_grid(p.width, p.height, batch, block);
  fast_detect_kernel<<<grid, block, 0, stream>>>(src, corner, score, p);
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return err;
  fast_nms_kernel<<<grid, block, 0, stream>>>(corner, score, keep, p);
  return cudaGetLastError();
}

template <typename S>
cudaError_t launch_gftt_candidates(const S* resp, const uint8_t* mask, const S* max_value, double quality, int batch,
                                   int height, int width, S empty, S* cand, cudaStream_t stream) {
  if (batch == 0 || height == 0 || width == 0) return cudaSuccess;
  const dim3 block(32, 8);
  gftt_candidates_kernel<S><<<pixel_grid(width, height, batch, block), block, 0, stream>>>(
      resp, mask, max_value, quality, height, width, empty, cand);
  return cudaGetLastError();
}

template <typename S>
cudaError_t launch_gftt_select(const S* sorted_val, const int64_t* sorted_idx, const int64_t* ncand, int batch,
                               int height, int width, int capacity, double min_distance, float* xy, S* scores,
                               int64_t* counts, cudaStream_t stream) {
  if (batch == 0) return cudaSuccess;
  gftt_select_kernel<S><<<batch, 256, 0, stream>>>(sorted_val, sorted_idx, ncand, height * width, width, capacity,
                                                   min_distance, xy, scores, counts);
  return cudaGetLastError();
}

template cudaError_t launch_gftt_candidates<float>(const float*, const uint8_t*, const float*, double, int, int, int,
                                                   float, float*, cudaStream_t);
template cudaError_t launch_gftt_candidates<double>(const double*, const uint8_t*, const double*, double, int, int,
                                                    int, double, double*, cudaStream_t);
template cudaError_t launch_gftt_select<float>(const float*, const int64_t*, const int64_t*, int, int, int, int, double,
                                               float*, float*, int64_t*, cudaStream_t);
template cudaError_t launch_gftt_select<double>(const double*, const int64_t*, const int64_t*, int, int, int, int,
                                                double, float*, double*, int64_t*, cudaStream_t);

}  // namespace vision_ext
