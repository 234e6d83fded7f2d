// Fused CPU Harris / min-eigenvalue response over a tile of rows, compiled once per level (its
// loops vectorise at the level's width): derivatives, products, window sums and the score in one
// pass, with a ring of B row window sums instead of full-size temporaries.
//
// Order of every operation: the one of corner_derivatives_r() and corner_window_response()
// (vision_ext/harris.h, shared with the CUDA kernel), so results are bit-identical to it and
// across levels (-ffp-contract=off). The window sums run in double, rounded once to T, as
// OpenCV's box filter does: the sum is then exact in practice, so windows holding the same
// products (the two rows next to an even window's reflected border) give equal responses.
//
// Torch-free and std-free (included by corners_simd.cpp and by tests/cpp/test_corners_headers.cpp).
#pragma once
#include <cstddef>
#include <cstring>

#include "corners_simd.h"
#include "isa.h"
#include "vision_ext/harris.h"
#include "vision_ext/macros.h"

namespace vision_ext::cpu::VE_CPU_NS {
namespace corner_rows {

using vision_ext::border_index;
using vision_ext::corner_score;
using vision_ext::CornerParams;

// The rows of one call's scratch (corner_scratch_doubles): T for the filter passes, double sums.
// Row-pass results of the source rows a tile reads, cached by row: the derivative (h) and the
// scaled smoothing (hs) of each, W wide. Least recently used slot goes first, so the rows of the
// current column pass (at most 7 of 8) are never evicted while in use.
constexpr int kRowSlots = 8;

// The rows of one call's scratch (corner_scratch_doubles): T for the filter passes, double sums.
template <typename T>
struct Scratch {
  T* line;        // one source row in T with R pad cells each side
  T* h[kRowSlots];
  T* hs[kRowSlots];
  int tag[kRowSlots];
  long long used[kRowSlots];
  long long clock = 0;
  T* prod;        // 3 x (W + B + 8): Dx*Dx, Dx*Dy, Dy*Dy with the window's pad cells
  double* ring;   // B slots of 3 x (W + 8) row window sums
  double* a;      // column sums of wide windows
  double* b;
  double* c;

