// Included first by every per-level kernel source in this folder. setup.py compiles each source
// once per level with -DVE_CPU_NS=<base|avx2|avx512> and the level's ISA flags; the level's code
// lives in namespace vision_ext::cpu::VE_CPU_NS so no two levels share a symbol (setup.py also
// fails the build if an object exports a weak symbol outside that namespace, e.g. a std::
// template compiled with AVX-512 that the linker could hand to baseline code).
//
// Per-level facts every kernel sizes itself with: vector width and register budget.
#pragma once

#ifndef VE_CPU_NS
#error "compile csrc/ops/cpu/simd/*.cpp through setup.py (it sets VE_CPU_NS and the ISA flags)"
#endif

#include "../cpu_dispatch.h"

namespace vision_ext::cpu::VE_CPU_NS {

#if defined(__AVX512F__) && defined(__AVX512BW__)
constexpr CpuLevel kLevel = CpuLevel::avx512;
constexpr int kVectorBytes = 64;
constexpr int kVectorRegisters = 32;
#elif defined(__AVX2__) && defined(__FMA__)
constexpr CpuLevel kLevel = CpuLevel::avx2;
constexpr int kVectorBytes = 32;
constexpr int kVectorRegisters = 16;
#else  // SSE2 on x86-64, NEON on aarch64: 16-byte vectors, 16 (SSE2) or 32 (NEON) registers
constexpr CpuLevel kLevel = CpuLevel::base;
constexpr int kVectorBytes = 16;
constexpr int kVectorRegisters = 16;
#endif

// Hardware fused multiply-add: where it exists, kernels that may contract a*b+c do.
#if defined(__FMA__) || defined(__aarch64__)
constexpr bool kHasFma = true;
#else
constexpr bool kHasFma = false;
#endif

template <typename S>
constexpr int lanes_of() {
  return kVectorBytes / static_cast<int>(sizeof(S));
}

}  // namespace vision_ext::cpu::VE_CPU_NS
