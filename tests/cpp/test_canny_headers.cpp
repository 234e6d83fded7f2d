// Host test of the torch-free Canny maths (vision_ext/canny.h) against independent forms: the
// Sobel taps against the binomial construction, aperture 7's rounding against std::nearbyint
// (round half to even), and the direction test against the angle in double precision.
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "vision_ext/canny.h"
#include "expect.h"

using namespace vision_ext::canny;

int main() {
  // Smoothing = binomial(2r, i); derivative = the difference of binomial(2r - 1, .) neighbours.
  for (int r = 1; r <= kMaxRadius; ++r) {
    for (int i = 0; i <= 2 * r; ++i) {
      double c = 1, d_hi = 0, d_lo = 0;
      for (int k = 0; k < i; ++k) c = c * (2 * r - k) / (k + 1);
      auto binom = [](int n, int k) {
        if (k < 0 || k > n) return 0.0;
        double v = 1;
        for (int j = 0; j < k; ++j) v = v * (n - j) / (j + 1);
        return v;
      };
      d_hi = binom(2 * r - 2, i - 2), d_lo = binom(2 * r - 2, i);
      EXPECT(sobel_smooth_tap(r, i) == static_cast<int>(c));
      EXPECT(sobel_deriv_tap(r, i) == static_cast<int>(d_hi - d_lo));
    }
  }
  for (int s = -200000; s <= 200000; ++s)
    if (scale_aperture7(s) != static_cast<int>(std::nearbyint(s / 16.0))) {
      EXPECT(scale_aperture7(s) == static_cast<int>(std::nearbyint(s / 16.0)));
      break;
    }
  EXPECT(iabs(-7) == 7 && iabs(5) == 5 && iabs(0) == 0);
  EXPECT(select_lanes(true, 3, 4) == 3 && select_lanes(false, 3, 4) == 4);
  // Direction: a single neighbour larger than m suppresses the pixel exactly when it lies on the
  // gradient's line (sector boundaries at 22.5 and 67.5 degrees, away from exact ties).
  const double kPi = 3.14159265358979323846;
  int checked = 0;
  for (int dx = -60; dx <= 60; ++dx) {
    for (int dy = -60; dy <= 60; ++dy) {
      if (dx == 0 && dy == 0) continue;
      const double deg = std::atan2(std::abs(dy), std::abs(dx)) * 180 / kPi;
      if (std::abs(deg - 22.5) < 0.01 || std::abs(deg - 67.5) < 0.01) continue;
      const int sector = deg < 22.5 ? 0 : (deg > 67.5 ? 2 : 1);
      const bool anti = (dx < 0) != (dy < 0);  // image y grows downwards
      // Neighbour order: left, right, up, down, up_left, up_right, down_left, down_right.
      for (int k = 0; k < 8; ++k) {
        int nb[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        nb[k] = 1000;
        const int st = suppress_state(100, dx, dy, nb[0], nb[1], nb[2], nb[3], nb[4], nb[5], nb[6], nb[7], 10, 50);
        const bool on_line = sector == 0 ? k < 2 : sector == 2 ? (k == 2 || k == 3)
                                                               : (anti ? (k == 5 || k == 6) : (k == 4 || k == 7));
        EXPECT(st == (on_line ? kNotEdge : kStrong));
        ++checked;
      }
      EXPECT(suppress_state(40, dx, dy, 0, 0, 0, 0, 0, 0, 0, 0, 10, 50) == kWeak);
      EXPECT(suppress_state(10, dx, dy, 0, 0, 0, 0, 0, 0, 0, 0, 10, 50) == kNotEdge);  // strictly above low
    }
  }
  // Ties: the right / down neighbour may equal m (kept), the left / up one may not.
  EXPECT(suppress_state(100, 5, 0, 0, 100, 0, 0, 0, 0, 0, 0, 10, 50) == kStrong);
  EXPECT(suppress_state(100, 5, 0, 100, 0, 0, 0, 0, 0, 0, 0, 10, 50) == kNotEdge);
  EXPECT(suppress_state(100, 0, 5, 0, 0, 0, 100, 0, 0, 0, 0, 10, 50) == kStrong);
  EXPECT(suppress_state(100, 0, 5, 0, 0, 100, 0, 0, 0, 0, 0, 10, 50) == kNotEdge);
  std::printf("%s (%d direction cases)\n", failures ? "FAILED" : "ok", checked);
  return failures ? 1 : 0;
}
