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
VE_HD int colour_bin_cv2(double v, const BinRule& r) {
  if (!(v >= r.lo && v < r.hi)) return -1;
  int i = static_cast<int>(floor(ve_add(ve_mul(v, r.a), r.b)));
  i = i < 0 ? 0 : i;
  return i > r.bins - 1 ? r.bins - 1 : i;
}

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

// Magnitude and direction from the summed structure tensor.
VE_HD void colour_gradient_from_tensor(double sxx, double sxy, double syy, double* mag, double* dir) {
  const double d = ve_add(sxx, -syy);
  const double s = sqrt(ve_add(ve_mul(d, d), ve_mul(4.0, ve_mul(sxy, sxy))));
  const double lam = ve_mul(0.5, ve_add(ve_add(sxx, syy), s));
  *mag = sqrt(lam > 0.0 ? lam : 0.0);
  *dir = ve_mul(0.5, atan2(ve_mul(2.0, sxy), d));
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
