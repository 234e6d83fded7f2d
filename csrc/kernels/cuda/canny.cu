// CUDA kernels of the Canny edge detector. Torch-free: pointers, sizes, plain params. The per-pixel
// arithmetic is vision_ext/canny.h's, shared with the CPU levels, so the bytes match.
#include <cuda_runtime.h>

#include <cstdint>

#include "vision_ext/cuda_grid.cuh"
#include "vision_ext/canny.h"
#include "vision_ext/canny_launch.h"

namespace vision_ext {
namespace {

using namespace vision_ext::canny;

constexpr int kThreads = 256;
constexpr int kTile = 32;  // hysteresis tile edge (one thread per pixel)

// Grid-stride loop over every pixel of the batch: f(i, n, y, x, o) with i the flat (n, y, x)
// index of the unpadded planes and o the pixel's offset in the padded ones.
template <class F>
__device__ void for_each_pixel(long long batch, const CannyParams& p, F f) {
  const long long hw = static_cast<long long>(p.height) * p.width, total = batch * hw;
  const long long s = p.width + 2, pp = static_cast<long long>(p.height + 2) * s;
  VE_GRID_LOOP(i, total) {
    const long long n = i / hw;
    const int y = static_cast<int>((i % hw) / p.width), x = static_cast<int>(i % p.width);
    f(i, n, y, x, n * pp + (y + 1) * s + x + 1);
  }
}

// The 2D Sobel sums of one channel at (y, x) with BORDER_REPLICATE (integer sums: any order is exact).
template <int R>
__device__ void sobel_sums(const uint8_t* plane, int h, int w, int y, int x, int* sx, int* sy) {
  int gx = 0, gy = 0;
#pragma unroll
  for (int i = 0; i <= 2 * R; ++i) {
    const uint8_t* row = plane + static_cast<long long>(clamp_index(y + i - R, h)) * w;
#pragma unroll
    for (int j = 0; j <= 2 * R; ++j) {
      const int v = row[clamp_index(x + j - R, w)];
      gx += sobel_smooth_tap(R, i) * sobel_deriv_tap(R, j) * v;
      gy += sobel_deriv_tap(R, i) * sobel_smooth_tap(R, j) * v;
    }
  }
  *sx = gx, *sy = gy;
}

template <int R>
__global__ void gradient_kernel(const uint8_t* __restrict__ src, long long batch, CannyParams p,
                                int16_t* __restrict__ dx, int16_t* __restrict__ dy, int32_t* __restrict__ mag) {
  const long long hw = static_cast<long long>(p.height) * p.width;
  for_each_pixel(batch, p, [&](long long i, long long n, int y, int x, long long o) {
    int best = 0, bx = 0, by = 0;
    for (int c = 0; c < p.channels; ++c) {  // the strongest channel, the first on ties
      int sx, sy;
      sobel_sums<R>(src + (n * p.channels + c) * hw, p.height, p.width, y, x, &sx, &sy);
      const int gx = sobel_value(sx, 2 * R + 1), gy = sobel_value(sy, 2 * R + 1);
      const int m = gradient_magnitude(gx, gy, p.l2);
      if (c == 0 || m > best) best = m, bx = gx, by = gy;
    }
    dx[i] = static_cast<int16_t>(bx);
    dy[i] = static_cast<int16_t>(by);
    mag[o] = best;
  });
}

__global__ void suppress_kernel(const int16_t* __restrict__ dx, const int16_t* __restrict__ dy,
                                const int32_t* __restrict__ mag, long long batch, CannyParams p,
                                uint8_t* __restrict__ state) {
  const long long s = p.width + 2;
  for_each_pixel(batch, p, [&](long long i, long long, int, int, long long o) {
    const int32_t* c = mag + o;
    state[o] = static_cast<uint8_t>(suppress_state<int>(c[0], dx[i], dy[i], c[-1], c[1], c[-s], c[s], c[-s - 1],
                                                        c[-s + 1], c[s - 1], c[s + 1], p.low, p.high));
  });
}

// One pass: every 32x32 tile (plus its one-pixel halo) is loaded to shared memory and iterated to
// its own fixed point (weak pixels next to strong ones become strong); tiles that changed write
// back and raise the next pass's flag.
__global__ void hysteresis_kernel(uint8_t* state, long long batch, CannyParams p, int tiles_x, int tiles_y,
                                  int* pass_flags, int pass) {
  if (pass_flags[pass] == 0) return;  // converged in an earlier pass
  __shared__ uint8_t tile[kTile + 2][kTile + 2];
  const long long s = p.width + 2, pp = static_cast<long long>(p.height + 2) * s;
  const long long tiles = static_cast<long long>(tiles_x) * tiles_y * batch;
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kTile + tx;
  for (long long t = blockIdx.x; t < tiles; t += gridDim.x) {  // uniform per block: barriers are safe
    const long long n = t / (static_cast<long long>(tiles_x) * tiles_y);
    const int r = static_cast<int>(t % (static_cast<long long>(tiles_x) * tiles_y));
    const int y0 = (r / tiles_x) * kTile, x0 = (r % tiles_x) * kTile;  // padded coordinates of the halo corner
    uint8_t* plane = state + n * pp;
    for (int k = tid; k < (kTile + 2) * (kTile + 2); k += kTile * kTile) {
      const int yy = y0 + k / (kTile + 2), xx = x0 + k % (kTile + 2);
      tile[k / (kTile + 2)][k % (kTile + 2)] =
          (yy < p.height + 2 && xx < p.width + 2) ? plane[yy * s + xx] : kNotEdge;
    }
    __syncthreads();
    const int py = y0 + 1 + ty, px = x0 + 1 + tx;  // this thread's pixel (padded coordinates)
    const bool inside = py <= p.height && px <= p.width;
    volatile uint8_t(*vt)[kTile + 2] = tile;
    bool promoted = false;
    for (;;) {
      bool now = false;
      if (inside && vt[ty + 1][tx + 1] == kWeak) {
        const bool near = vt[ty][tx] == kStrong || vt[ty][tx + 1] == kStrong || vt[ty][tx + 2] == kStrong ||
                          vt[ty + 1][tx] == kStrong || vt[ty + 1][tx + 2] == kStrong || vt[ty + 2][tx] == kStrong ||
                          vt[ty + 2][tx + 1] == kStrong || vt[ty + 2][tx + 2] == kStrong;
        if (near) vt[ty + 1][tx + 1] = kStrong, now = true, promoted = true;
      }
      if (!__syncthreads_or(now)) break;
    }
    if (promoted) plane[py * s + px] = kStrong;
    if (__syncthreads_or(promoted) && tid == 0) pass_flags[pass + 1] = 1;
  }
}

__global__ void init_flags_kernel(int* pass_flags, int passes) {
  for (int i = threadIdx.x; i <= passes; i += blockDim.x) pass_flags[i] = i == 0 ? 1 : 0;
}

__global__ void finish_kernel(const uint8_t* __restrict__ state, long long batch, CannyParams p,
                              uint8_t* __restrict__ out) {
  for_each_pixel(batch, p, [&](long long i, long long, int, int, long long o) {
    out[i] = state[o] == kStrong ? 255 : 0;
  });
}

}  // namespace

cudaError_t launch_canny_suppress(const uint8_t* src, long long batch, const CannyParams& p, int16_t* dx, int16_t* dy,
                                  int32_t* mag, uint8_t* state, cudaStream_t stream) {
  const long long total = batch * p.height * static_cast<long long>(p.width);
  if (total == 0) return cudaSuccess;
  const long long padded = batch * canny_padded_plane(p);
  cudaError_t err = cudaMemsetAsync(mag, 0, padded * sizeof(int32_t), stream);
  if (err == cudaSuccess) err = cudaMemsetAsync(state, 0, padded, stream);
  if (err != cudaSuccess) return err;
  const int blocks = grid_for(total, kThreads);
  switch (p.aperture) {
    case 3: gradient_kernel<1><<<blocks, kThreads, 0, stream>>>(src, batch, p, dx, dy, mag); break;
    case 5: gradient_kernel<2><<<blocks, kThreads, 0, stream>>>(src, batch, p, dx, dy, mag); break;
    default: gradient_kernel<3><<<blocks, kThreads, 0, stream>>>(src, batch, p, dx, dy, mag); break;
  }
  suppress_kernel<<<blocks, kThreads, 0, stream>>>(dx, dy, mag, batch, p, state);
  return cudaGetLastError();
}

cudaError_t launch_canny_hysteresis(uint8_t* state, long long batch, const CannyParams& p, int* pass_flags, int passes,
                                    cudaStream_t stream) {
  init_flags_kernel<<<1, kThreads, 0, stream>>>(pass_flags, passes);
  if (batch == 0) return cudaGetLastError();
  const int tiles_x = (p.width + kTile - 1) / kTile, tiles_y = (p.height + kTile - 1) / kTile;
  const long long tiles = static_cast<long long>(tiles_x) * tiles_y * batch;
  const int blocks = grid_for(tiles, 1);  // one block per tile, capped: the loop strides over the rest
  for (int i = 0; i < passes; ++i)
    hysteresis_kernel<<<blocks, dim3(kTile, kTile), 0, stream>>>(state, batch, p, tiles_x, tiles_y, pass_flags, i);
  return cudaGetLastError();
}

cudaError_t launch_canny_finish(const uint8_t* state, long long batch, const CannyParams& p, uint8_t* out,
                                cudaStream_t stream) {
  const long long total = batch * p.height * static_cast<long long>(p.width);
  if (total == 0) return cudaSuccess;
  finish_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(state, batch, p, out);
  return cudaGetLastError();
}

}  // namespace vision_ext
