// Fixed-width vectors (GCC vector extensions: AVX-512 under -march=native, narrower vectors
// elsewhere) that the shared VE_HD templates accept as their scalar type T: they convert from a
// scalar, so T(4) * d[0] and the epilogue maths compile unchanged.
#pragma once
#include <cstring>

namespace vision_ext::cpu {

// The raw vector types, spelled out: GCC drops vector_size on a typedef that depends on a
// template parameter.
template <typename S, int N> struct RawVec;
template <> struct RawVec<float, 16> { typedef float type __attribute__((vector_size(64))); };
template <> struct RawVec<double, 8> { typedef double type __attribute__((vector_size(64))); };
template <> struct RawVec<float, 8> { typedef float type __attribute__((vector_size(32))); };

template <typename S, int N>
struct Vec {
  static constexpr int kLanes = N;
  using raw = typename RawVec<S, N>::type;
  raw v;

  Vec() = default;
  Vec(raw r) : v(r) {}
  Vec(S s) : v(raw{} + s) {}  // broadcast

  static Vec load(const S* p) {
    Vec r;
    std::memcpy(&r.v, p, sizeof(raw));
    return r;
  }
  void store(S* p) const { std::memcpy(p, &v, sizeof(raw)); }
};

template <typename S, int N> inline Vec<S, N> operator+(Vec<S, N> a, Vec<S, N> b) { return a.v + b.v; }
template <typename S, int N> inline Vec<S, N> operator-(Vec<S, N> a, Vec<S, N> b) { return a.v - b.v; }
template <typename S, int N> inline Vec<S, N> operator*(Vec<S, N> a, Vec<S, N> b) { return a.v * b.v; }
template <typename S, int N> inline Vec<S, N> operator/(Vec<S, N> a, Vec<S, N> b) { return a.v / b.v; }
template <typename S, int N> inline Vec<S, N> operator-(Vec<S, N> a) { return -a.v; }
template <typename S, int N> inline Vec<S, N>& operator+=(Vec<S, N>& a, Vec<S, N> b) { return a = a + b; }
// Found by argument-dependent lookup from vision_ext::epilogue_value.
template <typename S, int N> inline Vec<S, N> relu_value(Vec<S, N> a) {
  return a.v < S(0) ? typename Vec<S, N>::raw{} : a.v;  // NaN and -0.0 pass, as in torch.relu
}

using F32x16 = Vec<float, 16>;
using F64x8 = Vec<double, 8>;

// The same interface for one float, so a kernel written once handles the channel tail.
inline float load_lanes(const float* p, float) { return *p; }
inline F32x16 load_lanes(const float* p, F32x16) { return F32x16::load(p); }
inline void store_lanes(float v, float* p) { *p = v; }
inline void store_lanes(F32x16 v, float* p) { v.store(p); }

}  // namespace vision_ext::cpu
