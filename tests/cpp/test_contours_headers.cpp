// Host test of the torch-free marching-squares maths (vision_ext/contours.h): over random small
// images with ties (pixels exactly at the level), every segment end point's key is equal to
// another's exactly when the two points are equal (the property the linker relies on), the keys
// stay inside [0, contour_key_count), and every segment has the higher pixel of its cell on its
// right (low on the left: the cross product of the direction with the way to the cell's centre of
// high mass is negative).
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "vision_ext/contours.h"
#include "expect.h"

using namespace vision_ext::contours;

int main() {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t h = 2 + rng() % 9, w = 2 + rng() % 9;
    std::vector<double> v(h * w);
    for (auto& x : v) x = static_cast<double>(rng() % 4) + (trial % 2 ? 0.25 * (rng() % 3) : 0.0);
    const double level = 1.0 + 0.5 * (trial % 3);
    std::vector<Segment> segs;
    for (int64_t r = 0; r + 1 < h; ++r)
      for (int64_t c = 0; c + 1 < w; ++c) {
        const double ul = v[r * w + c], ur = v[r * w + c + 1], ll = v[(r + 1) * w + c], lr = v[(r + 1) * w + c + 1];
        const uint8_t code = cell_code(pixel_bits(ul, level, 1), pixel_bits(ur, level, 1), pixel_bits(ll, level, 1),
                                       pixel_bits(lr, level, 1));
        Segment out[2];
        if (!code) continue;
        cell_segments(code, r, c, ul, ur, ll, lr, level, trial % 2, h, w, out);
        for (int i = 0; i < segments_of_code(code); ++i) {
          segs.push_back(out[i]);
          // High-mass side: the mean position of the cell's high pixels minus the segment's midpoint.
          double hy = 0, hx = 0, n = 0;
          const double vals[4] = {ul, ur, ll, lr};
          for (int k = 0; k < 4; ++k)
            if (vals[k] > level) hy += r + k / 2, hx += c + k % 2, ++n;
          const Segment& s = out[i];
          const double dy = s.y1 - s.y0, dx = s.x1 - s.x0;
          const double my = hy / n - 0.5 * (s.y0 + s.y1), mx = hx / n - 0.5 * (s.x0 + s.x1);
          // (row, col) as (x, y): high on the right <=> cross(direction, to-high) < 0.
          if (dy != 0 || dx != 0) EXPECT(dy * mx - dx * my < 0 || code == 6 || code == 9);
        }
      }
    const int64_t keys = contour_key_count(h, w);
    std::vector<const double*> pts;
    std::vector<int64_t> ks;
    for (const Segment& s : segs) {
      pts.push_back(&s.y0), ks.push_back(s.k0);
      pts.push_back(&s.y1), ks.push_back(s.k1);
    }
    for (size_t i = 0; i < pts.size(); ++i) {
      EXPECT(ks[i] >= 0 && ks[i] < keys);
      for (size_t j = 0; j < pts.size(); ++j) {
        const bool same_point = pts[i][0] == pts[j][0] && pts[i][1] == pts[j][1];
        EXPECT(same_point == (ks[i] == ks[j]));
      }
    }
  }
  if (failures) std::printf("%d failures\n", failures);
  else std::printf("contours headers: all passed\n");
  return failures ? 1 : 0;
}
