// Per-pixel maths of the Canny edge detector, shared by the CPU levels (csrc/ops/cpu/simd/canny_simd.cpp,
// T = an int32 lane vector or int32_t for row tails) and CUDA (csrc/kernels/cuda/canny.cu, T = int32_t).
// The rules are OpenCV's cv::Canny for uint8 images (docs/EXACTNESS.md, section 1): Sobel sums in
// integers with BORDER_REPLICATE, aperture 7 scaled by 1/16 and rounded half to even, L1 or L2
// magnitude, the tan(22.5 deg) direction test in Q15 integers, strict/non-strict neighbour tests.
//
// T only needs + - * & | ^ << >> and comparisons; a comparison is a bool for scalars and a lane mask
// for vectors, so every condition is turned into 0/1 with `& T(1)` before arithmetic.
#pragma once
#include <cstdint>

#include "vision_ext/macros.h"

namespace vision_ext {
namespace canny {

constexpr int kMaxRadius = 3;    // aperture 7
constexpr int kTg22Q15 = 13573;  // round(tan(22.5 deg) * 2^15)

// Output states of non-maximum suppression (the hysteresis input).
constexpr uint8_t kNotEdge = 0;
constexpr uint8_t kWeak = 1;    // a local maximum above low: an edge if 8-connected to a strong one
constexpr uint8_t kStrong = 2;  // a local maximum above high

struct CannyParams {
  int height, width, channels;
  int aperture;  // 3, 5 or 7
  int l2;        // 1: magnitude dx^2 + dy^2 (thresholds squared), 0: |dx| + |dy|
  int low, high; // integer thresholds after OpenCV's scaling (canny_thresholds in csrc/ops/canny_common.h)
};

// Separable Sobel taps for aperture 2r+1: smoothing (binomial) and first derivative, index i in [0, 2r].
VE_HD constexpr int sobel_smooth_tap(int r, int i) {
  return r == 1 ? (i == 1 ? 2 : 1)
         : r == 2 ? (i == 2 ? 6 : (i == 1 || i == 3) ? 4 : 1)
                  : (i == 3 ? 20 : (i == 2 || i == 4) ? 15 : (i == 1 || i == 5) ? 6 : 1);
}
VE_HD constexpr int sobel_deriv_tap(int r, int i) {
  return r == 1 ? i - 1
         : r == 2 ? (i == 0 ? -1 : i == 1 ? -2 : i == 2 ? 0 : i == 3 ? 2 : 1)
                  : (i == 0 ? -1 : i == 1 ? -4 : i == 2 ? -5 : i == 3 ? 0 : i == 4 ? 5 : i == 5 ? 4 : 1);
}

VE_HD constexpr int clamp_index(int i, int n) { return i < 0 ? 0 : (i >= n ? n - 1 : i); }

template <class T>
VE_HD T iabs(T v) {
  const T sign = v >> 31;
  return (v ^ sign) - sign;
}

// a where mask (lane of all ones / true), else b.
template <class T, class M>
VE_HD T select_lanes(M mask, T a, T b) {
  const T m = T(0) - (mask & T(1));
  return b ^ ((a ^ b) & m);
}

// The Sobel sum of aperture 7 as OpenCV stores it in int16: sum / 16 rounded half to even.
template <class T>
VE_HD T scale_aperture7(T sum) {
  const T q = sum >> 4, r = sum & T(15);
  const T up = ((r > T(8)) | ((r == T(8)) & ((q & T(1)) == T(1)))) & T(1);
  return q + up;
}

// The finished derivative from a raw integer Sobel sum.
template <class T>
VE_HD T sobel_value(T sum, int aperture) {
  return aperture == 7 ? scale_aperture7(sum) : sum;
}

template <class T>
VE_HD T gradient_magnitude(T dx, T dy, int l2) {
  return l2 ? dx * dx + dy * dy : iabs(dx) + iabs(dy);
}

// Non-maximum suppression of one pixel: magnitude m, derivatives (xs, ys) and the 8 neighbouring
// magnitudes (0 outside the image). Returns kNotEdge, kWeak or kStrong.
//   |dy|/|dx| < tan 22.5: horizontal gradient, keep if m > left && m >= right;
//   |dy|/|dx| > tan 67.5: vertical, keep if m > up && m >= down;
//   else diagonal along the gradient's sign: strict on both sides.
template <class T>
VE_HD T suppress_state(T m, T xs, T ys, T left, T right, T up, T down, T up_left, T up_right, T down_left,
                       T down_right, T low, T high) {
  const T x = iabs(xs), y = iabs(ys) << 15;
  const T tg22x = x * T(kTg22Q15);
  const T tg67x = tg22x + (x << 16);
  const T horizontal = (y < tg22x) & (m > left) & (m >= right);
  const T vertical = (y > tg67x) & (m > up) & (m >= down);
  const T opposite = (xs ^ ys) < T(0);  // gradient along the anti-diagonal
  const T same = (xs ^ ys) >= T(0);
  const T diagonal = (y >= tg22x) & (y <= tg67x) &
                     ((opposite & (m > up_right) & (m > down_left)) | (same & (m > up_left) & (m > down_right)));
  const T keep = (horizontal | vertical | diagonal) & (m > low) & T(1);
  return keep + (keep & (m > high) & T(1));
}

}  // namespace canny
}  // namespace vision_ext
