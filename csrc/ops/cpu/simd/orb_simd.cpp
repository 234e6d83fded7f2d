// CPU kernels of the ORB family, compiled once per level: pyramid rows, Harris at candidates,
// orientation + rotated BRIEF, and brute-force Hamming distances. The arithmetic is
// vision_ext/orb.h's (integer or explicitly rounded), so every level gives the same bits; the
// row loops are plain enough for the compiler to vectorise at the level's width.
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "isa.h"
#include "orb_ops.h"
#include "orb_simd.h"
#include "vision_ext/harris.h"
#include "vision_ext/orb.h"

namespace vision_ext::cpu::VE_CPU_NS {
namespace {

using vision_ext::kOrbBlurRadius;
using vision_ext::orb_blur_tap;
using vision_ext::kOrbBriefReach;
using vision_ext::kOrbPairs;
using vision_ext::kOrbPattern;

void resize_rows(const uint8_t* src, int sw, int sh, uint8_t* dst, int dw, int dh, int y0, int y1,
                 const int32_t* xtaps, int32_t* line) {
  for (int y = y0; y < y1; ++y) {
    const vision_ext::OrbTap ty = vision_ext::orb_resize_tap(y, dh, sh);
    const uint8_t* VE_RESTRICT r0 = src + static_cast<std::ptrdiff_t>(ty.i0) * sw;
    const uint8_t* VE_RESTRICT r1 = src + static_cast<std::ptrdiff_t>(ty.i1) * sw;
    int32_t* VE_RESTRICT l = line;
    const int f = ty.f;
#pragma omp simd
    for (int x = 0; x < sw; ++x) l[x] = vision_ext::orb_blend(r0[x], r1[x], f);
    uint8_t* VE_RESTRICT out = dst + static_cast<std::ptrdiff_t>(y) * dw;
    for (int x = 0; x < dw; ++x) {
      const int32_t* t = xtaps + 3 * x;
      out[x] = vision_ext::orb_resize_round(vision_ext::orb_blend(l[t[0]], l[t[1]], t[2]));
    }
  }
}

// An 8-bit pixel of this level's namespace. The corner family's derivative maths (harris.h) holds
// lambdas the compiler may emit out of line; instantiated with a type of this namespace they stay
// this level's symbols (setup.py rejects weak symbols shared between levels).
struct Px {
  uint8_t v;
  Px() = default;
  constexpr Px(double d) : v(static_cast<uint8_t>(d)) {}
  constexpr operator float() const { return v; }
};

// Each candidate's neighbourhood is copied into a small patch: no border rule applies there
// (candidates are >= kOrbMinBorder inside), so the score is the one at the image pixel.
void harris_points(const uint8_t* plane, int w, int h, const int32_t* xs, const int32_t* ys, int n, float* out) {
  (void)h;
  constexpr int E = vision_ext::kOrbHarrisReach, side = 2 * E + 1;
  const vision_ext::CornerParams p = vision_ext::orb_harris_params(side, side);
  const vision_ext::SobelTaps taps = vision_ext::sobel_taps(3);
  Px patch[side * side];
  for (int i = 0; i < n; ++i) {
    const uint8_t* top = plane + static_cast<std::ptrdiff_t>(ys[i] - E) * w + (xs[i] - E);
    for (int r = 0; r < side; ++r)
      for (int c = 0; c < side; ++c) patch[r * side + c].v = top[static_cast<std::ptrdiff_t>(r) * w + c];
    out[i] = vision_ext::orb_harris_at(patch, p, taps, E, E);
  }
}

// The pattern as doubles (x and y apart), so the rotation loop needs no int conversions.
struct PatternXY {
  double x[2 * kOrbPairs], y[2 * kOrbPairs];
  constexpr PatternXY() : x(), y() {
    for (int i = 0; i < 2 * kOrbPairs; ++i) {
      x[i] = kOrbPattern[2 * i];
      y[i] = kOrbPattern[2 * i + 1];
    }
  }
};
constexpr PatternXY kPatternXY{};

// The smoothed patch of side S = 2 * reach + 1 around `centre` into g (row stride S): horizontal
// sums of S + 6 rows into hrow, then the vertical sums, integer and exact (orb_smoothed_at).
constexpr int S = kOrbPatchSide;
constexpr int R = kOrbBlurRadius;

inline void smooth_patch(const uint8_t* centre, std::ptrdiff_t stride, int32_t* VE_RESTRICT hrow,
                         int32_t* VE_RESTRICT g) {
  const uint8_t* top = centre - (kOrbBriefReach + R) * stride - kOrbBriefReach;
  for (int r = 0; r < S + 2 * R; ++r) {
    const uint8_t* VE_RESTRICT row = top + r * stride;
    int32_t* VE_RESTRICT h = hrow + r * S;
#pragma omp simd
    for (int x = 0; x < S; ++x) {
      int v = 0;
      for (int j = -R; j <= R; ++j) v += orb_blur_tap(j) * row[x + j];
      h[x] = v;
    }
  }
  for (int r = 0; r < S; ++r) {
    int32_t* VE_RESTRICT out = g + r * S;
#pragma omp simd
    for (int x = 0; x < S; ++x) {
      int v = 0;
      for (int i = 0; i <= 2 * R; ++i) v += orb_blur_tap(i - R) * hrow[(r + i) * S + x];
      out[x] = vision_ext::orb_blur_round(v);
    }
  }
}

// Ask for the rows a keypoint reads (its smoothing window, which holds the disc for the usual
// patch sizes) ahead of use: keypoints are scattered over the levels, so they miss the caches.
inline void prefetch_patch(const uint8_t* centre, std::ptrdiff_t stride) {
  const uint8_t* top = centre - (kOrbBriefReach + R) * stride - (kOrbBriefReach + R);
  for (int r = 0; r < S + 2 * R; ++r) {
    __builtin_prefetch(top + r * stride);
    __builtin_prefetch(top + r * stride + S + 2 * R - 1);
  }
}

void describe(const uint8_t* const* centres, const int32_t* strides, int n, int half_patch,
              const int32_t* half_widths, float* angles, uint8_t* desc, int32_t* scratch) {
  int32_t* hrow = scratch;
  int32_t* g = scratch + (S + 2 * R) * S;
  if (n > 0) prefetch_patch(centres[0], strides[0]);
  for (int k = 0; k < n; ++k) {
    if (k + 1 < n) prefetch_patch(centres[k + 1], strides[k + 1]);
    const uint8_t* centre = centres[k];
    const std::ptrdiff_t stride = strides[k];
    int m10 = 0, m01 = 0;
    for (int v = -half_patch; v <= half_patch; ++v)
      vision_ext::orb_moment_row(centre, stride, v, half_widths[v + half_patch], &m10, &m01);
    angles[k] = vision_ext::orb_angle_degrees(m10, m01);
    double c, s;
    vision_ext::orb_direction(m10, m01, &c, &s);
    smooth_patch(centre, stride, hrow, g);
    const int32_t* gc = g + kOrbBriefReach * S + kOrbBriefReach;
    // Every rotated point first (one independent orb_rotate per point: the loop vectorises where
    // the level rounds in vectors), then the comparisons.
    int32_t* at = g + S * S;
    for (int i = 0; i < 2 * kOrbPairs; ++i) {
      int rx, ry;
      vision_ext::orb_rotate(kPatternXY.x[i], kPatternXY.y[i], c, s, &rx, &ry);
      at[i] = ry * S + rx;
    }
    uint8_t* d = desc + static_cast<std::ptrdiff_t>(k) * kOrbDescriptorBytes;
    for (int byte = 0; byte < kOrbPairs / 8; ++byte) {
      int first[8], second[8];
      for (int j = 0; j < 8; ++j) {
        first[j] = gc[at[2 * (8 * byte + j)]];
        second[j] = gc[at[2 * (8 * byte + j) + 1]];
      }
      d[byte] = vision_ext::orb_brief_byte(first, second);
    }
  }
}

// Queries are taken kQ at a time so each train descriptor is loaded once per group.
constexpr int kQ = 4;

template <int NQ>
inline void hamming_group(const uint8_t* q, const uint8_t* t, int nt, int q_base, int32_t* best_d, int32_t* best_i,
                          int32_t* second_d, int32_t* col_d, int32_t* col_i) {
  Desc256 qd[NQ];
  int bd[NQ], bi[NQ], sd[NQ];
  for (int i = 0; i < NQ; ++i) {
    qd[i] = load_desc256(q + 32 * static_cast<std::ptrdiff_t>(i));
    bd[i] = INT32_MAX;
    bi[i] = -1;
    sd[i] = INT32_MAX;
  }
  for (int j = 0; j < nt; ++j) {
    const Desc256 td = load_desc256(t + 32 * static_cast<std::ptrdiff_t>(j));
    int cd = col_d[j], ci = col_i[j];
    for (int i = 0; i < NQ; ++i) {
      const int d = hamming256(qd[i], td);
      if (d < bd[i]) {
        sd[i] = bd[i];
        bd[i] = d;
        bi[i] = j;
      } else if (d < sd[i]) {
        sd[i] = d;
      }
      if (d < cd) {
        cd = d;
        ci = q_base + i;
      }
    }
    col_d[j] = cd;
    col_i[j] = ci;
  }
  for (int i = 0; i < NQ; ++i) {
    best_d[i] = bd[i];
    best_i[i] = bi[i];
    second_d[i] = sd[i];
  }
}

void hamming_block(const uint8_t* q, int nq, const uint8_t* t, int nt, int q_base, int32_t* best_d, int32_t* best_i,
                   int32_t* second_d, int32_t* col_d, int32_t* col_i) {
  int i = 0;
  for (; i + kQ <= nq; i += kQ)
    hamming_group<kQ>(q + 32 * static_cast<std::ptrdiff_t>(i), t, nt, q_base + i, best_d + i, best_i + i,
                      second_d + i, col_d, col_i);
  for (; i < nq; ++i)
    hamming_group<1>(q + 32 * static_cast<std::ptrdiff_t>(i), t, nt, q_base + i, best_d + i, best_i + i,
                     second_d + i, col_d, col_i);
}

}  // namespace

extern const OrbKernels orb = {&resize_rows, &harris_points, &describe, &hamming_block};

}  // namespace vision_ext::cpu::VE_CPU_NS
