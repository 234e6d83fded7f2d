// Host test of the torch-free corner headers: border rule, Sobel taps, FAST test and score.
#include <cstdio>
#include <cstdlib>

#include "vision_ext/fast.h"
#include "vision_ext/harris.h"

using namespace vision_ext;

static int failures = 0;
#define EXPECT(cond)                                         \
  do {                                                       \
    if (!(cond)) {                                           \
      std::printf("FAILED %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                            \
    }                                                        \
  } while (0)

int main() {
  // Borders on a line of 5: OpenCV's conventions.
  EXPECT(border_index(-1, 5, kBorderReflect101) == 1);
  EXPECT(border_index(-1, 5, kBorderReflect) == 0);
  EXPECT(border_index(5, 5, kBorderReflect101) == 3);
  EXPECT(border_index(6, 5, kBorderReplicate) == 4);
  EXPECT(border_index(-2, 5, kBorderConstant) == -1);
  EXPECT(border_index(-7, 2, kBorderReflect101) >= 0 && border_index(-7, 2, kBorderReflect101) < 2);
  EXPECT(border_index(3, 1, kBorderReflect) == 0);
  // Sobel taps.
  SobelTaps t5 = sobel_taps(5);
  EXPECT(t5.smooth_r == 2 && t5.smooth[2] == 6.f && t5.deriv[0] == -1.f && t5.deriv[1] == -2.f && t5.deriv[4] == 1.f);
  SobelTaps t7 = sobel_taps(7);
  EXPECT(t7.smooth[3] == 20.f && t7.deriv[1] == -4.f && t7.deriv[2] == -5.f && t7.deriv[3] == 0.f);
  SobelTaps t1 = sobel_taps(1);
  EXPECT(t1.smooth_r == 0 && t1.deriv_r == 1);
  EXPECT(sobel_ksize_valid(-1) && !sobel_ksize_valid(2) && !sobel_ksize_valid(9));
  EXPECT(corner_derivative_scale(3, 2, false) == 1.0 / 8.0);
  // Harris / min-eig on a diagonal matrix.
  EXPECT(min_eigen_from_sums(4.f, 0.f, 1.f) == 1.f);
  EXPECT(harris_from_sums(2.f, 0.f, 3.f, 0.0) == 6.f);
  // FAST: a bright pixel in a dark ring is a corner with score v - ring - 1.
  int ring[16];
  for (int& r : ring) r = 10;
  EXPECT(fast_is_corner<16>(100, ring, 20));
  EXPECT(fast_score<16>(100, ring) == 89);
  EXPECT(!fast_is_corner<16>(25, ring, 20));
  // 8 contiguous dark points of 16 are not enough; 9 are.
  for (int k = 0; k < 16; ++k) ring[k] = k < 8 ? 0 : 100;
  EXPECT(!fast_is_corner<16>(100, ring, 10));
  ring[8] = 0;
  EXPECT(fast_is_corner<16>(100, ring, 10));
  if (failures) return EXIT_FAILURE;
  std::printf("corner headers: all checks passed\n");
  return EXIT_SUCCESS;
}
