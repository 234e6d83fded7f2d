// Shared by CPU and CUDA code: VE_HD marks maths that both compile.
#pragma once

#if defined(__CUDACC__) || defined(__HIPCC__)
#define VE_HD __host__ __device__ __forceinline__
#else
// Always inlined on the host: the per-level CPU kernels (csrc/ops/cpu/simd) instantiate this maths
// with their own ISA flags, and an out-of-line copy would be a symbol shared across levels.
#define VE_HD inline __attribute__((always_inline))
#endif

// No-alias promise for kernel pointers (GCC, Clang and nvcc all spell it this way).
#define VE_RESTRICT __restrict__
