// CUDA kernels of the GroupNorm (+ SiLU) family around the per-element maths of
// vision_ext/group_norm.h (the CPU levels run the same formulas). One block per (sample, group)
// reduces shifted sums in double, then grid-stride elementwise kernels normalise; the backward
// reduces per (sample, channel), forms the per-group constants, then writes grad_x.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "vision_ext/cuda_scalar.cuh"
#include "vision_ext/group_norm.h"
#include "vision_ext/group_norm_launch.h"

namespace vision_ext {
namespace {

constexpr int kThreads = 256;

// Sum of two doubles over the block (blockDim.x == kThreads); thread 0 gets the totals.
__device__ void block_sum2(double& a, double& b) {
  __shared__ double sa[kThreads], sb[kThreads];
  sa[threadIdx.x] = a;
  sb[threadIdx.x] = b;
  __syncthreads();
  for (int w = kThreads / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) {
      sa[threadIdx.x] += sa[threadIdx.x + w];
      sb[threadIdx.x] += sb[threadIdx.x + w];
    }
    __syncthreads();
  }
  a = sa[0];
  b = sb[0];
}

// Element k of group g of sample n (k over the group's channels x pixels, channel-major in NCHW,
// pixel-major in channels_last) -> its storage index.
__device__ __forceinline__ long long group_index(const GroupNormShape& s, long long n, long long g, long long k) {
  const long long cg = s.c / s.groups;
  if (!s.channels_last) return (n * s.c + g * cg) * s.hw + k;
  return (n * s.hw + k / cg) * s.c + g * cg + k % cg;
}

__device__ __forceinline__ long long channel_of(const GroupNormShape& s, long long i) {
  return s.channels_last ? i % s.c : (i / s.hw) % s.c;
}

// Grid-stride over every element: f(i, c, gi, mean, scale, shift) with its channel c, its
// (sample, group) index gi and the per-element parameters of vision_ext/group_norm.h.
template <typename A, typename F>
__device__ __forceinline__ void for_each_element(const GroupNormShape& s, const void* weight, const void* bias,
                                                 const void* mean, const void* rstd, F f) {
  const long long total = s.n * s.c * s.hw, cg = s.c / s.groups;
  const A* w = static_cast<const A*>(weight);
  const A* b = static_cast<const A*>(bias);
  const A* m = static_cast<const A*>(mean);
  const A* r = static_cast<const A*>(rstd);
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
    const long long c = channel_of(s, i), gi = i / (s.c * s.hw) * s.groups + c / cg;
    f(i, gi, m[gi], A(double(r[gi]) * double(w[c])), b[c]);
  }
}

template <typename T>
__global__ void stats_kernel(GroupNormForwardParams p) {
  using A = typename AccOf<T>::type;
  const GroupNormShape s = p.s;
  const long long n = blockIdx.x / s.groups, g = blockIdx.x % s.groups, d = s.c / s.groups * s.hw;
  const T* x = static_cast<const T*>(p.x);
  const double shift = d > 0 ? double(to_acc(x[group_index(s, n, g, 0)])) : 0.0;
  double s1 = 0.0, s2 = 0.0;
  for (long long k = threadIdx.x; k < d; k += blockDim.x) {
    const double v = double(to_acc(x[group_index(s, n, g, k)])) - shift;
    s1 += v;
    s2 += v * v;
  }
  block_sum2(s1, s2);
  if (threadIdx.x == 0) {
    double m2 = 0.0;
    const double mean = d > 0 ? gn_moments(shift, s1, s2, double(d), &m2) : 0.0;
    static_cast<A*>(p.mean)[blockIdx.x] = A(mean);
    static_cast<A*>(p.rstd)[blockIdx.x] = A(1.0 / sqrt((d > 0 ? m2 / double(d) : 0.0) + p.eps));
  }
}

template <typename T>
__global__ void forward_kernel(GroupNormForwardParams p) {
  using A = typename AccOf<T>::type;
  const T* x = static_cast<const T*>(p.x);
  T* out = static_cast<T*>(p.out);
  const int act = p.s.act;
  for_each_element<A>(p.s, p.weight, p.bias, p.mean, p.rstd, [&](long long i, long long, A m, A scale, A shift) {
    out[i] = from_acc<T>(gn_forward(to_acc(x[i]), m, scale, shift, act));
  });
}

