// Colour features: the per-value maths shared by the CPU levels (csrc/ops/cpu/simd/colour_simd.cpp),
// the glue (csrc/ops/colour_common.h) and CUDA (csrc/kernels/cuda/colour.cu), so every device bins a
// value and forms a gradient the same way.
//
// Histogram bins of one channel with uniform bins over [lo, hi], two conventions:
//   cv2   (cv2.calcHist): v kept when lo <= v < hi; bin = clamp(floor(v * a + b), 0, bins - 1) with
//         a = bins / (hi - lo), b = -a * lo in double, lo and hi rounded to float32 first (OpenCV reads
//         ranges as float).
//   numpy (np.histogram / np.histogramdd): edges e[0..bins] = linspace(lo, hi, bins + 1); v kept when
//         e[0] <= v <= e[bins]; bin i holds e[i] <= v < e[i + 1], the last bin also v == e[bins]. The
//         first guess (v - lo) / (hi - lo) * bins is corrected against the edges, as numpy does.
// NaN is never kept.
//
// Di Zenzo colour gradient: per pixel the structure tensor of the channel derivatives
// (sxx, sxy, syy) = sum_c (dx^2, dx dy, dy^2); magnitude = sqrt(largest eigenvalue),
// direction = 0.5 * atan2(2 sxy, sxx - syy).
#pragma once
#include <math.h>
#include <stdint.h>

#include "vision_ext/harris.h"
#include "vision_ext/macros.h"

