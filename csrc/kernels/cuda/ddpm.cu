// CUDA kernels of the DDPM family: one thread per Philox block of 4 consecutive
// elements (grid-stride), per-sample coefficients computed from the float64 schedule
// with the same VE_HD maths as the CPU kernels. Timesteps are read on the device and
// clamped into the table (the CPU ops reject out-of-range values; a kernel cannot
// raise without a host sync).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "vision_ext/ddpm.h"
#include "vision_ext/ddpm_launch.h"
#include "vision_ext/philox.h"

namespace vision_ext {
namespace {

constexpr int kThreads = 256;

template <typename T> struct Math { using type = float; };
template <> struct Math<double> { using type = double; };

__device__ __forceinline__ float load(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ double load(const double* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float load(const __half* p, int64_t i) { return __half2float(p[i]); }
__device__ __forceinline__ float load(const __nv_bfloat16* p, int64_t i) { return __bfloat162float(p[i]); }
__device__ __forceinline__ void store(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void store(double* p, int64_t i, double v) { p[i] = v; }
__device__ __forceinline__ void store(__half* p, int64_t i, float v) { p[i] = __float2half(v); }
__device__ __forceinline__ void store(__nv_bfloat16* p, int64_t i, float v) { p[i] = __float2bfloat16(v); }

__device__ __forceinline__ int64_t clamp_t(int64_t t, int64_t lo, int64_t hi) { return t < lo ? lo : (t > hi ? hi : t); }

__device__ __forceinline__ int64_t t_of(const DdpmSchedule& s, int64_t b) {
  return clamp_t(s.t[s.t_count == 1 ? 0 : b], 0, s.table_len - 1);
}

__device__ __forceinline__ int64_t t_prev_of(const DdpmSchedule& s, int64_t b) {
  return clamp_t(s.t_prev[s.t_count == 1 ? 0 : b], -1, s.table_len - 1);
}

int blocks_for(int64_t groups) {
  const int64_t b = (groups + kThreads - 1) / kThreads;
  return static_cast<int>(b < 1 ? 1 : (b > 65535 ? 65535 : b));
}

template <typename T>
__global__ void add_noise_kernel(AddNoiseParams p) {
  using M = typename Math<T>::type;
  const int64_t n = p.batch * p.inner;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride) {
    const int64_t b = i / p.inner;
    const double ab = p.sched.table[t_of(p.sched, b)];
    double a, s;
    q_sample_coeffs(ab, &a, &s);
    const M xv = load(static_cast<const T*>(p.x0), i), nv = load(static_cast<const T*>(p.noise), i);
    store(static_cast<T*>(p.out), i, M(a) * xv + M(s) * nv);
    if (p.target) {
      const int pred = p.prediction_type;
      const M tx = pred == kPredEpsilon ? M(0) : (pred == kPredSample ? M(1) : M(-s));
      const M tn = pred == kPredEpsilon ? M(1) : (pred == kPredSample ? M(0) : M(a));
      store(static_cast<T*>(p.target), i, tx * xv + tn * nv);
    }
    if (p.weights && i - b * p.inner == 0)
      p.weights[b] = static_cast<float>(min_snr_weight(ab, p.min_snr_gamma, p.prediction_type));
  }
}

template <typename T>
__global__ void step_kernel(StepParams p) {
  using M = typename Math<T>::type;
  const int64_t n = p.batch * p.inner;
  const int64_t groups = (n + 3) / 4;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const T* mo = static_cast<const T*>(p.model_output);
  const T* x = static_cast<const T*>(p.sample);
  const T* nz = static_cast<const T*>(p.noise);
  const bool learned = p.mo_stride != p.inner;
  for (int64_t g = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; g < groups; g += stride) {
    Normal4 z4 = {{0.f, 0.f, 0.f, 0.f}};
    if (!nz && (!p.ddim || p.eta > 0.0)) z4 = philox_normal4(p.seed, p.offset, static_cast<uint64_t>(g));
    for (int k = 0; k < 4; ++k) {
      const int64_t i = 4 * g + k;
      if (i >= n) break;
      const int64_t b = i / p.inner, j = i - b * p.inner;
      const int64_t t = t_of(p.sched, b), tp = t_prev_of(p.sched, b);
      const M th = p.threshold ? M(p.threshold[b]) : M(0);
      const M mv = load(mo, b * p.mo_stride + j), xv = load(x, i);
      const M z = nz ? load(nz, i) : M(z4.v[k]);
      M out, x0;
      if (p.ddim) {
        const DdimElem<M> c = ddim_elem<M>(p.sched.table, t, tp, p.sched.final_alpha_cumprod, p.eta, p.prediction_type);
        ddim_element(c, p.use_clipped, M(p.clip_range), th, mv, xv, p.eta > 0.0 ? z : M(0), &out, &x0);
      } else {
        const DdpmElem<M> c =
            ddpm_elem<M>(p.sched.table, t, tp, p.sched.final_alpha_cumprod, p.prediction_type, p.variance_type);
        const M pv = learned ? load(mo, b * p.mo_stride + p.inner + j) : M(0);
        ddpm_element(c, p.variance_type, M(p.clip_range), th, mv, xv, z, pv, &out, &x0);
      }
      store(static_cast<T*>(p.prev), i, out);
      store(static_cast<T*>(p.x0), i, x0);
    }
  }
}

template <typename T>
__global__ void plms_kernel(PlmsParams p) {
  using M = typename Math<T>::type;
  const int64_t n = p.batch * p.inner;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride) {
    const int64_t b = i / p.inner;
    const double* tab = p.sched.table;
    const double fa = p.sched.final_alpha_cumprod;
    const PlmsCoeffs c =
        plms_coeffs(alpha_bar_at(tab, t_of(p.sched, b), fa), alpha_bar_at(tab, t_prev_of(p.sched, b), fa),
                    p.prediction_type);
    const M xv = load(static_cast<const T*>(p.sample), i);
    M e = M(0);
    for (int k = 0; k < p.num_outputs && k < 4; ++k) e += M(p.weights[k]) * load(static_cast<const T*>(p.outputs[k]), i);
    e = M(c.v_m) * e + M(c.v_x) * xv;
    store(static_cast<T*>(p.out), i, M(c.c_x) * xv - M(c.c_e) * e);
  }
}

template <typename T>
__global__ void philox_kernel(T* out, int64_t n, uint64_t seed, uint64_t offset) {
  const int64_t groups = (n + 3) / 4;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t g = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; g < groups; g += stride) {
    const Normal4 z = philox_normal4(seed, offset, static_cast<uint64_t>(g));
    for (int k = 0; k < 4; ++k)
      if (4 * g + k < n) store(out, 4 * g + k, z.v[k]);
  }
}

// Calls f(T{}) with the element type of `dtype`.
template <typename F>
cudaError_t with_type(DdpmDtype dtype, F f) {
  switch (dtype) {
    case DdpmDtype::kFloat32: f(float{}); break;
    case DdpmDtype::kFloat64: f(double{}); break;
    case DdpmDtype::kFloat16: f(__half{}); break;
    case DdpmDtype::kBFloat16: f(__nv_bfloat16{}); break;
    default: return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_add_noise(const AddNoiseParams& p, DdpmDtype dtype, cudaStream_t stream) {
  const int64_t n = p.batch * p.inner;
  if (n == 0 && !p.weights) return cudaSuccess;
  return with_type(dtype, [&](auto v) {
    using T = decltype(v);
    add_noise_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(p);
  });
}

cudaError_t launch_ddpm_step(const StepParams& p, DdpmDtype dtype, cudaStream_t stream) {
  const int64_t n = p.batch * p.inner;
  if (n == 0) return cudaSuccess;
  return with_type(dtype, [&](auto v) {
    using T = decltype(v);
    step_kernel<T><<<blocks_for((n + 3) / 4), kThreads, 0, stream>>>(p);
  });
}

cudaError_t launch_plms_step(const PlmsParams& p, DdpmDtype dtype, cudaStream_t stream) {
  const int64_t n = p.batch * p.inner;
  if (n == 0) return cudaSuccess;
  return with_type(dtype, [&](auto v) {
    using T = decltype(v);
    plms_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(p);
  });
}

cudaError_t launch_philox_normal(void* out, int64_t numel, uint64_t seed, uint64_t offset, DdpmDtype dtype,
                                 cudaStream_t stream) {
  if (numel == 0) return cudaSuccess;
  return with_type(dtype, [&](auto v) {
    using T = decltype(v);
    philox_kernel<T><<<blocks_for((numel + 3) / 4), kThreads, 0, stream>>>(static_cast<T*>(out), numel, seed, offset);
  });
}

}  // namespace vision_ext
