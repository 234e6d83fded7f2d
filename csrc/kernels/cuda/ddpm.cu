// CUDA kernels of the DDPM family: grid-stride loops around the per-thread bodies of
// vision_ext/ddpm_body.h (one thread per element, or per Philox block of 4 consecutive
// elements), which the host test also runs. Loads are scalar, so sliced inputs with any
// storage offset are fine. Timesteps are read on the device and clamped into the table (the
// CPU ops reject out-of-range values; a kernel cannot raise without a host sync).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "vision_ext/cuda_scalar.cuh"
#include "vision_ext/ddpm_body.h"
#include "vision_ext/ddpm_launch.h"

namespace vision_ext {
namespace {

constexpr int kThreads = 256;

template <typename T> struct Math { using type = float; };  // fp16/bf16/fp32 compute in float
template <> struct Math<double> { using type = double; };

// Element conversions for the bodies (host-device: cuda_fp16/bf16 convert on both).
struct IO {
  VE_HD static float load(const float* p, int64_t i) { return p[i]; }
  VE_HD static double load(const double* p, int64_t i) { return p[i]; }
  VE_HD static float load(const __half* p, int64_t i) { return __half2float(p[i]); }
  VE_HD static float load(const __nv_bfloat16* p, int64_t i) { return __bfloat162float(p[i]); }
  VE_HD static void store(float* p, int64_t i, float v) { p[i] = v; }
  VE_HD static void store(double* p, int64_t i, double v) { p[i] = v; }
  VE_HD static void store(__half* p, int64_t i, float v) { p[i] = __float2half(v); }
  VE_HD static void store(__nv_bfloat16* p, int64_t i, float v) { p[i] = __float2bfloat16(v); }
};

template <typename T>
__global__ void add_noise_kernel(AddNoiseParams p) {
  VE_GRID_LOOP(i, add_noise_items(p)) add_noise_item<typename Math<T>::type, IO, T>(p, i);
}

template <typename T>
__global__ void step_kernel(StepParams p) {
  VE_GRID_LOOP(g, (p.batch * p.inner + 3) / 4) step_group<typename Math<T>::type, IO, T>(p, g);
}

template <typename T>
__global__ void plms_kernel(PlmsParams p) {
  VE_GRID_LOOP(i, p.batch * p.inner) plms_item<typename Math<T>::type, IO, T>(p, i);
}

template <typename T>
__global__ void philox_kernel(T* out, int64_t n, uint64_t seed, uint64_t offset) {
  VE_GRID_LOOP(g, (n + 3) / 4) philox_group<IO>(out, n, seed, offset, g);
}

// Launches f's kernel for the element type of `dtype`, then returns the launch error, if any.
template <typename F>
cudaError_t with_type(ScalarKind dtype, F f) {
  return with_scalar_kind(dtype, [&](auto v) {
    f(v);
    return cudaGetLastError();
  });
}

}  // namespace

// Each launcher does nothing for no work items (empty tensors: a 0-block grid is an error).
cudaError_t launch_add_noise(const AddNoiseParams& p, ScalarKind dtype, cudaStream_t stream) {
  const int64_t items = add_noise_items(p);
  if (items == 0) return cudaSuccess;
  return with_type(dtype, [&](auto v) {
    add_noise_kernel<decltype(v)><<<grid_for(items, kThreads), kThreads, 0, stream>>>(p);
  });
}

cudaError_t launch_ddpm_step(const StepParams& p, ScalarKind dtype, cudaStream_t stream) {
  const int64_t groups = (p.batch * p.inner + 3) / 4;
  if (groups == 0) return cudaSuccess;
  return with_type(dtype, [&](auto v) {
    step_kernel<decltype(v)><<<grid_for(groups, kThreads), kThreads, 0, stream>>>(p);
  });
}

cudaError_t launch_plms_step(const PlmsParams& p, ScalarKind dtype, cudaStream_t stream) {
  const int64_t n = p.batch * p.inner;
  if (n == 0) return cudaSuccess;
  return with_type(dtype, [&](auto v) {
    plms_kernel<decltype(v)><<<grid_for(n, kThreads), kThreads, 0, stream>>>(p);
  });
}

cudaError_t launch_philox_normal(void* out, int64_t numel, uint64_t seed, uint64_t offset, ScalarKind dtype,
                                 cudaStream_t stream) {
  if (numel == 0) return cudaSuccess;
  return with_type(dtype, [&](auto v) {
    using T = decltype(v);
    philox_kernel<T><<<grid_for((numel + 3) / 4, kThreads), kThreads, 0, stream>>>(static_cast<T*>(out), numel, seed, offset);
  });
}

}  // namespace vision_ext