namespace vision_ext {

enum ColourEdges : int { kEdgesCv2 = 0, kEdgesNumpy = 1 };

// The binning of one channel. `offset`: per-channel histograms: the channel's first output column;
// joint histograms: the stride of this channel's bin in the flattened joint index.
struct BinRule {
  double lo, hi;  // the kept range as the convention reads it (see above)
  double a, b;    // cv2: bin = floor(v * a + b)
  int bins;
  int convention;  // ColourEdges
  int edge0;       // numpy: index of e[0] in the edges array
  int offset;
};

// cv2's bin of v, or -1 (dropped).
// Branch-free (a dropped value is floored as 0) and on the rule's scalars, so the CPU levels' loops
// over pixels vectorise it.
VE_HD int colour_bin_cv2_of(double v, double lo, double hi, double a, double b, int bins) {
  const bool keep = v >= lo && v < hi;
  int i = static_cast<int>(floor(keep ? ve_add(ve_mul(v, a), b) : 0.0));
  i = i < 0 ? 0 : i;
  i = i > bins - 1 ? bins - 1 : i;
  return keep ? i : -1;
}
VE_HD int colour_bin_cv2(double v, const BinRule& r) { return colour_bin_cv2_of(v, r.lo, r.hi, r.a, r.b, r.bins); }

// numpy's bin of v, or -1 (dropped); e: the rule's bins + 1 edges.
VE_HD int colour_bin_numpy(double v, const BinRule& r, const double* e) {
  if (!(v >= r.lo && v <= r.hi)) return -1;
  int i = static_cast<int>(ve_mul(ve_add(v, -r.lo) / ve_add(r.hi, -r.lo), static_cast<double>(r.bins)));
  i = i < 0 ? 0 : (i > r.bins - 1 ? r.bins - 1 : i);
  while (i > 0 && v < e[i]) --i;
  while (i < r.bins - 1 && v >= e[i + 1]) ++i;
  return i;
}

// Bin of v under rule r, or -1 (dropped). edges: the numpy edges array (unused by cv2 rules).
VE_HD int colour_bin(double v, const BinRule& r, const double* edges) {
  return r.convention == kEdgesCv2 ? colour_bin_cv2(v, r) : colour_bin_numpy(v, r, edges + r.edge0);
}

VE_HD double colour_div(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __ddiv_rn(a, b);
#else
  return a / b;
#endif
}

// atan2(y, x) from Cephes' atan rational on [0, 0.66] (one reduction (t - 1) / (t + 1) above it),
// error ~1e-16 rad. Only multiplies, adds, divides and selects, each rounded once: the CPU levels'
// vector loops (csrc/ops/cpu/simd/colour_simd.cpp) and CUDA give the same bits, where libm and
// CUDA's atan2 differ in the last bit. atan2(+-0, +0) = +-0; NaN propagates; -0 in x counts as +0
// (the gradient's tensor sums never give -0).
VE_HD double colour_atan2(double y, double x) {
  constexpr double kPi = 3.14159265358979323846, kPi2 = 1.57079632679489661923, kPi4 = 0.78539816339744830962;
  constexpr double kMoreBits = 6.123233995736765886130E-17;  // pi/2 - double(pi/2)
  const double ax = fabs(x), ay = fabs(y);
  const bool swap = ay > ax;
  const double hi = swap ? ay : ax, lo = swap ? ax : ay;
  // One division: r = lo / hi, or above tan(~33 deg) the reduced (lo - hi) / (lo + hi) (= (t - 1) / (t + 1),
  // lo - hi exact), both numerator and denominator selected first (a select vectorises; a division
  // under a condition does not).
  const bool big = lo > ve_mul(0.66, hi);
  const double q0 = colour_div(big ? ve_add(lo, -hi) : lo, big ? ve_add(lo, hi) : hi);
  const double r = hi == 0.0 ? 0.0 : q0;
  const double z = ve_mul(r, r);
  double p = -8.750608600031904122785E-1;
  p = ve_add(ve_mul(p, z), -1.615753718733365076637E1);
  p = ve_add(ve_mul(p, z), -7.500855792314704667340E1);
  p = ve_add(ve_mul(p, z), -1.228866684490136173410E2);
  p = ve_add(ve_mul(p, z), -6.485021904942025371773E1);
  double q = ve_add(z, 2.485846490142306297962E1);
  q = ve_add(ve_mul(q, z), 1.650270098316988542046E2);
  q = ve_add(ve_mul(q, z), 4.328810604912902668951E2);
  q = ve_add(ve_mul(q, z), 4.853903996359136964868E2);
  q = ve_add(ve_mul(q, z), 1.945506571482613964425E2);
  // Each candidate computed, then selected (no arithmetic under a condition: AVX2 has no masked ops).
  const double a0 = ve_add(r, ve_mul(ve_mul(r, z), colour_div(p, q)));
  const double a0b = ve_add(kPi4, ve_add(a0, 0.5 * kMoreBits));
  const double a1 = big ? a0b : a0;
  const double a1s = ve_add(kPi2, ve_add(kMoreBits, -a1));
  const double a2 = swap ? a1s : a1;
  const double a2x = ve_add(kPi, ve_add(2.0 * kMoreBits, -a2));
  const double a3 = x < 0.0 ? a2x : a2;
  return y < 0.0 ? -a3 : a3;
}

// Magnitude and direction from the summed structure tensor (branch-free: the CPU kernels call it
// in vector loops).
VE_HD void colour_gradient_from_tensor(double sxx, double sxy, double syy, double* mag, double* dir) {
  const double d = ve_add(sxx, -syy);
  const double s = sqrt(ve_add(ve_mul(d, d), ve_mul(4.0, ve_mul(sxy, sxy))));
  const double lam = ve_mul(0.5, ve_add(ve_add(sxx, syy), s));
  *mag = sqrt(lam > 0.0 ? lam : 0.0);
  *dir = ve_mul(0.5, colour_atan2(ve_mul(2.0, sxy), d));
}

// The gradient at (x, y) of `channels` planes of p.height x p.width pixels, plane_stride apart.
// Derivatives are OpenCV's Sobel (vision_ext/harris.h) in double with p.scale = 1 (raw units).
template <typename In>
VE_HD void colour_gradient_at(const In* planes, long long plane_stride, int channels, const CornerParams& p,
                              const SobelTaps& taps, int x, int y, double* mag, double* dir) {
  double sxx = 0.0, sxy = 0.0, syy = 0.0;
  for (int c = 0; c < channels; ++c) {
    double dx = 0.0, dy = 0.0;
    corner_derivatives_at<double, In>(planes + c * plane_stride, p.width, 1, p, taps, x, y, &dx, &dy);
    sxx = ve_add(sxx, ve_mul(dx, dx));
    sxy = ve_add(sxy, ve_mul(dx, dy));
    syy = ve_add(syy, ve_mul(dy, dy));
  }
  colour_gradient_from_tensor(sxx, sxy, syy, mag, dir);
}

}  // namespace vision_ext
