// Per-pixel maths of the blob detectors (LoG, DoG and DoH scale spaces), shared by the CPU levels
// (csrc/ops/cpu/simd/blobs_simd.cpp, T = a double lane vector or double for row tails) and CUDA
// (csrc/kernels/cuda/blobs.cu, T = double).
//
// The filters are scipy.ndimage's as scikit-image calls them (docs/EXACTNESS.md, "Blobs"): 1-D
// symmetric correlations with the half kernel w[0..r] (w[0] the centre), summed as scipy sums a
// symmetric kernel, centre first and then the pairs from the outermost in, so the same taps give
// the same bits; borders are scipy's 'reflect' (half-sample symmetric, repeated for kernels
// longer than the line).
#pragma once
#include <cstdint>

#include "vision_ext/macros.h"

namespace vision_ext {
namespace blobs {

// Index of sample i of a line of n samples under 'reflect' (d c b a | a b c d | d c b a).
VE_HD int reflect_index(long long i, int n) {
  const long long p = 2LL * n;
  long long m = i % p;
  if (m < 0) m += p;
  return static_cast<int>(m >= n ? p - 1 - m : m);
}

// One symmetric correlation, sum_k w[|k|] * x[k] for k in [-r, r], is centre_tap(x[0], w[0])
// followed by pair_tap(acc, x[-j], x[j], w[j]) for j = r down to 1: scipy's order (the CPU
// kernels interleave several of these sums, each in this order).
template <class T>
VE_HD T centre_tap(T x0, double w0) {
  return x0 * T(w0);
}
template <class T>
VE_HD T pair_tap(T acc, T below, T above, double wj) {
  return acc + (below + above) * T(wj);
}

#if defined(__CUDA_ARCH__)
// nvcc would contract the product and the sum into one fma (a different rounding than the CPU's
// and scipy's); the explicit round-to-nearest intrinsics keep the two roundings.
VE_HD double pair_tap(double acc, double below, double above, double wj) {
  return __dadd_rn(acc, __dmul_rn(__dadd_rn(below, above), wj));
}
#endif

// The whole sum for one output; at(k) gives x[k] (a T).
template <class T, class At>
VE_HD T symmetric_correlate(At at, const double* w, int r) {
  T acc = centre_tap(at(0), w[0]);
  for (int j = r; j >= 1; --j) acc = pair_tap(acc, at(-j), at(j), w[j]);
  return acc;
}

// Scale-normalised LoG response: -(d2/dy2 + d2/dx2) * sigma^2, the Laplacian summed y-term first.
template <class T>
VE_HD T log_response(T dyy, T dxx, double norm) {
  return -(dyy + dxx) * T(norm);
}

// DoG response between consecutive Gaussian scales, times 1 / (sigma_ratio - 1).
template <class T>
VE_HD T dog_response(T previous, T current, double norm) {
  return (previous - current) * T(norm);
}

// ---- Determinant of Hessian (scikit-image's box-filter approximation on an integral image) ----
// The boxes of one scale: size = int(3 sigma), l = size / 3, s2 = (size - 1) / 2 (C division),
// w_i = 1 / size / size. Box k of pixel (r, c) starts at (r + dr[k], c + dc[k]) and spans
// (rl[k], cl[k]); each corner is clipped to the image, the far one from the clipped near one.
struct DohBoxes {
  int dr[8], dc[8], rl[8], cl[8];
  double w_i;
};
// Box order: tl, br, bl, tr (the xy term), mid and side of xx, mid and side of yy.
enum DohBox { kTl = 0, kBr, kBl, kTr, kMidX, kSideX, kMidY, kSideY };

inline DohBoxes doh_boxes(double sigma) {
  const int size = static_cast<int>(3 * sigma);
  const int l = size / 3, s2 = (size - 1) / 2, hl = l / 2, w = size;
  DohBoxes b{{-l, 1, -l, 1, -l + 1, -l + 1, -s2, -hl},
             {-l, 1, 1, -l, -s2, -hl, -l + 1, -l + 1},
             {l, l, l, l, 2 * l - 1, 2 * l - 1, w, l},
             {l, l, l, l, w, l, 2 * l - 1, 2 * l - 1},
             1.0 / size / size};
  return b;
}

// A scalar relu with the vectors' semantics (vec.h relu_value): negative -> 0, NaN and -0.0 pass.
VE_HD double relu_value(double v) { return v < 0 ? 0.0 : v; }

// Sum over one box from its corners: near (r, c), far (r2, c2), mixed (r, c2) and (r2, c);
// negative sums (rounding) become 0.
template <class T>
VE_HD T box_sum(T near, T far, T near_row_far_col, T far_row_near_col) {
  return relu_value(near + far - near_row_far_col - far_row_near_col);
}

// det(H) ~ dxx * dyy - 0.81 dxy^2 from the eight box sums (order of DohBox).
template <class T>
VE_HD T doh_response(const T* box, double w_i) {
  T dxy = box[kBl] + box[kTr] - box[kTl] - box[kBr];
  dxy = -dxy * T(w_i);
  T dxx = box[kMidX] - T(3) * box[kSideX];
  dxx = -dxx * T(w_i);
  T dyy = box[kMidY] - T(3) * box[kSideY];
  dyy = -dyy * T(w_i);
  return dxx * dyy - T(0.81) * (dxy * dxy);
}

}  // namespace blobs
}  // namespace vision_ext
