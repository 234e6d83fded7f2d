// Counter-based Philox4x32-10 (Salmon et al., SC'11) and its mapping to normal
// numbers. Torch-free and VE_HD so the CPU kernels and the CUDA kernels draw
// bit-identical noise: every multiply-add below is an explicit fmaf (never left
// to the compiler's contraction), and the rest is IEEE-exact (+, *, /, sqrtf, rintf).
#pragma once
#include <math.h>
#include <stdint.h>

#include "vision_ext/macros.h"

namespace vision_ext {

struct Philox4 {
  uint32_t v[4];
};

constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;  // golden ratio
constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;  // sqrt(3) - 1

VE_HD Philox4 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kPhiloxM0) * c0;
    const uint64_t p1 = static_cast<uint64_t>(kPhiloxM1) * c2;
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += kPhiloxW0;  // the bump after the last round is unused
    k1 += kPhiloxW1;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// Uniform in the open interval (0, 1): 23 random bits plus half a step, exact in float
// (24 bits would round the top value up to 1.0).
VE_HD float philox_uniform(uint32_t bits) {
  return fmaf(static_cast<float>(bits >> 9), 1.1920928955078125e-07f /* 2^-23 */, 5.9604644775390625e-08f);
}

// The same 32 bits read as another type (float <-> uint32_t); a union, which host and device
// compilers both accept in VE_HD code.
template <typename To, typename From>
VE_HD To bits_as(From v) {
  static_assert(sizeof(To) == sizeof(From), "bits_as: the two types must have the same size");
  union {
    From from;
    To to;
  } c;
  c.from = v;
  return c.to;
}

// Natural log of a positive normal float, our own polynomial so both devices agree.
// m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.172.
VE_HD float philox_log(float x) {
  const uint32_t b = bits_as<uint32_t>(x);
  int e = static_cast<int>((b >> 23) & 0xffu) - 127;
  float m = bits_as<float>((b & 0x7fffffu) | 0x3f800000u);
  const bool big = m > 1.41421356f;
  m = big ? m * 0.5f : m;
  e = big ? e + 1 : e;
  const float s = (m - 1.f) / (m + 1.f);
  const float s2 = s * s;
  float p = fmaf(s2, 0.11111111f, 0.14285715f);
  p = fmaf(s2, p, 0.2f);
  p = fmaf(s2, p, 0.33333334f);
  p = fmaf(s2, p, 1.f);
  return fmaf(static_cast<float>(e), 0.693147180559945f, (2.f * s) * p);
}

// sin and cos of 2*pi*u for u in (0, 1): q = the nearest quarter turn (rintf(4u)), f = 4u - q in
// [-1/2, 1/2] (4u and 4u - q are exact), Taylor polynomials of sin and cos of (pi/2) f (truncation
// < 2e-9 and 1e-10), then a rotation by q quarter turns (exact swaps and negations).
VE_HD void philox_sincos_2pi(float u, float* sin_out, float* cos_out) {
  const float v = 4.f * u;
  const float q = rintf(v);
  const float f = v - q;
  const float f2 = f * f;
  float s = fmaf(f2, 1.6044118e-04f, -4.6817541e-03f);
  s = fmaf(f2, s, 7.9692625e-02f);
  s = fmaf(f2, s, -6.4596410e-01f);
  s = fmaf(f2, s, 1.5707964f);
  s = s * f;
  float c = fmaf(f2, -2.5202042e-05f, 9.1926026e-04f);
  c = fmaf(f2, c, -2.0863481e-02f);
  c = fmaf(f2, c, 2.5366950e-01f);
  c = fmaf(f2, c, -1.2337005f);
  c = fmaf(f2, c, 1.f);
  const int k = static_cast<int>(q) & 3;
  *sin_out = (k & 1) ? ((k & 2) ? -c : c) : ((k & 2) ? -s : s);
  *cos_out = (k & 1) ? ((k & 2) ? s : -s) : ((k & 2) ? -c : c);
}

// Four standard normals from one Philox block (Box-Muller on two pairs).
struct Normal4 {
  float v[4];
};

VE_HD Normal4 philox_normal4(uint64_t seed, uint64_t offset, uint64_t group) {
  const Philox4 r = philox4x32_10(static_cast<uint32_t>(group), static_cast<uint32_t>(group >> 32),
                                  static_cast<uint32_t>(offset), static_cast<uint32_t>(offset >> 32),
                                  static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
  Normal4 out;
  for (int k = 0; k < 2; ++k) {
    const float radius = sqrtf(-2.f * philox_log(philox_uniform(r.v[2 * k])));
    float sn, cs;
    philox_sincos_2pi(philox_uniform(r.v[2 * k + 1]), &sn, &cs);
    out.v[2 * k] = radius * cs;
    out.v[2 * k + 1] = radius * sn;
  }
  return out;
}

// The normal for flat element `index`: element i takes value i % 4 of block i / 4.
VE_HD float philox_normal_at(uint64_t seed, uint64_t offset, uint64_t index) {
  return philox_normal4(seed, offset, index >> 2).v[index & 3];
}

}  // namespace vision_ext