// One block per (sample, channel): sum g and g * (x - mean) over its pixels.
template <typename T>
__global__ void grad_sums_kernel(GroupNormBackwardParams p) {
  using A = typename AccOf<T>::type;
  const GroupNormShape s = p.s;
  const long long n = blockIdx.x / s.c, c = blockIdx.x % s.c, gi = n * s.groups + c / (s.c / s.groups);
  const T* x = static_cast<const T*>(p.x);
  const T* dy = static_cast<const T*>(p.grad_out);
  const A m = static_cast<const A*>(p.mean)[gi];
  const A scale = A(double(static_cast<const A*>(p.rstd)[gi]) * double(static_cast<const A*>(p.weight)[c]));
  const A shift = static_cast<const A*>(p.bias)[c];
  double sg = 0.0, sgx = 0.0;
  for (long long q = threadIdx.x; q < s.hw; q += blockDim.x) {
    const long long i = s.channels_last ? (n * s.hw + q) * s.c + c : (n * s.c + c) * s.hw + q;
    const A xv = to_acc(x[i]);
    const A g = gn_act_grad(to_acc(dy[i]), xv, m, scale, shift, s.act);
    sg += double(g);
    sgx += double(g * (xv - m));
  }
  block_sum2(sg, sgx);
  if (threadIdx.x == 0) {
    p.sums[blockIdx.x] = sg;
    p.sums[s.n * s.c + blockIdx.x] = sgx;
  }
}

// Threads [0, N*G): the per-group constants; threads [N*G, N*G + C): the parameter gradients.
template <typename T>
__global__ void grad_constants_kernel(GroupNormBackwardParams p) {
  using A = typename AccOf<T>::type;
  const GroupNormShape s = p.s;
  const long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x, cg = s.c / s.groups, ng = s.n * s.groups;
  const A* w = static_cast<const A*>(p.weight);
  const A* rstd = static_cast<const A*>(p.rstd);
  const double* sg = p.sums;
  const double* sgx = p.sums + s.n * s.c;
  if (t < ng) {
    const long long n = t / s.groups, c0 = t % s.groups * cg;
    double a = 0.0, b = 0.0;
    for (long long c = c0; c < c0 + cg; ++c) {
      a += double(w[c]) * sg[n * s.c + c];
      b += double(w[c]) * sgx[n * s.c + c];
    }
    const double r = rstd[t], d = double(cg * s.hw);
    p.constants[t] = -r * r * r * b / d;
    p.constants[ng + t] = -r * a / d;
  } else if (t < ng + s.c) {
    const long long c = t - ng;
    double dw = 0.0, db = 0.0;
    for (long long n = 0; n < s.n; ++n) {
      dw += double(rstd[n * s.groups + c / cg]) * sgx[n * s.c + c];
      db += sg[n * s.c + c];
    }
    static_cast<A*>(p.grad_weight)[c] = A(dw);
    static_cast<A*>(p.grad_bias)[c] = A(db);
  }
}

template <typename T>
__global__ void input_grad_kernel(GroupNormBackwardParams p) {
  using A = typename AccOf<T>::type;
  const T* x = static_cast<const T*>(p.x);
  const T* dy = static_cast<const T*>(p.grad_out);
  T* dx = static_cast<T*>(p.grad_x);
  const double* c2 = p.constants;
  const double* c3 = p.constants + p.s.n * p.s.groups;
  const int act = p.s.act;
  for_each_element<A>(p.s, p.weight, p.bias, p.mean, p.rstd, [&](long long i, long long gi, A m, A scale, A shift) {
    const A xv = to_acc(x[i]);
    const A g = gn_act_grad(to_acc(dy[i]), xv, m, scale, shift, act);
    dx[i] = from_acc<T>(gn_input_grad(g, xv, m, scale, A(c2[gi]), A(c3[gi])));
  });
}

}  // namespace

cudaError_t launch_group_norm_forward(const GroupNormForwardParams& p, ScalarKind dtype, cudaStream_t stream) {
  const long long groups = p.s.n * p.s.groups, total = p.s.n * p.s.c * p.s.hw;
  if (groups == 0) return cudaSuccess;
  if (groups > 0x7fffffffLL) return cudaErrorInvalidConfiguration;
  return with_scalar_kind(dtype, [&](auto t) {
    using T = decltype(t);
    stats_kernel<T><<<static_cast<unsigned>(groups), kThreads, 0, stream>>>(p);
    if (total > 0) forward_kernel<T><<<grid_for(total, kThreads), kThreads, 0, stream>>>(p);
    return cudaGetLastError();
  });
}

cudaError_t launch_group_norm_backward(const GroupNormBackwardParams& p, ScalarKind dtype, cudaStream_t stream) {
  const long long rows = p.s.n * p.s.c, total = rows * p.s.hw, threads = p.s.n * p.s.groups + p.s.c;
  if (total == 0) return cudaSuccess;
  if (rows > 0x7fffffffLL) return cudaErrorInvalidConfiguration;
  return with_scalar_kind(dtype, [&](auto t) {
    using T = decltype(t);
    grad_sums_kernel<T><<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(p);
    grad_constants_kernel<T><<<grid_for(threads, kThreads), kThreads, 0, stream>>>(p);
    input_grad_kernel<T><<<grid_for(total, kThreads), kThreads, 0, stream>>>(p);
    return cudaGetLastError();
  });
}

}  // namespace vision_ext
