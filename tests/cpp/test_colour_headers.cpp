// Host test of the torch-free colour maths (vision_ext/colour.h) against independent forms: numpy's
// bin equals a binary search over the edges (last edge closed), cv2's bin holds v within its
// half-open interval, and the Di Zenzo magnitude / direction are an eigenvalue / eigenvector of
// the structure tensor.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "vision_ext/colour.h"
#include "expect.h"

using namespace vision_ext;

int main() {
  std::mt19937_64 rng(1);
  const double lo = -1.3, hi = 2.7;
  for (int bins : {1, 3, 10, 255, 1000}) {
    std::vector<double> e(bins + 1);
    for (int i = 0; i < bins; ++i) e[i] = lo + i * ((hi - lo) / bins);
    e[bins] = hi;
    BinRule np{e[0], e[bins], 0.0, 0.0, bins, kEdgesNumpy, 0, 0};
    BinRule cv{lo, hi, bins / (hi - lo), -(bins / (hi - lo)) * lo, bins, kEdgesCv2, 0, 0};
    std::uniform_real_distribution<double> u(lo - 1.0, hi + 1.0);
    std::vector<double> vals(e.begin(), e.end());
    for (int k = 0; k < 20000; ++k) vals.push_back(u(rng));
    for (double v : vals) {
      int want = -1;
      if (v >= e[0] && v <= e[bins])
        want = v == e[bins] ? bins - 1 : static_cast<int>(std::upper_bound(e.begin(), e.end(), v) - e.begin()) - 1;
      EXPECT(colour_bin(v, np, e.data()) == want);
      const int c = colour_bin(v, cv, nullptr);
      if (v < lo || v >= hi) {
        EXPECT(c == -1);
      } else {
        EXPECT(c >= 0 && c < bins);
        const double w = (hi - lo) / bins;  // within one rounding of the bin's own interval
        EXPECT(v >= lo + c * w - 1e-12 && v < lo + (c + 1) * w + 1e-12);
      }
    }
    EXPECT(colour_bin(std::nan(""), np, e.data()) == -1 && colour_bin(std::nan(""), cv, nullptr) == -1);
  }
  std::uniform_real_distribution<double> t(-5.0, 5.0);
  for (int k = 0; k < 10000; ++k) {
    const double a = t(rng), b = t(rng), sxx = a * a + 1.0, syy = b * b + 0.5, sxy = t(rng) * 0.3;
    double mag, dir;
    colour_gradient_from_tensor(sxx, sxy, syy, &mag, &dir);
    const double lam = mag * mag;
    EXPECT(std::fabs(lam * lam - (sxx + syy) * lam + (sxx * syy - sxy * sxy)) < 1e-9 * (1 + lam * lam));
    EXPECT(lam >= 0.5 * (sxx + syy));  // the larger eigenvalue
    // (cos dir, sin dir) is its eigenvector: (S - lam I) v = 0.
    const double cx = std::cos(dir), cy = std::sin(dir);
    EXPECT(std::fabs((sxx - lam) * cx + sxy * cy) < 1e-9 * (1 + lam));
    EXPECT(std::fabs(sxy * cx + (syy - lam) * cy) < 1e-9 * (1 + lam));
  }
  // colour_atan2 (the shared vectorisable atan2) against libm over every quadrant, ratios from 1e-12
  // to 1e12, exact zeros and NaN.
  std::uniform_real_distribution<double> e10(-12.0, 12.0), sgn(-1.0, 1.0);
  double worst = 0.0;
  for (int k = 0; k < 200000; ++k) {
    const double y = std::copysign(std::pow(10.0, e10(rng)), sgn(rng)), x = std::copysign(std::pow(10.0, e10(rng)), sgn(rng));
    const double ref = std::atan2(y, x), got = colour_atan2(y, x);
    worst = std::fmax(worst, std::fabs(got - ref) / std::fmax(std::fabs(ref), 1e-300));
  }
  EXPECT(worst < 4e-16);
  EXPECT(colour_atan2(0.0, 0.0) == 0.0 && colour_atan2(0.0, 2.0) == 0.0 && colour_atan2(3.0, 0.0) == std::atan2(3.0, 0.0));
  EXPECT(colour_atan2(0.0, -2.0) == std::atan2(0.0, -2.0) && colour_atan2(-1.0, -1.0) == std::atan2(-1.0, -1.0));
  EXPECT(std::isnan(colour_atan2(std::nan(""), 1.0)) && std::isnan(colour_atan2(1.0, std::nan(""))));
  if (failures) std::printf("%d failures (atan2 worst relative error %.3g)\n", failures, worst);
  return failures ? 1 : 0;
}
