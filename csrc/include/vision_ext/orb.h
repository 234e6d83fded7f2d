// ORB maths shared by the CPU kernels (csrc/ops/cpu/simd/orb_simd.cpp), the CUDA kernels
// (csrc/kernels/cuda/orb.cu) and, line for line, the plain NumPy reference of the tests
// (tests/features/orb_reference.py). Every step is integer arithmetic or IEEE + - * / sqrt with
// explicit rounding (ve_mul / ve_add of harris.h, ve_div / ve_sqrt here), so keypoints, angles and
// descriptors are bit-identical across CPU levels, thread counts and CUDA.
//
//   pyramid   level l is level l-1 resized to round(size / scale_factor^l): centre-aligned
//             bilinear with 11-bit weights (orb_resize_tap, orb_blend), rounded once
//   detection FAST 9_16 + 3x3 non-maximum suppression of the corner family (vision_ext/fast.h)
//   score     Harris of cv2.cornerHarris(block 7, ksize 3, k 0.04) at the candidate (harris.h)
//   angle     intensity centroid over the disc of radius patch_size / 2 (orb_moments)
//   smoothing 7x7 binomial-like Gaussian (sigma ~2) with integer taps summing to 256 per pass
//   BRIEF     the learned pairs of vision_ext/orb_pattern.h rotated by the angle, rounded
#pragma once
#include <cmath>
#include <cstdint>

#include "vision_ext/harris.h"
#include "vision_ext/macros.h"
#include "vision_ext/orb_pattern.h"

