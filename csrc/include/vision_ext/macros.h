// Shared by CPU and CUDA code: VE_HD marks maths that both compile.
#pragma once

#if defined(__CUDACC__) || defined(__HIPCC__)
#define VE_HD __host__ __device__ __forceinline__
#else
#define VE_HD inline
#endif

// No-alias promise for kernel pointers (GCC, Clang and nvcc all spell it this way).
#define VE_RESTRICT __restrict__
