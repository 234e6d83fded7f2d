// Runtime CPU dispatch (docs/ARCHITECTURE.md, "CPU dispatch"). Every hand-vectorised CPU kernel is
// compiled once per level from one ISA-agnostic source in csrc/ops/cpu/simd/ (setup.py builds each
// file with the level's flags into its own namespace: base, avx2, avx512) and publishes a table of
// function pointers there. Glue code asks for the table of the active level:
//
//   VE_CPU_KERNELS(WinogradKernels, winograd)   // declares base::winograd, avx2::winograd, ...
//   winograd_kernels().gemm(...)                // the active level's entry
//
// Torch-free: the per-level sources include it for the table declarations.
#pragma once

namespace vision_ext::cpu {

// Ordered: a level may run wherever a higher one could.
enum class CpuLevel : int { base = 0, avx2 = 1, avx512 = 2 };

// The level kernels run at now: the best the CPU supports, lowered by VISION_EXT_CPU_CAPABILITY
// or set_cpu_level (cpu_dispatch.cpp). Cheap: one relaxed atomic load.
CpuLevel active_cpu_level();

template <typename Table>
inline const Table& select_kernels(const Table* base, const Table* avx2, const Table* avx512) {
  switch (active_cpu_level()) {
    case CpuLevel::avx512: return *avx512;
    case CpuLevel::avx2: return *avx2;
    default: return *base;
  }
}

}  // namespace vision_ext::cpu

#if defined(__x86_64__) || defined(_M_X64)
#define VE_CPU_X86 1
#define VE_CPU_KERNELS(Table, name)                                                                  \
  namespace vision_ext::cpu {                                                                        \
  namespace base { extern const Table name; }                                                        \
  namespace avx2 { extern const Table name; }                                                        \
  namespace avx512 { extern const Table name; }                                                      \
  inline const Table& name##_kernels() { return select_kernels(&base::name, &avx2::name, &avx512::name); } \
  }
#else  // other architectures build the portable level only (NEON through GCC vectors on aarch64)
#define VE_CPU_KERNELS(Table, name)                                        \
  namespace vision_ext::cpu {                                              \
  namespace base { extern const Table name; }                              \
  inline const Table& name##_kernels() { return base::name; }              \
  }
#endif
