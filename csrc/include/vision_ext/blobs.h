// Per-pixel maths of the blob detectors (LoG and DoG scale spaces), shared by the CPU levels
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

}  // namespace blobs
}  // namespace vision_ext
