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
  const int32_t* VE_RESTRICT xi = xtaps;       // left source sample of each column
  const int32_t* VE_RESTRICT xf = xtaps + dw;  // its right neighbour's weight
  line[sw] = 0;  // the right neighbour of the last sample (weight 0 there)
  for (int y = y0; y < y1; ++y) {
    const vision_ext::OrbTap ty = vision_ext::orb_resize_tap(y, dh, sh);
    const uint8_t* VE_RESTRICT r0 = src + static_cast<std::ptrdiff_t>(ty.i0) * sw;
    const uint8_t* VE_RESTRICT r1 = src + static_cast<std::ptrdiff_t>(ty.i1) * sw;
    int32_t* VE_RESTRICT l = line;
    const int f = ty.f;
#pragma omp simd
    for (int x = 0; x < sw; ++x) l[x] = vision_ext::orb_blend(r0[x], r1[x], f);
    // The horizontal pass reads samples i and i + 1 with weights 2048 - f and f; where the tap
    // has one sample (f = 0) the second term is 0, so the sum is orb_resize_pixel's. Gathers
    // where the level has them.
    uint8_t* VE_RESTRICT out = dst + static_cast<std::ptrdiff_t>(y) * dw;
#pragma omp simd
    for (int x = 0; x < dw; ++x)
      out[x] = vision_ext::orb_resize_round(vision_ext::orb_blend(l[xi[x]], l[xi[x] + 1], xf[x]));
  }
}

// Harris scores of kHarrisLanes candidates at a time, one lane each: their 9 x 9 neighbourhoods
// are copied lane-minor, and every step of orb_harris_at (the corner family's Sobel sums of
// harris.h, called per lane, then corner_window_response's order of the window sums) runs as one
// loop over the lanes, which vectorises. Each lane performs exactly the scalar operations, so the
// scores are orb_harris_at's bits (candidates are >= kOrbMinBorder inside: no border rule).
constexpr int kHarrisLanes = 16;

