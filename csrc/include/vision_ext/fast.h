// FAST corner test and score shared by the CPU and CUDA kernels; the behaviour
// is OpenCV's FastFeatureDetector (types 9_16, 7_12, 5_8; DESIGN.md section 5).
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

// Circle values around the pixel at `center` (row stride in elements).
template <int N>
VE_HD void fast_load_circle(const unsigned char* center, long long stride, int* out) {
  for (int k = 0; k < N; ++k) {
    int dx, dy;
    fast_circle_point(N, k, &dx, &dy);
    out[k] = center[dy * stride + dx];
  }
}

// Is the pixel with value v and circle values p[N] a corner at threshold t (0..255)?
// A corner has N/2+1 contiguous (wrapping) circle pixels all brighter than v+t or all
// darker than v-t. OpenCV first requires, for each of 8 pairs (k, k+8) of its 25-entry
// wrapped circle, one pixel of the pair in the class; for 16 points that is implied by
// the arc test, for 12 and 8 points it rejects some arcs, so it is kept for exactness.
template <int N>
VE_HD bool fast_is_corner(int v, const int* p, int t) {
  const int K = N / 2;
  int dark_ok = 1, bright_ok = 1;
  const int pairs[8] = {0, 2, 4, 6, 1, 3, 5, 7};
  for (int i = 0; i < 8; ++i) {
    const int a = p[pairs[i] % N], b = p[(pairs[i] + 8) % N];
    dark_ok &= (a < v - t) | (b < v - t);
    bright_ok &= (a > v + t) | (b > v + t);
  }
  if (dark_ok) {
    int run = 0;
    for (int k = 0; k < N + K + 1; ++k) {
      if (p[k % N] < v - t) {
        if (++run > K) return true;
      } else {
        run = 0;
      }
    }
  }
  if (bright_ok) {
    int run = 0;
    for (int k = 0; k < N + K + 1; ++k) {
      if (p[k % N] > v + t) {
        if (++run > K) return true;
      } else {
        run = 0;
      }
    }
  }
  return false;
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
