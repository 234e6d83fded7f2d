// fp16/bf16/fp32/fp64 loads and stores through the accumulate type (CUDA only).
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include "vision_ext/cuda_grid.cuh"  // grid_for, for the kernels that include this header
#include "vision_ext/scalar_kind.h"

namespace vision_ext {

template <typename T>
struct AccOf {
  using type = float;
};
template <>
struct AccOf<double> {
  using type = double;
};

__device__ __forceinline__ float to_acc(float v) { return v; }
__device__ __forceinline__ double to_acc(double v) { return v; }
__device__ __forceinline__ float to_acc(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_acc(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T>
__device__ __forceinline__ T from_acc(float v);
template <>
__device__ __forceinline__ float from_acc<float>(float v) { return v; }
template <>
__device__ __forceinline__ __half from_acc<__half>(float v) { return __float2half_rn(v); }
template <>
__device__ __forceinline__ __nv_bfloat16 from_acc<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <typename T>
__device__ __forceinline__ T from_acc(double v) { return v; }

// Calls f(T{}) with the element type of `kind` and returns what f returns (a launch's cudaError_t).
template <typename F>
cudaError_t with_scalar_kind(ScalarKind kind, F f) {
  switch (kind) {
    case ScalarKind::f32: return f(float{});
    case ScalarKind::f64: return f(double{});
    case ScalarKind::f16: return f(__half{});
    case ScalarKind::bf16: return f(__nv_bfloat16{});
  }
  return cudaErrorInvalidValue;
}

}  // namespace vision_ext
