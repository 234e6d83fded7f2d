// CUDA kernels of the ORB family. Torch-free: pointers, sizes, plain params. The per-pixel and
// per-keypoint arithmetic is vision_ext/orb.h's (shared with the CPU kernels), so the pyramid,
// scores, angles and descriptors are the CPU's bits.
#include <cuda_runtime.h>

#include <climits>
#include <cstdint>

#include "vision_ext/harris.h"
#include "vision_ext/orb.h"
#include "vision_ext/orb_launch.h"

namespace vision_ext {
namespace {

__constant__ int c_orb_pattern[kOrbPairs * 4];

__global__ void orb_resize_kernel(const uint8_t* __restrict__ src, int sw, int sh, uint8_t* __restrict__ dst, int dw,
                                  int dh) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  if (x >= dw) return;
  for (int y = blockIdx.y * blockDim.y + threadIdx.y; y < dh; y += gridDim.y * blockDim.y)
    dst[static_cast<long long>(y) * dw + x] = orb_resize_pixel(src, sw, sh, dw, dh, x, y);
}

__global__ void orb_harris_kernel(const uint8_t* __restrict__ plane, int w, int h, const int64_t* __restrict__ xs,
                                  const int64_t* __restrict__ ys, long long n, float* __restrict__ out) {
  const CornerParams p = orb_harris_params(h, w);
  const SobelTaps taps = sobel_taps(3);
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x)
    out[i] = orb_harris_at<uint8_t>(plane, p, taps, static_cast<int>(xs[i]), static_cast<int>(ys[i]));
}

// One warp per keypoint: the lanes share the disc's rows for the moments (integer sums, so the
// order does not matter), then lane b computes descriptor byte b.
__global__ void orb_describe_kernel(const uint8_t* __restrict__ pyramid, const int64_t* __restrict__ offsets,
                                    const int64_t* __restrict__ widths, const int64_t* __restrict__ xs,
                                    const int64_t* __restrict__ ys, const int64_t* __restrict__ levels, long long n,
                                    int half_patch, float* __restrict__ angles, uint8_t* __restrict__ desc) {
  const int lane = threadIdx.x & 31;
  const long long warps = static_cast<long long>(gridDim.x) * (blockDim.x / 32);
  for (long long k = (blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x) / 32; k < n; k += warps) {
    const long long stride = widths[levels[k]];
    const uint8_t* centre = pyramid + offsets[levels[k]] + ys[k] * stride + xs[k];
    int a = 0, b = 0;
    for (int v = -half_patch + lane; v <= half_patch; v += 32) 
      orb_moment_row(centre, stride, v, orb_disc_half_width(half_patch, v), &a, &b);
    for (int off = 16; off > 0; off >>= 1) {
      a += __shfl_down_sync(0xffffffffu, a, off);
      b += __shfl_down_sync(0xffffffffu, b, off);
    }
    const int m10 = __shfl_sync(0xffffffffu, a, 0), m01 = __shfl_sync(0xffffffffu, b, 0);
    if (lane == 0) angles[k] = orb_angle_degrees(m10, m01);
    double c, s;
    orb_direction(m10, m01, &c, &s);
    int first[8], second[8];
    for (int j = 0; j < 8; ++j) {
      const int* pp = c_orb_pattern + 4 * (8 * lane + j);
      int ax, ay, bx, by;
      orb_rotate(pp[0], pp[1], c, s, &ax, &ay);
      orb_rotate(pp[2], pp[3], c, s, &bx, &by);
      first[j] = orb_smoothed_at(centre + ay * stride + ax, stride);
      second[j] = orb_smoothed_at(centre + by * stride + bx, stride);
    }
    desc[k * 32 + lane] = orb_brief_byte(first, second);
  }
}

__global__ void orb_hamming_kernel(const uint8_t* __restrict__ q, long long nq, const uint8_t* __restrict__ t,
                                   long long nt, int32_t* __restrict__ best_d, int64_t* __restrict__ best_i,
                                   int32_t* __restrict__ second_d) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < nq;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const unsigned long long* qi = reinterpret_cast<const unsigned long long*>(q + 32 * i);
    const unsigned long long q0 = qi[0], q1 = qi[1], q2 = qi[2], q3 = qi[3];
    int bd = INT_MAX, sd = INT_MAX;
    long long bi = -1;
    for (long long j = 0; j < nt; ++j) {
      const unsigned long long* tj = reinterpret_cast<const unsigned long long*>(t + 32 * j);
      const int d = __popcll(q0 ^ tj[0]) + __popcll(q1 ^ tj[1]) + __popcll(q2 ^ tj[2]) + __popcll(q3 ^ tj[3]);
      if (d < bd) {
        sd = bd;
        bd = d;
        bi = j;
      } else if (d < sd) {
        sd = d;
      }
    }
    best_d[i] = bd;
    best_i[i] = bi;
    second_d[i] = sd;
  }
}

int blocks_for(long long n, int threads) {
  const long long b = (n + threads - 1) / threads;
  return static_cast<int>(b < 65535 ? (b > 0 ? b : 1) : 65535);
}

}  // namespace

cudaError_t launch_orb_resize(const uint8_t* src, int sw, int sh, uint8_t* dst, int dw, int dh, cudaStream_t stream) {
  if (dw <= 0 || dh <= 0) return cudaSuccess;
  const dim3 block(32, 8);
  const dim3 grid((dw + 31) / 32, static_cast<unsigned>(dh < 8 * 65535 ? (dh + 7) / 8 : 65535));
  orb_resize_kernel<<<grid, block, 0, stream>>>(src, sw, sh, dst, dw, dh);
  return cudaGetLastError();
}

cudaError_t launch_orb_harris(const uint8_t* plane, int w, int h, const int64_t* xs, const int64_t* ys, long long n,
                              float* out, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  orb_harris_kernel<<<blocks_for(n, 128), 128, 0, stream>>>(plane, w, h, xs, ys, n, out);
  return cudaGetLastError();
}

cudaError_t launch_orb_describe(const uint8_t* pyramid, const int64_t* offsets, const int64_t* widths,
                                const int64_t* xs, const int64_t* ys, const int64_t* levels, long long n,
                                int half_patch, float* angles, uint8_t* desc, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  cudaError_t err = cudaMemcpyToSymbolAsync(c_orb_pattern, kOrbPattern, sizeof(kOrbPattern), 0,
                                            cudaMemcpyHostToDevice, stream);
  if (err != cudaSuccess) return err;
  orb_describe_kernel<<<blocks_for(32 * n, 128), 128, 0, stream>>>(pyramid, offsets, widths, xs, ys, levels, n,
                                                                    half_patch, angles, desc);
  return cudaGetLastError();
}

cudaError_t launch_orb_hamming(const uint8_t* q, long long nq, const uint8_t* t, long long nt, int32_t* best_d,
                               int64_t* best_i, int32_t* second_d, cudaStream_t stream) {
  if (nq == 0) return cudaSuccess;
  orb_hamming_kernel<<<blocks_for(nq, 128), 128, 0, stream>>>(q, nq, t, nt, best_d, best_i, second_d);
  return cudaGetLastError();
}

}  // namespace vision_ext
