// Popcount for the ORB family's Hamming kernel at the level being compiled: the POPCNT
// instruction where the level has it (avx2 / avx512 levels of setup.py), a branch-free bit count
// elsewhere (SSE2 baseline, aarch64), so no level calls out of line.
#pragma once
#include <cstdint>
#include <cstring>

#include "isa.h"

namespace vision_ext::cpu::VE_CPU_NS {

inline int popcount64(uint64_t v) {
#if defined(__POPCNT__) || defined(__aarch64__)
  return __builtin_popcountll(v);
#else
  v = v - ((v >> 1) & 0x5555555555555555ull);
  v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
  v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0Full;
  return static_cast<int>((v * 0x0101010101010101ull) >> 56);
#endif
}

// The four 64-bit words of a 32-byte descriptor.
struct Desc256 {
  uint64_t w[4];
};

inline Desc256 load_desc256(const uint8_t* p) {
  Desc256 d;
  std::memcpy(d.w, p, 32);
  return d;
}

inline int hamming256(const Desc256& a, const Desc256& b) {
  return popcount64(a.w[0] ^ b.w[0]) + popcount64(a.w[1] ^ b.w[1]) + popcount64(a.w[2] ^ b.w[2]) +
         popcount64(a.w[3] ^ b.w[3]);
}

}  // namespace vision_ext::cpu::VE_CPU_NS
