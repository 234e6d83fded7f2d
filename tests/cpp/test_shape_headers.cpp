// Host test of the torch-free shape maths (vision_ext/shape.h) against brute force: run power sums
// and their moment terms, the 128-bit word carry, the moments about a shifted origin, the perimeter
// weight classes (scikit-image's code table), and the features of an axis-aligned rectangle.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <initializer_list>

#include "vision_ext/shape.h"
#include "expect.h"

using namespace vision_ext::shape;

static unsigned __int128 brute_power(uint64_t x0, uint64_t x1, int p) {
  unsigned __int128 s = 0;
  for (uint64_t x = x0; x < x1; ++x) {
    unsigned __int128 t = 1;
    for (int i = 0; i < p; ++i) t *= x;
    s += t;
  }
  return s;
}

int main() {
  // Power sums of runs, near zero and far out (x^3 sums past 2^64).
  const uint64_t starts[] = {0, 1, 7, 1000, (uint64_t(1) << 20) - 300};
  for (uint64_t x0 : starts)
    for (uint64_t len : {uint64_t(0), uint64_t(1), uint64_t(2), uint64_t(33), uint64_t(257)}) {
      unsigned __int128 s[4];
      run_power_sums(x0, x0 + len, s);
      for (int p = 0; p < 4; ++p) EXPECT(s[p] == brute_power(x0, x0 + len, p));
      for (int k = 0; k < kMoments; ++k) {
        unsigned __int128 yq = 1;
        for (int i = 0; i < moment_q(k); ++i) yq *= 999983u;
        EXPECT(run_moment(s, 999983u, k) == yq * s[moment_p(k)]);
      }
    }
  // Word carry: low words wrap into the high word.
  uint64_t w[2] = {~uint64_t(0) - 1, 5};
  add_words(w, 3);
  EXPECT(w[0] == 1 && w[1] == 6);
  add_words(w, (static_cast<unsigned __int128>(2) << 64) | 7u);
  EXPECT(w[0] == 8 && w[1] == 8 && from_words(w) == ((static_cast<unsigned __int128>(8) << 64) | 8u));
  // skimage.measure.perimeter: weight 1 for codes 5 7 15 17 25 27, sqrt(2) for 21 33, (1+sqrt(2))/2 for 13 23.
  for (int n4 = 0; n4 <= 4; ++n4)
    for (int nd = 0; nd <= 4; ++nd) {
      const int code = 1 + 2 * n4 + 10 * nd;
      const int want = (code == 5 || code == 7 || code == 15 || code == 17 || code == 25 || code == 27) ? 0
                       : (code == 21 || code == 33)                                                    ? 1
                       : (code == 13 || code == 23)                                                    ? 2
                                                                                                       : -1;
      EXPECT(perimeter_class(n4, nd) == want);
    }
  // A 5 x 3 rectangle (rows 10..14, cols 20..22): raw sums by brute force, then the features.
  unsigned __int128 raw[kMoments] = {};
  for (int y = 10; y < 15; ++y) {
    unsigned __int128 s[4];
    run_power_sums(20, 23, s);
    for (int k = 0; k < kMoments; ++k) raw[k] += run_moment(s, y, k);
  }
  __int128 shifted[kMoments];
  shifted_moments(raw, 21, 12, shifted);  // the centroid: central moments directly
  EXPECT(shifted[0] == 15 && shifted[1] == 0 && shifted[2] == 0 && shifted[3] == 5 * 2 && shifted[5] == 3 * 10);
  EXPECT(shifted[4] == 0 && shifted[6] == 0 && shifted[9] == 0);
  const int64_t per[kPerimeterClasses] = {12, 0, 0};
  const int32_t box[4] = {10, 20, 14, 22};
  double f[kColumns];
  region_features(raw, per, box, 15, f);
  EXPECT(f[kArea] == 15 && f[kCentroidRow] == 12 && f[kCentroidCol] == 21);
  EXPECT(f[kCentral + 0] == 10 && f[kCentral + 2] == 30 && f[kCentral + 1] == 0);  // mu20 = sum dx^2, mu02 = sum dy^2
  EXPECT(std::fabs(f[kNormalized + 0] - 10.0 / 225) < 1e-15);
  EXPECT(f[kSolidity] == 1 && f[kExtent] == 1 && f[kPerimeter] == 12);
  EXPECT(std::fabs(f[kCircularity] - 4 * M_PI * 15 / 144) < 1e-14);
  // Taller than wide: the major axis is the row axis, orientation 0; eccentricity sqrt(1 - 10/30).
  EXPECT(f[kOrientation] == 0 && std::fabs(f[kEccentricity] - std::sqrt(1 - 1.0 / 3)) < 1e-15);
  EXPECT(std::fabs(f[kAxisMajor] - 4 * std::sqrt(2.0)) < 1e-14);
  if (failures == 0) std::printf("test_shape_headers: all passed\n");
  return failures == 0 ? 0 : 1;
}
