// CUDA kernels of the colour family around the per-value maths of vision_ext/colour.h (the CPU levels
// run the same formulas). Histograms privatise in shared memory: each block counts its pixels into a
// shared histogram with shared atomics, then adds it to the global one once (global atomics only
// when the histogram does not fit). Moments: one block per plane reduces in double, in two passes.
// The gradient: one thread per pixel.
#include <stdint.h>

#include "vision_ext/colour.h"
#include "vision_ext/colour_launch.h"

namespace vision_ext {
namespace {

constexpr int kThreads = 256;
constexpr int kSharedBins = 12 * 1024;  // 48 KiB of uint32 counters, the default shared-memory limit
constexpr int kBlocksPerPlane = 16;

template <typename T>
__device__ __forceinline__ double value_at(const T* src, long long i) {
  return static_cast<double>(src[i]);
}

// Bin of pixel i of channel plane `plane` (u8: the look-up table; float: the rule).
template <typename T>
__device__ __forceinline__ int pixel_bin(const ColourHistParams& p, const T* plane, int ch, long long i) {
  if constexpr (sizeof(T) == 1) return p.lut[ch * 256 + plane[i]];
  return colour_bin(value_at(plane, i), p.rules[ch], p.edges);
}

// grid: (kBlocksPerPlane, planes); per channel: plane = b * c + ch; joint: plane = b.
template <typename T>
__global__ void histogram_kernel(ColourHistParams p) {
  extern __shared__ unsigned int sh[];
  const long long plane = blockIdx.y;
  const long long b = p.joint ? plane : plane / p.im.c;
  const int ch = p.joint ? 0 : static_cast<int>(plane % p.im.c);
  const int bins = p.joint ? static_cast<int>(p.width) : p.rules[ch].bins;
  const bool shared = bins <= kSharedBins;
  long long* out = p.out + b * p.width + (p.joint ? 0 : p.rules[ch].offset);
  if (shared)
    for (int k = threadIdx.x; k < bins; k += blockDim.x) sh[k] = 0u;
  __syncthreads();
  const T* src = static_cast<const T*>(p.im.src);
  const uint8_t* mask = p.im.mask ? p.im.mask + b * p.im.hw : nullptr;
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.im.hw; i += stride) {
    if (mask && mask[i] == 0) continue;
    int k;
    if (p.joint) {
      k = 0;
      for (int c = 0; c < p.im.c && k >= 0; ++c) {
        const int j = pixel_bin(p, src + (b * p.im.c + c) * p.im.hw, c, i);
        k = j < 0 ? -1 : k + j * p.rules[c].offset;
      }
    } else {
      k = pixel_bin(p, src + plane * p.im.hw, ch, i);
    }
    if (k < 0) continue;
    if (shared)
      atomicAdd(&sh[k], 1u);
    else
      atomicAdd(reinterpret_cast<unsigned long long*>(out + k), 1ull);
  }
  if (!shared) return;
  __syncthreads();
  for (int k = threadIdx.x; k < bins; k += blockDim.x)
    if (sh[k] != 0u) atomicAdd(reinterpret_cast<unsigned long long*>(out + k), static_cast<unsigned long long>(sh[k]));
}

// Sum of a double over the block (blockDim.x == kThreads); every thread gets the total.
__device__ double block_sum(double v) {
  __shared__ double s[kThreads];
  __syncthreads();
  s[threadIdx.x] = v;
  __syncthreads();
  for (int w = kThreads / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) s[threadIdx.x] += s[threadIdx.x + w];
    __syncthreads();
  }
  return s[0];
}

template <typename T, typename Out>
__global__ void moments_kernel(ColourImages im, Out* out) {
  const long long plane = blockIdx.x;
  const T* src = static_cast<const T*>(im.src) + plane * im.hw;
  const uint8_t* mask = im.mask ? im.mask + (plane / im.c) * im.hw : nullptr;
  double n = 0.0, s = 0.0;
  for (long long i = threadIdx.x; i < im.hw; i += blockDim.x)
    if (!mask || mask[i] != 0) {
      n += 1.0;
      s += value_at(src, i);
    }
  n = block_sum(n);
  const double mean = block_sum(s) / n;
  double s2 = 0.0, s3 = 0.0;
  for (long long i = threadIdx.x; i < im.hw; i += blockDim.x)
    if (!mask || mask[i] != 0) {
      const double d = value_at(src, i) - mean;
      s2 += d * d;
      s3 += d * d * d;
    }
  s2 = block_sum(s2);
  s3 = block_sum(s3);
  if (threadIdx.x == 0) {
    out[plane * 3 + 0] = static_cast<Out>(mean);
    out[plane * 3 + 1] = static_cast<Out>(s2 / n);
    out[plane * 3 + 2] = static_cast<Out>(s3 / n);
  }
}

