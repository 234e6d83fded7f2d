// Host test of the torch-free ORB headers (vision_ext/orb.h, orb_pattern.h): the deterministic
// atan2 against the C library, the resize taps, the disc, the smoothing taps, the pattern's reach
// under every rotation, and the CUDA describe kernel's warp split of the moments.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "vision_ext/orb.h"
#include "vision_ext/orb_pattern.h"
#include "expect.h"

using namespace vision_ext;

int main() {
  // atan2 in degrees: within 1e-4 degrees of the C library's everywhere on a grid of moments.
  double worst = 0.0;
  for (int y = -2000; y <= 2000; y += 37)
    for (int x = -2000; x <= 2000; x += 41) {
      if (x == 0 && y == 0) continue;
      double want = std::atan2(static_cast<double>(y), static_cast<double>(x)) * 180.0 / M_PI;
      if (want < 0) want += 360.0;
      double d = std::fabs(orb_angle_degrees(x, y) - want);
      d = std::fmin(d, 360.0 - d);
      worst = std::fmax(worst, d);
      EXPECT(orb_angle_degrees(x, y) >= 0.f && orb_angle_degrees(x, y) < 360.f);
    }
  EXPECT(worst < 1e-4);
  EXPECT(orb_angle_degrees(0, 0) == 0.f && orb_angle_degrees(5, 0) == 0.f && orb_angle_degrees(0, 5) == 90.f);

  // Resize taps: in range, weights in [0, 2048), identity when the sizes agree.
  for (int n_src : {1, 2, 7, 100, 1080})
    for (int n_dst : {1, 3, 50, 900}) {
      for (int d = 0; d < n_dst; ++d) {
        const OrbTap t = orb_resize_tap(d, n_dst, n_src);
        EXPECT(t.i0 >= 0 && t.i1 < n_src && t.i1 >= t.i0 && t.i1 - t.i0 <= 1 && t.f >= 0 && t.f < kOrbResizeOne);
      }
      if (n_src == n_dst)
        for (int d = 0; d < n_dst; ++d) EXPECT(orb_resize_tap(d, n_dst, n_src).i0 == d && orb_resize_tap(d, n_dst, n_src).f == 0);
    }
  std::vector<uint8_t> flat(30 * 20, 77);
  for (int y = 0; y < 17; ++y)
    for (int x = 0; x < 25; ++x) EXPECT(orb_resize_pixel(flat.data(), 30, 20, 25, 17, x, y) == 77);

  // The disc: every (u, v) with u^2 + v^2 <= r^2, nothing else.
  for (int r = 1; r <= 40; ++r)
    for (int v = -r; v <= r; ++v) {
      const int hw = orb_disc_half_width(r, v);
      EXPECT(hw * hw + v * v <= r * r && (hw + 1) * (hw + 1) + v * v > r * r);
    }

  // Smoothing taps sum to 256 per pass, so a flat patch stays flat.
  int sum = 0;
  for (int k = -kOrbBlurRadius; k <= kOrbBlurRadius; ++k) sum += orb_blur_tap(k);
  EXPECT(sum == 256);
  std::vector<uint8_t> patch(9 * 9, 200);
  EXPECT(orb_smoothed_at(patch.data() + 4 * 9 + 4, 9) == 200);

  // The pattern: 256 pairs within [-13, 12]; rotated by any angle it stays within the reach the
  // keypoint border allows for.
  for (int v : kOrbPattern) EXPECT(v >= -kOrbPatternMax && v <= kOrbPatternMax);
  int reach = 0;
  for (int m10 = -300; m10 <= 300; m10 += 7)
    for (int m01 = -300; m01 <= 300; m01 += 11) {
      double c, s;
      orb_direction(m10, m01, &c, &s);
      for (int i = 0; i < kOrbPairs * 2; ++i) {
        int rx, ry;
        orb_rotate(kOrbPattern[2 * i], kOrbPattern[2 * i + 1], c, s, &rx, &ry);
        reach = std::max(reach, std::max(std::abs(rx), std::abs(ry)));
      }
    }
  EXPECT(reach <= kOrbBriefReach);

  // Moments split across 32 lanes by row (the CUDA describe kernel) equal the one-pass sums.
  std::vector<uint8_t> img(64 * 64);
  for (size_t i = 0; i < img.size(); ++i) img[i] = static_cast<uint8_t>((i * 2654435761u) >> 24);
  const uint8_t* centre = img.data() + 32 * 64 + 32;
  int m10, m01;
  orb_moments(centre, 64, 15, &m10, &m01);
  int a = 0, b = 0;
  for (int lane = 0; lane < 32; ++lane)
    for (int v = -15 + lane; v <= 15; v += 32) orb_moment_row(centre, 64, v, orb_disc_half_width(15, v), &a, &b);
  // and the direct sums over the disc
  int da = 0, db = 0;
  for (int v = -15; v <= 15; ++v)
    for (int u = -15; u <= 15; ++u)
      if (u * u + v * v <= 225) {
        da += u * centre[v * 64 + u];
        db += v * centre[v * 64 + u];
      }
  EXPECT(da == m10 && db == m01);
  EXPECT(a == m10 && b == m01);

  if (failures) return 1;
  std::printf("orb headers: ok\n");
  return 0;
}
