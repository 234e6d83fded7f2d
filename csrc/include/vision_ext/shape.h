// Region shape maths shared by the CPU kernels (csrc/ops/cpu/simd/shape_simd.cpp), the CUDA kernels
// (csrc/kernels/cuda/shape.cu) and the host finish (csrc/ops/shape_common.h). Torch-free.
//
// Every accumulated quantity is an integer: raw moments sum x^p y^q over pixel coordinates
// (x = column, y = row, cv2.moments' convention), perimeter sums count border pixels per weight
// class. Integer sums are exact and order-independent, so any split of the image over threads or
// CUDA blocks (atomics included) gives the same bits; the only rounding happens once, at the end.
#pragma once
#include <cmath>
#include <cstdint>

#include "vision_ext/macros.h"

namespace vision_ext {
namespace shape {

// Raw moments in cv2.moments' order: m00 m10 m01 m20 m11 m02 m30 m21 m12 m03 (m_pq = sum x^p y^q).
constexpr int kMoments = 10;
// Perimeter weight classes of the 4-connectivity border pixels (see perimeter_class).
constexpr int kPerimeterClasses = 3;
// Each 128-bit moment sum is stored as two 64-bit words (low, high).
constexpr int kMomentWords = 2 * kMoments;
// Largest image side: keeps every per-run sum (x^3 over a run, y^3 * run length) below 2^80 and
// every per-region total below 2^127 for images up to 2^31 pixels.
constexpr int64_t kMaxSide = int64_t(1) << 20;

VE_HD constexpr int moment_p(int k) {  // power of x of moment k
  return k == 0 ? 0 : k == 1 ? 1 : k == 2 ? 0 : k == 3 ? 2 : k == 4 ? 1 : k == 5 ? 0 : k == 6 ? 3 : k == 7 ? 2 : k == 8 ? 1 : 0;
}
VE_HD constexpr int moment_q(int k) {  // power of y of moment k
  return k == 0 ? 0 : k == 1 ? 0 : k == 2 ? 1 : k == 3 ? 0 : k == 4 ? 1 : k == 5 ? 2 : k == 6 ? 0 : k == 7 ? 1 : k == 8 ? 2 : 3;
}

// sum_{x=0}^{n-1} x^p for p = 0..3 (Faulhaber), exact in 128 bits.
VE_HD void prefix_power_sums(uint64_t n, unsigned __int128 out[4]) {
  const unsigned __int128 a = n;
  const unsigned __int128 t = n == 0 ? 0 : a * (a - 1) / 2;  // n(n-1)/2
  out[0] = a;
  out[1] = t;
  out[2] = n == 0 ? 0 : a * (a - 1) * (2 * a - 1) / 6;
  out[3] = t * t;
}

// Power sums of the run of columns [x0, x1): s[p] = sum_{x=x0}^{x1-1} x^p.
VE_HD void run_power_sums(uint64_t x0, uint64_t x1, unsigned __int128 s[4]) {
  unsigned __int128 a[4], b[4];
  prefix_power_sums(x0, a);
  prefix_power_sums(x1, b);
  for (int p = 0; p < 4; ++p) s[p] = b[p] - a[p];
}

// The contribution of a run [x0, x1) on row y to moment k: y^q(k) * sum x^p(k).
VE_HD unsigned __int128 run_moment(const unsigned __int128 s[4], uint64_t y, int k) {
  unsigned __int128 yq = 1;
  for (int i = 0; i < moment_q(k); ++i) yq *= y;
  return yq * s[moment_p(k)];
}

// Add v to the 128-bit number stored as (w[0] low, w[1] high).
VE_HD void add_words(uint64_t* w, unsigned __int128 v) {
  const uint64_t lo = static_cast<uint64_t>(v), hi = static_cast<uint64_t>(v >> 64);
  const uint64_t s = w[0] + lo;
  w[1] += hi + (s < lo ? 1u : 0u);
  w[0] = s;
}

VE_HD unsigned __int128 from_words(const uint64_t* w) {
  return (static_cast<unsigned __int128>(w[1]) << 64) | w[0];
}

// scikit-image's perimeter (skimage.measure.perimeter, neighborhood 4): a border pixel is a region
// pixel with a 4-neighbour outside the region (or outside the image). Each border pixel p gets the
// code 1 + 2 * (border 4-neighbours of the region) + 10 * (border diagonal neighbours of the region)
// and a weight by code: 1 for codes 5 7 15 17 25 27 (straight runs), sqrt(2) for 21 33 (diagonal
// steps), (1 + sqrt(2)) / 2 for 13 23 (a straight-diagonal corner), 0 otherwise. Returns the class
// (0: weight 1, 1: sqrt(2), 2: (1 + sqrt(2)) / 2) or -1 for weight 0.
VE_HD int perimeter_class(int n4, int nd) {
  const int code = 1 + 2 * n4 + 10 * nd;
  switch (code) {
    case 5: case 7: case 15: case 17: case 25: case 27: return 0;
    case 21: case 33: return 1;
    case 13: case 23: return 2;
    default: return -1;
  }
}

// Initial bounding box of a slot (min row, min col, max row, max col; inclusive), before any pixel.
constexpr int32_t kBoxEmptyMin = 0x7fffffff;
constexpr int32_t kBoxEmptyMax = -1;

// ---- From exact sums to features (host: the CPU glue and the CUDA glue both finish here) ----

// Columns of the op's float64 `values` (vision_ext/ops/shape.py mirrors them).
enum Column : int {
  kArea = 0,
  kPerimeter = 1,
  kAreaConvex = 2,
  kCentroidRow = 3,
  kCentroidCol = 4,
  kRaw = 5,         // 10 raw moments, cv2 order
  kCentral = 15,    // mu20 mu11 mu02 mu30 mu21 mu12 mu03
  kNormalized = 22, // nu20 nu11 nu02 nu30 nu21 nu12 nu03
  kHu = 29,         // 7 Hu invariants
  kEccentricity = 36,
  kOrientation = 37,
  kSolidity = 38,
  kExtent = 39,
  kCircularity = 40,
  kAxisMajor = 41,
  kAxisMinor = 42,
  kColumns = 43
};


inline __int128 binomial(int n, int k) { return n == 3 && (k == 1 || k == 2) ? 3 : (n == 2 && k == 1 ? 2 : 1); }

// Moments about the integer origin (ox, oy), exact: sum (x-ox)^p (y-oy)^q from the raw sums by the
// binomial expansion. Every term stays below 2^127 for images within kMaxSide and 2^31 pixels.
inline void shifted_moments(const unsigned __int128 raw[kMoments], int64_t ox, int64_t oy, __int128 out[kMoments]) {
  __int128 m[4][4] = {};  // m[p][q]
  for (int k = 0; k < kMoments; ++k) m[moment_p(k)][moment_q(k)] = static_cast<__int128>(raw[k]);
  for (int k = 0; k < kMoments; ++k) {
    const int p = moment_p(k), q = moment_q(k);
    __int128 sum = 0;
    for (int i = 0; i <= p; ++i)
      for (int j = 0; j <= q; ++j) {
        __int128 t = binomial(p, i) * binomial(q, j) * m[i][j];
        for (int e = 0; e < p - i; ++e) t *= -ox;
        for (int e = 0; e < q - j; ++e) t *= -oy;
        sum += t;
      }
    out[k] = sum;
  }
}

// Every float64 feature of one region from its exact sums. bbox: min row, min col, max row, max col
// (inclusive); perimeter: border pixel counts per class; area_convex: pixels of the convex hull image.
inline void region_features(const unsigned __int128 raw[kMoments], const int64_t perimeter_counts[kPerimeterClasses],
                            const int32_t box[4], int64_t area_convex, double* out) {
  const double kPi = 3.14159265358979323846, kSqrt2 = 1.41421356237309504880;
  const unsigned __int128 n = raw[0];
  for (int k = 0; k < kMoments; ++k) out[kRaw + k] = static_cast<double>(raw[k]);
  const double m00 = static_cast<double>(n);
  out[kArea] = m00;
  // Central moments through moments about an integer point next to the centroid: the shifted sums
  // are exact and small, so no digits cancel (cv2's m20 - m10 * cx loses them far from the origin).
  const int64_t ox = static_cast<int64_t>(raw[1] / n), oy = static_cast<int64_t>(raw[2] / n);
  __int128 s[kMoments];
  shifted_moments(raw, ox, oy, s);
  const double dx = static_cast<double>(s[1]) / m00, dy = static_cast<double>(s[2]) / m00;  // centroid - origin
  out[kCentroidCol] = static_cast<double>(ox) + dx;
  out[kCentroidRow] = static_cast<double>(oy) + dy;
  // Second order exactly: n * mu = n * m'_pq - m'_p0 m'_0q is an integer.
  const __int128 sn = static_cast<__int128>(n);
  const __int128 n20 = sn * s[3] - s[1] * s[1], n11 = sn * s[4] - s[1] * s[2], n02 = sn * s[5] - s[2] * s[2];
  double mu[7];
  mu[0] = static_cast<double>(n20) / m00;
  mu[1] = static_cast<double>(n11) / m00;
  mu[2] = static_cast<double>(n02) / m00;
  const double m10 = static_cast<double>(s[1]), m01 = static_cast<double>(s[2]);
  mu[3] = static_cast<double>(s[6]) - dx * (3 * mu[0] + dx * m10);
  mu[4] = static_cast<double>(s[7]) - dx * (2 * mu[1] + dx * m01) - dy * mu[0];
  mu[5] = static_cast<double>(s[8]) - dy * (2 * mu[1] + dy * m10) - dx * mu[2];
  mu[6] = static_cast<double>(s[9]) - dy * (3 * mu[2] + dy * m01);
  const double s2 = m00 * m00, s3 = s2 * std::sqrt(m00);
  double nu[7];
  for (int i = 0; i < 7; ++i) {
    out[kCentral + i] = mu[i];
    nu[i] = mu[i] / (i < 3 ? s2 : s3);
    out[kNormalized + i] = nu[i];
  }
  // Hu's seven invariants of the normalised moments.
  const double n20v = nu[0], n11v = nu[1], n02v = nu[2], n30 = nu[3], n21 = nu[4], n12 = nu[5], n03 = nu[6];
  const double a = n30 + n12, b = n21 + n03, p = n30 - 3 * n12, q = 3 * n21 - n03;
  const double sum2 = n20v + n02v, diff2 = n20v - n02v;
  out[kHu + 0] = sum2;
  out[kHu + 1] = diff2 * diff2 + 4 * n11v * n11v;
  out[kHu + 2] = p * p + q * q;
  out[kHu + 3] = a * a + b * b;
  out[kHu + 4] = p * a * (a * a - 3 * b * b) + q * b * (3 * a * a - b * b);
  out[kHu + 5] = diff2 * (a * a - b * b) + 4 * n11v * a * b;
  out[kHu + 6] = q * a * (a * a - 3 * b * b) - p * b * (3 * a * a - b * b);
  // Inertia tensor [[ta, tb], [tb, tc]] in (row, col) axes as scikit-image's regionprops builds it.
  const double ta = mu[0] / m00, tb = -mu[1] / m00, tc = mu[2] / m00;
  const double half = (ta + tc) / 2, rad = std::sqrt((ta - tc) * (ta - tc) / 4 + tb * tb);
  const double l1 = std::fmax(half + rad, 0.0), l2 = std::fmax(half - rad, 0.0);
  out[kEccentricity] = l1 == 0 ? 0.0 : std::sqrt(1 - l2 / l1);
  if (n20 == n02)  // exactly symmetric second moments: the diagonal by the sign of mu11
    out[kOrientation] = n11 > 0 ? kPi / 4 : -kPi / 4;
  else
    out[kOrientation] = 0.5 * std::atan2(-2 * tb, tc - ta);
  out[kAxisMajor] = 4 * std::sqrt(l1);
  out[kAxisMinor] = 4 * std::sqrt(l2);
  const double per = static_cast<double>(perimeter_counts[0]) + static_cast<double>(perimeter_counts[1]) * kSqrt2 +
                     static_cast<double>(perimeter_counts[2]) * ((1 + kSqrt2) / 2);
  out[kPerimeter] = per;
  out[kCircularity] = per > 0 ? 4 * kPi * m00 / (per * per) : 0.0;
  out[kAreaConvex] = static_cast<double>(area_convex);
  out[kSolidity] = m00 / static_cast<double>(area_convex);
  const double box_area = static_cast<double>(box[2] - box[0] + 1) * static_cast<double>(box[3] - box[1] + 1);
  out[kExtent] = m00 / box_area;
}

}  // namespace shape
}  // namespace vision_ext