void harris_points(const uint8_t* plane, int w, int h, const int32_t* xs, const int32_t* ys, int n, float* out) {
  (void)h;
  constexpr int E = vision_ext::kOrbHarrisReach, side = 2 * E + 1, B = vision_ext::kOrbHarrisBlock, L = kHarrisLanes;
  static_assert(E == B / 2 + 1, "the 3x3 Sobel reads one pixel around the window");
  const vision_ext::CornerParams p = vision_ext::orb_harris_params(side, side);
  const vision_ext::CornerTaps<float> c = vision_ext::corner_taps<float>(vision_ext::sobel_taps(3), p.scale);
  alignas(64) float px[side * side][L];
  alignas(64) double sa[L], sb[L], sc[L], ra[L], rb[L], rc[L];
  for (int i0 = 0; i0 < n; i0 += L) {
    const int m = n - i0 < L ? n - i0 : L;
    for (int l = 0; l < L; ++l) {
      const int i = i0 + (l < m ? l : 0);  // spare lanes repeat the first candidate
      const uint8_t* top = plane + static_cast<std::ptrdiff_t>(ys[i] - E) * w + (xs[i] - E);
      for (int r = 0; r < side; ++r)
        for (int q = 0; q < side; ++q) px[r * side + q][l] = top[static_cast<std::ptrdiff_t>(r) * w + q];
    }
    // Product grid point (1 + j, 1 + i) of the patch: window row i, column j.
    for (int i = 0; i < B; ++i) {
      for (int j = 0; j < B; ++j) {
        const int x = 1 + j, y = 1 + i;
#pragma omp simd
        for (int l = 0; l < L; ++l) {
          auto row_deriv = [&](int jj) -> float {
            return vision_ext::sobel_deriv_sum<1>(c.deriv, [&](int k) -> float { return px[(y + jj) * side + x + k][l]; });
          };
          auto row_smooth = [&](int jj) -> float {
            return vision_ext::sobel_smooth_seq<1>(c.smooth, [&](int k) -> float { return px[(y + jj) * side + x + k][l]; });
          };
          const float dx = vision_ext::sobel_smooth_symm<1>(c.smooth, row_deriv);
          const float dy = vision_ext::sobel_deriv_sum<1>(c.deriv, row_smooth);
          const double xx = vision_ext::ve_mul(dx, dx), xy = vision_ext::ve_mul(dx, dy), yy = vision_ext::ve_mul(dy, dy);
          ra[l] = j == 0 ? xx : vision_ext::ve_add(ra[l], xx);
          rb[l] = j == 0 ? xy : vision_ext::ve_add(rb[l], xy);
          rc[l] = j == 0 ? yy : vision_ext::ve_add(rc[l], yy);
        }
      }
#pragma omp simd
      for (int l = 0; l < L; ++l) {
        sa[l] = i == 0 ? ra[l] : vision_ext::ve_add(sa[l], ra[l]);
        sb[l] = i == 0 ? rb[l] : vision_ext::ve_add(sb[l], rb[l]);
        sc[l] = i == 0 ? rc[l] : vision_ext::ve_add(sc[l], rc[l]);
      }
    }
    for (int l = 0; l < m; ++l)
      out[i0 + l] = vision_ext::harris_from_sums(static_cast<float>(sa[l]), static_cast<float>(sb[l]),
                                                 static_cast<float>(sc[l]), p.k);
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

// The smoothed patch of side S = 2 * reach + 1 around a keypoint, computed on a copy of its
// (S + 6)^2 neighbourhood laid out with row stride P = S + 6: every pass is then one flat loop
// over the copy (no per-row tails), the 6 extra columns of each row holding unused values.
// Integer sums, exact: the pixels are orb_smoothed_at's.
constexpr int S = kOrbPatchSide;
constexpr int R = kOrbBlurRadius;
constexpr int P = S + 2 * R;
static_assert(P * P + 2 * R <= kOrbDescribeCopyBytes, "orb_simd.h sizes the copy");

// Rows of the neighbourhood into `copy` (stride P), and 2R zero bytes after it (the flat
// horizontal pass reads up to 2R past the last row's end).
inline void copy_patch(const uint8_t* centre, std::ptrdiff_t stride, uint8_t* VE_RESTRICT copy) {
  const uint8_t* top = centre - (kOrbBriefReach + R) * stride - (kOrbBriefReach + R);
  for (int r = 0; r < P; ++r) std::memcpy(copy + r * P, top + r * stride, P);
  std::memset(copy + P * P, 0, 2 * R);
}

// Horizontal sums (< 255 * 256, so 16 bits hold them) at every entry of the copy, then the
// vertical sums of the S x S patch (entries [0, S * P), stride P), rounded.
inline void smooth_patch(const uint8_t* VE_RESTRICT copy, uint16_t* VE_RESTRICT h, uint8_t* VE_RESTRICT g) {
#pragma omp simd
  for (int k = 0; k < P * P; ++k) {
    int v = 0;
    for (int j = 0; j <= 2 * R; ++j) v += orb_blur_tap(j - R) * copy[k + j];
    h[k] = static_cast<uint16_t>(v);
  }
#pragma omp simd
  for (int k = 0; k < S * P; ++k) {
    int v = 0;
    for (int i = 0; i <= 2 * R; ++i) v += orb_blur_tap(i - R) * h[k + i * P];
    g[k] = vision_ext::orb_blur_round(v);
  }
}

// Ask for the rows a keypoint reads (its smoothing window, which holds the disc for the usual
// patch sizes) ahead of use: keypoints are scattered over the levels, so they miss the caches.
inline void prefetch_patch(const uint8_t* centre, std::ptrdiff_t stride) {
  const uint8_t* top = centre - (kOrbBriefReach + R) * stride - (kOrbBriefReach + R);
  for (int r = 0; r < P; ++r) {
    __builtin_prefetch(top + r * stride);
    __builtin_prefetch(top + r * stride + P - 1);
  }
}

// orb_moment_row over the full width [-r, r] with the lanes outside the disc's row (|u| > hw)
// weighted 0, so the loop has a fixed trip count and vectorises; integer sums, the same totals.
inline void moment_row(const uint8_t* centre, std::ptrdiff_t stride, int v, int r, int hw, int* a, int* b) {
  const uint8_t* VE_RESTRICT row = centre + v * stride;
  int m = 0, s = 0;
#pragma omp simd reduction(+ : m, s)
  for (int u = -r; u <= r; ++u) {
    const int in = (u >= -hw) & (u <= hw);
    const int p = row[u] * in;
    m += u * p;
    s += p;
  }
  *a += m;
  *b += v * s;
}

// The same for the usual radius (r <= 15) on the copy: 32 lanes u in [-16, 16), a whole number
// of vectors at every level, u = -16 and u > hw weighted 0.
inline void moments_small(const uint8_t* VE_RESTRICT copy, int r, const int32_t* half_widths, int* m10, int* m01) {
  const uint8_t* c = copy + (kOrbBriefReach + R) * P + (kOrbBriefReach + R);
  int a = 0, b = 0;
  for (int v = -r; v <= r; ++v) {
    const uint8_t* VE_RESTRICT row = c + v * P;
    const int hw = half_widths[v + r];
    int m = 0, s = 0;
#pragma omp simd reduction(+ : m, s)
    for (int u = -16; u < 16; ++u) {
      const int in = (u >= -hw) & (u <= hw);  // a load and a mask, no branch: vectorises
      const int p = row[u] * in;
      m += u * p;
      s += p;
    }
    a += m;
    b += v * s;
  }
  *m10 = a;
  *m01 = b;
}

void describe(const uint8_t* const* centres, const int32_t* strides, int n, int half_patch,
              const int32_t* half_widths, float* angles, uint8_t* desc, int32_t* scratch) {
  uint8_t* copy = reinterpret_cast<uint8_t*>(scratch);
  uint16_t* h = reinterpret_cast<uint16_t*>(copy + kOrbDescribeCopyBytes);
  uint8_t* g = reinterpret_cast<uint8_t*>(h + kOrbDescribeCopyBytes);
  int32_t* at_first = reinterpret_cast<int32_t*>(g + kOrbDescribeCopyBytes);
  int32_t* at_second = at_first + kOrbPairs;
  // A disc inside the copied neighbourhood (r <= 15 < reach + R) is summed from the copy.
  const bool small = half_patch <= 15;
  if (n > 0) prefetch_patch(centres[0], strides[0]);
  for (int k = 0; k < n; ++k) {
    if (k + 1 < n) prefetch_patch(centres[k + 1], strides[k + 1]);
    const uint8_t* centre = centres[k];
    const std::ptrdiff_t stride = strides[k];
    copy_patch(centre, stride, copy);
    int m10 = 0, m01 = 0;
    if (small) {
      moments_small(copy, half_patch, half_widths, &m10, &m01);
    } else {
      for (int v = -half_patch; v <= half_patch; ++v)
        moment_row(centre, stride, v, half_patch, half_widths[v + half_patch], &m10, &m01);
    }
    angles[k] = vision_ext::orb_angle_degrees(m10, m01);
    double c, s;
    vision_ext::orb_direction(m10, m01, &c, &s);
    smooth_patch(copy, h, g);
    const uint8_t* gc = g + kOrbBriefReach * P + kOrbBriefReach;
    // Every rotated point first (one independent orb_rotate per point: the loop vectorises where
    // the level rounds in vectors), then the comparisons.
    for (int i = 0; i < kOrbPairs; ++i) {
      int rx, ry;
      vision_ext::orb_rotate(kPatternXY.x[2 * i], kPatternXY.y[2 * i], c, s, &rx, &ry);
      at_first[i] = ry * P + rx;
    }
    for (int i = 0; i < kOrbPairs; ++i) {
      int rx, ry;
      vision_ext::orb_rotate(kPatternXY.x[2 * i + 1], kPatternXY.y[2 * i + 1], c, s, &rx, &ry);
      at_second[i] = ry * P + rx;
    }
    uint8_t* d = desc + static_cast<std::ptrdiff_t>(k) * kOrbDescriptorBytes;
    for (int byte = 0; byte < kOrbPairs / 8; ++byte) {
      int first[8], second[8];
      for (int j = 0; j < 8; ++j) {
        first[j] = gc[at_first[8 * byte + j]];
        second[j] = gc[at_second[8 * byte + j]];
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
