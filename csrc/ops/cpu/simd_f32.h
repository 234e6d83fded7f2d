// A 16-lane float vector (GCC vector extension: AVX-512 under -march=native, narrower
// vectors elsewhere) that the shared VE_HD templates accept as their scalar type T:
// it converts from float, so T(4) * d[0] and the epilogue maths compile unchanged.
#pragma once
#include <cstring>

namespace vision_ext::cpu {

struct F32x16 {
  static constexpr int kLanes = 16;
  typedef float raw __attribute__((vector_size(64)));
  raw v;

  F32x16() = default;
  F32x16(raw r) : v(r) {}
  F32x16(float s) : v(raw{} + s) {}  // broadcast

  static F32x16 load(const float* p) {
    F32x16 r;
    std::memcpy(&r.v, p, sizeof(raw));
    return r;
  }
  void store(float* p) const { std::memcpy(p, &v, sizeof(raw)); }
};

inline F32x16 operator+(F32x16 a, F32x16 b) { return a.v + b.v; }
inline F32x16 operator-(F32x16 a, F32x16 b) { return a.v - b.v; }
inline F32x16 operator*(F32x16 a, F32x16 b) { return a.v * b.v; }
inline F32x16 operator-(F32x16 a) { return -a.v; }
inline F32x16& operator+=(F32x16& a, F32x16 b) { return a = a + b; }
// Found by argument-dependent lookup from vision_ext::epilogue_value.
inline F32x16 relu_value(F32x16 a) { return a.v > 0.f ? a.v : F32x16::raw{}; }

// The same interface for one float, so a kernel written once handles the channel tail.
inline float load_lanes(const float* p, float) { return *p; }
inline F32x16 load_lanes(const float* p, F32x16) { return F32x16::load(p); }
inline void store_lanes(float v, float* p) { *p = v; }
inline void store_lanes(F32x16 v, float* p) { v.store(p); }

}  // namespace vision_ext::cpu