  Scratch(double* s, int w, int block) {
    const size_t W = static_cast<size_t>(w);
    // Carve in doubles so every row stays 8-byte aligned whatever T is.
    line = reinterpret_cast<T*>(s);
    s += W + 16;
    for (int i = 0; i < kRowSlots; ++i) {
      h[i] = reinterpret_cast<T*>(s);
      s += W + 8;
      hs[i] = reinterpret_cast<T*>(s);
      s += W + 8;
      tag[i] = -2;  // no row (-1 is the zero row of the constant border)
      used[i] = -1;
    }
    prod = reinterpret_cast<T*>(s);
    s += 3 * (W + block + 8);
    ring = s;
    s += 3 * static_cast<size_t>(block) * (W + 8);
    a = s;
    b = a + W + 8;
    c = b + W + 8;
  }
};

// Fill the pad cells on each side of line[left .. left+w) by the border rule.
template <typename T>
inline void pad_line(T* line, int w, int left, int right, int border) {
  for (int i = 1; i <= left; ++i) {
    const int m = border_index(-i, w, border);
    line[left - i] = m < 0 ? T(0) : line[left + m];
  }
  for (int i = 0; i < right; ++i) {
    const int m = border_index(w + i, w, border);
    line[left + w + i] = m < 0 ? T(0) : line[left + m];
  }
}

// h[x] = p[x] + p[x+1] + ... + p[x+B-1] in double, summed left to right.
template <typename T>
inline void window_sum_x(const T* VE_RESTRICT p, double* VE_RESTRICT h, int n, int block) {
  if (block == 1) {
    for (std::ptrdiff_t x = 0; x < n; ++x) h[x] = static_cast<double>(p[x]);
    return;
  }
  for (std::ptrdiff_t x = 0; x < n; ++x) h[x] = static_cast<double>(p[x]) + static_cast<double>(p[x + 1]);
  for (int j = 2; j < block; ++j) {
    const T* VE_RESTRICT q = p + j;
    for (std::ptrdiff_t x = 0; x < n; ++x) h[x] = h[x] + static_cast<double>(q[x]);
  }
}

inline void accumulate(double* VE_RESTRICT acc, const double* VE_RESTRICT r, int n) {
  for (std::ptrdiff_t x = 0; x < n; ++x) acc[x] = acc[x] + r[x];
}

// Scores of one row from its window sums a, b, c.
template <bool HARRIS, typename T>
inline void score_row(const double* VE_RESTRICT a, const double* VE_RESTRICT b, const double* VE_RESTRICT c,
                      T* VE_RESTRICT out, int n, double k) {
  for (std::ptrdiff_t x = 0; x < n; ++x)
    out[x] = corner_score<HARRIS>(static_cast<T>(a[x]), static_cast<T>(b[x]), static_cast<T>(c[x]), k);
}

// Score of one output row from the window sums of its NB rows (top to bottom), in one pass.
template <int NB, bool HARRIS, typename T>
inline void score_from_rows(const double* const* rows, std::ptrdiff_t stride, T* VE_RESTRICT out, int n, double k) {
  const double* r[NB];
  for (int i = 0; i < NB; ++i) r[i] = rows[i];
  for (std::ptrdiff_t x = 0; x < n; ++x) {
    double a = r[0][x], b = r[0][x + stride], c = r[0][x + 2 * stride];
    for (int i = 1; i < NB; ++i) {
      a = a + r[i][x];
      b = b + r[i][x + stride];
      c = c + r[i][x + 2 * stride];
    }
    out[x] = corner_score<HARRIS>(static_cast<T>(a), static_cast<T>(b), static_cast<T>(c), k);
  }
}

template <int NB, typename T>
inline void response_from_rows(const double* const* rows, std::ptrdiff_t stride, T* out, int n, bool harris,
                               double k) {
  if (harris)
    score_from_rows<NB, true>(rows, stride, out, n, k);
  else
    score_from_rows<NB, false>(rows, stride, out, n, k);
}

// Slot holding the row pass of source row yy (in-image, or -1: zeros), computed on a miss.
template <int RS, int RD, typename In, typename T>
inline int row_pass(const In* src, int yy, const CornerParams& p, const vision_ext::CornerTaps<T>& c, Scratch<T>& s) {
  int slot = 0;
  for (int i = 0; i < kRowSlots; ++i) {
    if (s.tag[i] == yy) {
      s.used[i] = ++s.clock;
      return i;
    }
    if (s.used[i] < s.used[slot]) slot = i;
  }
  s.tag[slot] = yy;
  s.used[slot] = ++s.clock;
  const std::ptrdiff_t W = p.width;
  T* VE_RESTRICT h = s.h[slot];
  T* VE_RESTRICT hs = s.hs[slot];
  if (yy < 0) {
    for (std::ptrdiff_t x = 0; x < W; ++x) h[x] = hs[x] = T(0);
    return slot;
  }
  constexpr int R = RS > RD ? RS : RD;
  constexpr bool kSeq = In(0.5) == In(0);  // 8-bit input: OpenCV's left-to-right row smoothing
  const In* VE_RESTRICT row = src + static_cast<std::ptrdiff_t>(yy) * W;
  T* VE_RESTRICT l = s.line + R;
  for (std::ptrdiff_t x = 0; x < W; ++x) l[x] = static_cast<T>(row[x]);
  pad_line(s.line, static_cast<int>(W), R, R, p.border);
  for (std::ptrdiff_t x = 0; x < W; ++x) {
    h[x] = vision_ext::sobel_deriv_sum<RD>(c.deriv, [&](int k) { return l[x + k]; });
    hs[x] = vision_ext::sobel_smooth_row<RS, kSeq>(c.smooth, [&](int k) { return l[x + k]; });
  }
  return slot;
}

// Products Dx*Dx, Dx*Dy, Dy*Dy of in-image row y into pxx/pxy/pyy[0, W): the column pass over
// the cached row passes. RS/RD: smooth and derivative tap radii, fixed at compile time so each
// sweep is one vectorised loop; the order of operations is corner_derivatives_r()'s.
template <int RS, int RD, typename In, typename T>
inline void derivative_products(const In* src, int y, const CornerParams& p, const vision_ext::CornerTaps<T>& c,
                                Scratch<T>& s, T* VE_RESTRICT pxx, T* VE_RESTRICT pxy, T* VE_RESTRICT pyy) {
  constexpr int R = RS > RD ? RS : RD;
  const T* hr[2 * R + 1];
  const T* hsr[2 * R + 1];
  for (int j = -R; j <= R; ++j) {
    const int slot = row_pass<RS, RD>(src, border_index(y + j, p.height, p.border), p, c, s);
    hr[j + R] = s.h[slot];
    hsr[j + R] = s.hs[slot];
  }
  const std::ptrdiff_t W = p.width;
  for (std::ptrdiff_t x = 0; x < W; ++x) {
    const T dx = vision_ext::sobel_smooth_symm<RS>(c.smooth, [&](int k) { return hr[R + k][x]; });
    const T dy = vision_ext::sobel_deriv_sum<RD>(c.deriv, [&](int k) { return hsr[R + k][x]; });
    pxx[x] = dx * dx;
    pxy[x] = dx * dy;
    pyy[x] = dy * dy;
  }
}

// Window sums along x of Dx*Dx, Dx*Dy, Dy*Dy for cov row yy (any integer) into out[3][stride].
template <int RS, int RD, typename In, typename T>
inline void window_row(const In* src, int yy, const CornerParams& p, const vision_ext::CornerTaps<T>& tp, Scratch<T>& s,
                       double* out, std::ptrdiff_t stride) {
  const int W = p.width, B = p.block_size, lo = B / 2, hi = B - 1 - lo;
  const int ym = border_index(yy, p.height, p.border);
  if (ym < 0) {
    for (int i = 0; i < 3; ++i)
      for (int x = 0; x < W; ++x) out[i * stride + x] = 0.0;
    return;
  }
  const int pw = W + B + 8;
  T* pxx = s.prod;
  T* pxy = pxx + pw;
  T* pyy = pxy + pw;
  derivative_products<RS, RD>(src, ym, p, tp, s, pxx + lo, pxy + lo, pyy + lo);
  pad_line(pxx, W, lo, hi, p.border);
  pad_line(pxy, W, lo, hi, p.border);
  pad_line(pyy, W, lo, hi, p.border);
  window_sum_x(pxx, out, W, B);
  window_sum_x(pxy, out + stride, W, B);
  window_sum_x(pyy, out + 2 * stride, W, B);
}

// Window heights with a fused sum-and-score pass (the usual block sizes 1..7).
constexpr int kMaxFusedBlock = 7;

// Response rows [y0, y1) of one plane (src and dst contiguous H x W).
template <int RS, int RD, typename In, typename T>
void rows_impl(const In* src, T* dst, const CornerParams& p, int y0, int y1, double* scratch) {
  const vision_ext::CornerTaps<T> tp = vision_ext::corner_taps<T>(vision_ext::sobel_taps(p.ksize), p.scale);
  const int W = p.width, B = p.block_size, lo = B / 2, hi = B - 1 - lo;
  Scratch<T> s(scratch, W, B);
  const std::ptrdiff_t stride = W + 8, slot = 3 * stride;  // one ring slot: three rows
  const int first = y0 - lo;
  for (int yy = first; yy <= y1 - 1 + hi; ++yy) {
    window_row<RS, RD>(src, yy, p, tp, s, s.ring + slot * ((yy - first) % B), stride);
    const int y = yy - hi;
    if (y < y0) continue;
    // Rows y-lo .. y+hi live in ring slots (y - y0 + i) % B, summed top to bottom.
    T* out = dst + static_cast<std::ptrdiff_t>(y) * W;
    if (B <= kMaxFusedBlock) {
      const double* rows[kMaxFusedBlock];
      for (int i = 0; i < B; ++i) rows[i] = s.ring + slot * ((y - y0 + i) % B);
      switch (B) {
        case 1: response_from_rows<1>(rows, stride, out, W, p.harris, p.k); break;
        case 2: response_from_rows<2>(rows, stride, out, W, p.harris, p.k); break;
        case 3: response_from_rows<3>(rows, stride, out, W, p.harris, p.k); break;
        case 4: response_from_rows<4>(rows, stride, out, W, p.harris, p.k); break;
        case 5: response_from_rows<5>(rows, stride, out, W, p.harris, p.k); break;
        case 6: response_from_rows<6>(rows, stride, out, W, p.harris, p.k); break;
        default: response_from_rows<7>(rows, stride, out, W, p.harris, p.k); break;
      }
      continue;
    }
    // Larger windows: accumulate the rows into a, b, c first.
    for (int i = 0; i < B; ++i) {
      const double* r = s.ring + slot * ((y - y0 + i) % B);
      if (i == 0) {
        std::memcpy(s.a, r, W * sizeof(double));
        std::memcpy(s.b, r + stride, W * sizeof(double));
        std::memcpy(s.c, r + 2 * stride, W * sizeof(double));
      } else {
        accumulate(s.a, r, W);
        accumulate(s.b, r + stride, W);
        accumulate(s.c, r + 2 * stride, W);
      }
    }
    if (p.harris)
      score_row<true>(s.a, s.b, s.c, out, W, p.k);
    else
      score_row<false>(s.a, s.b, s.c, out, W, p.k);
  }
}

// The table's entry: response rows [y0, y1) of one plane for any aperture.
template <typename In, typename T>
void response_rows(const In* src, T* dst, const CornerParams& p, int y0, int y1, double* scratch) {
  switch (p.ksize) {
    case 1: rows_impl<0, 1>(src, dst, p, y0, y1, scratch); break;
    case 5: rows_impl<2, 2>(src, dst, p, y0, y1, scratch); break;
    case 7: rows_impl<3, 3>(src, dst, p, y0, y1, scratch); break;
    default: rows_impl<1, 1>(src, dst, p, y0, y1, scratch); break;  // 3 and Scharr (-1)
  }
}

}  // namespace corner_rows
}  // namespace vision_ext::cpu::VE_CPU_NS