template <typename T, typename Out>
__global__ void gradient_kernel(ColourImages im, CornerParams p, Out* mag, Out* dir) {
  const long long total = im.b * im.hw;
  const SobelTaps taps = sobel_taps(p.ksize);
  for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long n = i / im.hw, q = i % im.hw;
    const int y = static_cast<int>(q / p.width), x = static_cast<int>(q % p.width);
    double m, d;
    colour_gradient_at<T>(static_cast<const T*>(im.src) + n * im.c * im.hw, im.hw, static_cast<int>(im.c), p, taps, x,
                          y, &m, &d);
    mag[i] = static_cast<Out>(m);
    dir[i] = static_cast<Out>(d);
  }
}

int grid_for(long long n) {
  const long long blocks = (n + kThreads - 1) / kThreads;
  return static_cast<int>(blocks < 4096 ? (blocks > 0 ? blocks : 1) : 4096);
}

}  // namespace

cudaError_t launch_colour_histogram(const ColourHistParams& p, cudaStream_t stream) {
  const long long planes = p.joint ? p.im.b : p.im.b * p.im.c;
  if (planes == 0 || p.im.hw == 0) return cudaSuccess;
  if (planes > 65535) return cudaErrorInvalidConfiguration;  // grid.y; the glue splits larger batches
  const dim3 grid(kBlocksPerPlane, static_cast<unsigned>(planes));
  const size_t shared = p.max_bins <= kSharedBins ? sizeof(unsigned int) * p.max_bins : 0;
  switch (p.im.dtype) {
    case ColourDtype::u8: histogram_kernel<uint8_t><<<grid, kThreads, shared, stream>>>(p); break;
    case ColourDtype::f32: histogram_kernel<float><<<grid, kThreads, shared, stream>>>(p); break;
    default: histogram_kernel<double><<<grid, kThreads, shared, stream>>>(p); break;
  }
  return cudaGetLastError();
}

cudaError_t launch_colour_moments(const ColourImages& im, void* out, cudaStream_t stream) {
  const long long planes = im.b * im.c;
  if (planes == 0) return cudaSuccess;
  if (planes > 2147483647LL) return cudaErrorInvalidConfiguration;
  const unsigned g = static_cast<unsigned>(planes);
  switch (im.dtype) {
    case ColourDtype::u8: moments_kernel<uint8_t, float><<<g, kThreads, 0, stream>>>(im, static_cast<float*>(out)); break;
    case ColourDtype::f32: moments_kernel<float, float><<<g, kThreads, 0, stream>>>(im, static_cast<float*>(out)); break;
    default: moments_kernel<double, double><<<g, kThreads, 0, stream>>>(im, static_cast<double*>(out)); break;
  }
  return cudaGetLastError();
}

cudaError_t launch_colour_gradient(const ColourImages& im, const CornerParams& p, void* mag, void* dir,
                                   cudaStream_t stream) {
  const long long total = im.b * im.hw;
  if (total == 0) return cudaSuccess;
  const int g = grid_for(total);
  switch (im.dtype) {
    case ColourDtype::u8:
      gradient_kernel<uint8_t, float><<<g, kThreads, 0, stream>>>(im, p, static_cast<float*>(mag), static_cast<float*>(dir));
      break;
    case ColourDtype::f32:
      gradient_kernel<float, float><<<g, kThreads, 0, stream>>>(im, p, static_cast<float*>(mag), static_cast<float*>(dir));
      break;
    default:
      gradient_kernel<double, double><<<g, kThreads, 0, stream>>>(im, p, static_cast<double*>(mag),
                                                                 static_cast<double*>(dir));
      break;
  }
  return cudaGetLastError();
}

}  // namespace vision_ext