namespace vision_ext {

template <typename T>
VE_HD T ve_div(T a, T b) {
#if defined(__CUDA_ARCH__)
  if constexpr (sizeof(T) == sizeof(float)) return __fdiv_rn(a, b);
  else return __ddiv_rn(a, b);
#else
  return a / b;
#endif
}

VE_HD double ve_sqrt(double a) {
#if defined(__CUDA_ARCH__)
  return __dsqrt_rn(a);
#else
  return std::sqrt(a);
#endif
}

// ---- pyramid -------------------------------------------------------------------------------
constexpr int kOrbResizeBits = 11;
constexpr int kOrbResizeOne = 1 << kOrbResizeBits;

// Source taps of destination index d when n_src samples become n_dst: the source coordinate
// (d + 0.5) * n_src / n_dst - 0.5 in 1/2048 steps, floored, clamped to the line.
struct OrbTap {
  int i0, i1;  // the two source samples
  int f;       // weight of i1 in [0, 2048)
};

VE_HD OrbTap orb_resize_tap(int d, int n_dst, int n_src) {
  const long long num = (2LL * d + 1) * n_src - n_dst;  // coordinate * 2 * n_dst
  OrbTap t{0, 0, 0};
  if (num <= 0) return t;
  const long long q = (num << kOrbResizeBits) / (2LL * n_dst);
  t.i0 = static_cast<int>(q >> kOrbResizeBits);
  t.f = static_cast<int>(q & (kOrbResizeOne - 1));
  if (t.i0 >= n_src - 1) {
    t.i0 = n_src - 1;
    t.f = 0;
  }
  t.i1 = t.f ? t.i0 + 1 : t.i0;
  return t;
}

// One bilinear pass: a and b weighted by 2048 - f and f (exact in int32 for the two passes).
VE_HD int orb_blend(int a, int b, int f) { return a * (kOrbResizeOne - f) + b * f; }

// Both passes done (weights 2048 x 2048): the pixel, rounded half up.
VE_HD uint8_t orb_resize_round(int v) {
  return static_cast<uint8_t>((v + (1 << (2 * kOrbResizeBits - 1))) >> (2 * kOrbResizeBits));
}

// Pixel (x, y) of the level resized from src (sw x sh, row stride sw) to dw x dh; the CPU
// kernel runs the same integer sums row-wise (vertical pass first).
VE_HD uint8_t orb_resize_pixel(const uint8_t* src, int sw, int sh, int dw, int dh, int x, int y) {
  const OrbTap tx = orb_resize_tap(x, dw, sw), ty = orb_resize_tap(y, dh, sh);
  const uint8_t* r0 = src + static_cast<long long>(ty.i0) * sw;
  const uint8_t* r1 = src + static_cast<long long>(ty.i1) * sw;
  const int a = orb_blend(r0[tx.i0], r1[tx.i0], ty.f), b = orb_blend(r0[tx.i1], r1[tx.i1], ty.f);
  return orb_resize_round(orb_blend(a, b, tx.f));
}

// ---- Harris score at a candidate -------------------------------------------------------------
constexpr int kOrbHarrisBlock = 7;

VE_HD CornerParams orb_harris_params(int h, int w) {
  CornerParams p{};
  p.height = h;
  p.width = w;
  p.block_size = kOrbHarrisBlock;
  p.ksize = 3;
  p.border = kBorderReflect101;
  p.harris = 1;
  p.k = 0.04;
  p.scale = corner_derivative_scale(3, kOrbHarrisBlock, true);
  return p;
}

// Pixels around a candidate that its Harris score reads: the window and the Sobel taps.
constexpr int kOrbHarrisReach = kOrbHarrisBlock / 2 + 1;

// cv2.cornerHarris(level, 7, 3, 0.04) at (x, y): the corner family's products and window sum.
// In: the 8-bit pixel type (uint8_t, or a per-level wrapper the CPU kernels use).
template <typename In>
VE_HD float orb_harris_at(const In* plane, const CornerParams& p, const SobelTaps& taps, int x, int y) {
  constexpr int B = kOrbHarrisBlock;
  float sxx[B * B], sxy[B * B], syy[B * B];
  for (int i = 0; i < B * B; ++i)
    corner_products_at<float, In>(plane, p, taps, x - B / 2 + i % B, y - B / 2 + i / B, sxx + i, sxy + i, syy + i);
  return corner_window_response<float>(sxx, sxy, syy, 0, B, p);
}

// ---- orientation -----------------------------------------------------------------------------
// Half width of row v of the disc of radius r: the largest u with u^2 + v^2 <= r^2.
VE_HD int orb_disc_half_width(int r, int v) {
  int u = r;
  while (u > 0 && u * u + v * v > r * r) --u;
  return u;
}

// Row v of the disc around `centre`, hw = orb_disc_half_width(r, v), added to the first moments:
// *a += sum u I, *b += v sum I (integer sums: any split of the rows gives the same totals).
VE_HD void orb_moment_row(const uint8_t* centre, long long stride, int v, int hw, int* a, int* b) {
  const uint8_t* row = centre + v * stride;
  int m = 0, s = 0;
  for (int u = -hw; u <= hw; ++u) {
    m += u * row[u];
    s += row[u];
  }
  *a += m;
  *b += v * s;
}

// First moments m10 = sum u I, m01 = sum v I over the disc of radius r around `centre`.
VE_HD void orb_moments(const uint8_t* centre, long long stride, int r, int* m10, int* m01) {
  int a = 0, b = 0;
  for (int v = -r; v <= r; ++v) orb_moment_row(centre, stride, v, orb_disc_half_width(r, v), &a, &b);
  *m10 = a;
  *m01 = b;
}

// atan(t) for t in [0, 1]: one reduction at tan(pi/8), then the odd series to t^23 (error
// below 1e-11 rad), Horner in double with explicit rounding.
VE_HD double orb_atan_unit(double t) {
  constexpr double kPi4 = 0.78539816339744830962;
  double off = 0.0;
  if (t > 0.41421356237309504880) {
    t = ve_div(ve_add(t, -1.0), ve_add(t, 1.0));
    off = kPi4;
  }
  const double t2 = ve_mul(t, t);
  // s = sum_k (-1)^k t2^k / (2k + 1), k = 0..11, by Horner from the top term.
  double s = -1.0 / 23.0;
  for (int k = 10; k >= 0; --k) s = ve_add((k % 2 ? -1.0 : 1.0) / static_cast<double>(2 * k + 1), ve_mul(t2, s));
  return ve_add(off, ve_mul(t, s));
}

// Angle of (x, y) in degrees, [0, 360), y pointing down (OpenCV's keypoint angle convention).
VE_HD float orb_angle_degrees(int m10, int m01) {
  constexpr double kPi = 3.14159265358979323846, kToDeg = 180.0 / 3.14159265358979323846;
  const double x = m10, y = m01, ax = x < 0 ? -x : x, ay = y < 0 ? -y : y;
  if (ax == 0.0 && ay == 0.0) return 0.f;
  double a = ay <= ax ? orb_atan_unit(ve_div(ay, ax)) : ve_add(kPi / 2, -orb_atan_unit(ve_div(ax, ay)));
  if (x < 0) a = ve_add(kPi, -a);
  if (y < 0) a = ve_add(2 * kPi, -a);
  const float deg = static_cast<float>(ve_mul(a, kToDeg));
  return deg >= 360.f ? 0.f : deg;
}

// cos and sin of the centroid direction, exactly rounded (identity for a flat patch).
VE_HD void orb_direction(int m10, int m01, double* c, double* s) {
  const double x = m10, y = m01;
  const double r = ve_sqrt(ve_add(ve_mul(x, x), ve_mul(y, y)));
  if (r == 0.0) {
    *c = 1.0;
    *s = 0.0;
    return;
  }
  *c = ve_div(x, r);
  *s = ve_div(y, r);
}

// ---- smoothing and BRIEF ---------------------------------------------------------------------
constexpr int kOrbBlurRadius = 3;
// Tap k (-3..3) of the 7-tap kernel {18, 34, 49, 54, 49, 34, 18} (sum 256): a function, not a table,
// so device code can use it with a run-time index.
VE_HD constexpr int orb_blur_tap(int k) {
  return k == 0 ? 54 : (k == 1 || k == -1) ? 49 : (k == 2 || k == -2) ? 34 : 18;
}

// Horizontal-then-vertical integer sum (weight 65536), rounded half up.
VE_HD uint8_t orb_blur_round(int v) { return static_cast<uint8_t>((v + 32768) >> 16); }

// The smoothed pixel at `p` (every pixel within 3 inside the image).
VE_HD uint8_t orb_smoothed_at(const uint8_t* p, long long stride) {
  int v = 0;
  for (int i = -kOrbBlurRadius; i <= kOrbBlurRadius; ++i) {
    const uint8_t* row = p + i * stride;
    int h = 0;
    for (int j = -kOrbBlurRadius; j <= kOrbBlurRadius; ++j) h += orb_blur_tap(j) * row[j];
    v += orb_blur_tap(i) * h;
  }
  return orb_blur_round(v);
}

// A rotated pattern point: R(angle) (px, py) rounded half up, as trunc(v + 64.5) - 64 (v > -64, so
// truncation is floor): one IEEE addition and a conversion, which vectorises at every level (a
// vector floor needs flags the kernels do not use). It equals floor(v + 0.5) except within 2^-46 of
// a half integer, identically on every device and in tests/features/orb_reference.py.
// P: int, or double holding an integer (the CPU kernel keeps the table as doubles to vectorise).
template <typename P>
VE_HD void orb_rotate(P px, P py, double c, double s, int* rx, int* ry) {
  const double x = ve_add(ve_mul(static_cast<double>(px), c), -ve_mul(static_cast<double>(py), s));
  const double y = ve_add(ve_mul(static_cast<double>(px), s), ve_mul(static_cast<double>(py), c));
  *rx = static_cast<int>(ve_add(x, 64.5)) - 64;
  *ry = static_cast<int>(ve_add(y, 64.5)) - 64;
}

// Farthest a rotated pattern point lands from the keypoint (13 * sqrt(2), rounded up), and the
// margin a keypoint keeps from the image edge so that every sample and its smoothing window is
// inside the level: no border rule is ever needed.
constexpr int kOrbBriefReach = 19;
constexpr int kOrbMinBorder = kOrbBriefReach + kOrbBlurRadius;

// Descriptor bytes: bit j of byte i is pair 8 i + j, 1 where the first point is darker.
VE_HD uint8_t orb_brief_byte(const int* first, const int* second) {
  unsigned v = 0;
  for (int j = 0; j < 8; ++j) v |= static_cast<unsigned>(first[j] < second[j]) << j;
  return static_cast<uint8_t>(v);
}

}  // namespace vision_ext
