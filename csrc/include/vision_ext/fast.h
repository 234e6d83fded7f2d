// FAST corner test and score shared by the CPU and CUDA kernels; the behaviour
// is OpenCV's FastFeatureDetector (types 9_16, 7_12, 5_8; tests/ops/test_corners_fast_paths.py holds us to it).
#pragma once

#include "vision_ext/macros.h"

namespace vision_ext {

// Circle sizes of the three OpenCV types: 16 (TYPE_9_16), 12 (TYPE_7_12), 8 (TYPE_5_8).
VE_HD bool fast_pattern_valid(int n) { return n == 16 || n == 12 || n == 8; }

// Pixels closer than this to the image edge are never tested (OpenCV uses 3 for every type).
constexpr int kFastBorder = 3;

// Offset (dx, dy) of circle point k, clockwise from straight below, for a circle of n points.
VE_HD void fast_circle_point(int n, int k, int* dx, int* dy) {
  const int c16[16][2] = {{0, 3}, {1, 3}, {2, 2}, {3, 1}, {3, 0}, {3, -1}, {2, -2}, {1, -3},
                          {0, -3}, {-1, -3}, {-2, -2}, {-3, -1}, {-3, 0}, {-3, 1}, {-2, 2}, {-1, 3}};
  const int c12[12][2] = {{0, 2}, {1, 2}, {2, 1}, {2, 0}, {2, -1}, {1, -2},
                          {0, -2}, {-1, -2}, {-2, -1}, {-2, 0}, {-2, 1}, {-1, 2}};
  const int c8[8][2] = {{0, 1}, {1, 1}, {1, 0}, {1, -1}, {0, -1}, {-1, -1}, {-1, 0}, {-1, 1}};
  const int (*c)[2] = n == 16 ? c16 : (n == 12 ? c12 : c8);
  *dx = c[k % n][0];
  *dy = c[k % n][1];
}

// Element offsets of the circle points for a row stride (computed once per image on the CPU).
template <int N>
VE_HD void fast_circle_offsets(long long stride, long long* offs) {
  for (int k = 0; k < N; ++k) {
    int dx, dy;
    fast_circle_point(N, k, &dx, &dy);
    offs[k] = dy * stride + dx;
  }
}

// Circle values around the pixel at `center` (row stride in elements).
template <int N>
VE_HD void fast_load_circle(const unsigned char* center, long long stride, int* out) {
  for (int k = 0; k < N; ++k) {
    int dx, dy;
    fast_circle_point(N, k, &dx, &dy);
    out[k] = center[dy * stride + dx];
  }
}

// Bit k set where circle point k is brighter than v+t (bright) or darker than v-t (dark).
template <int N>
VE_HD void fast_masks(int v, const int* p, int t, unsigned* bright, unsigned* dark) {
  unsigned b = 0, d = 0;
  for (int k = 0; k < N; ++k) {
    b |= static_cast<unsigned>(p[k] > v + t) << k;
    d |= static_cast<unsigned>(p[k] < v - t) << k;
  }
  *bright = b;
  *dark = d;
}

// Bit k of the result = bit (k + s) % N of m (cyclic rotation of an N-bit mask).
template <int N>
VE_HD unsigned fast_rotate(unsigned m, int s) {
  const unsigned full = (1u << N) - 1u;
  return s == 0 ? m : ((m >> s) | (m << (N - s))) & full;
}

// Does the cyclic N-bit mask hold N/2+1 consecutive set bits, and pass OpenCV's pair test?
// OpenCV first requires, for each of 8 pairs (k, k+8) of its 25-entry wrapped circle, one
// pixel of the pair in the class; for 16 points the arc test implies it, for 12 and 8
// points it rejects some arcs, so it is kept for exactness.
template <int N>
VE_HD bool fast_class_has_arc(unsigned m) {
  const int K = N / 2;
  if (((m | fast_rotate<N>(m, 8 % N)) & 0xFFu) != 0xFFu) return false;
  unsigned run = m;
  for (int i = 1; i <= K; ++i) run &= fast_rotate<N>(m, i);
  return run != 0;
}

// Is the pixel with value v and circle values p[N] a corner at threshold t (0..255)?
// A corner has N/2+1 contiguous (wrapping) circle pixels all brighter than v+t or all
// darker than v-t.
template <int N>
VE_HD bool fast_is_corner(int v, const int* p, int t) {
  unsigned bright, dark;
  fast_masks<N>(v, p, t, &bright, &dark);
  return fast_class_has_arc<N>(dark) || fast_class_has_arc<N>(bright);
}

// OpenCV's FAST score: the largest threshold at which the pixel is still a corner by the
// arc test, i.e. max over arcs of K+1 points of max(min(v - p), min(p - v)), minus 1.
template <int N>
VE_HD int fast_score(int v, const int* p) {
  const int K = N / 2;
  int best = -1000;
  for (int s = 0; s < N; ++s) {
    int lo = 1000, hi = -1000;  // min and max of d = v - p over the arc
    for (int k = 0; k <= K; ++k) {
      const int d = v - p[(s + k) % N];
      lo = d < lo ? d : lo;
      hi = d > hi ? d : hi;
    }
    best = lo > best ? lo : best;
    best = -hi > best ? -hi : best;
  }
  return best - 1;
}

}  // namespace vision_ext
