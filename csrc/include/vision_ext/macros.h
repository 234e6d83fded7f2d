// Shared by CPU and CUDA code: VE_HD marks maths that both compile.
#pragma once

#if defined(__CUDACC__) || defined(__HIPCC__)
#define VE_HD __host__ __device__ __forceinline__
#define VE_DEVICE __device__ __forceinline__
#else
#define VE_HD inline
#define VE_DEVICE inline
#endif

#if defined(__CUDACC__)
#define VE_RESTRICT __restrict__
#else
#define VE_RESTRICT __restrict__
#endif
