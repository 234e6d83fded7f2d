// Fused CPU Harris / min-eigenvalue response over a tile of rows: derivatives,
// products, window sums and the score in one pass, with a ring of B row sums
// instead of full-size temporaries. The per-element order of every sum is the
// one of corner_derivatives_at() and the CUDA kernel, so results are bit-identical.
#pragma once
#include <algorithm>
#include <cstddef>
#include <vector>

#include "vision_ext/harris.h"

namespace vision_ext {
namespace corners {

template <typename T>
struct ResponseScratch {
  std::vector<T> vs, vd, prod, ring, a, b, c;
  std::vector<double> zeros;  // a source row of zeros for the constant border (any input type)
  template <typename In>
  const In* zero_row() const {
    return reinterpret_cast<const In*>(zeros.data());
  }
  void resize(int w, int block, int r, size_t in_bytes) {
    vs.assign(w + 2 * r, T(0));
    vd.assign(w + 2 * r, T(0));
    zeros.assign((static_cast<size_t>(w) * in_bytes + sizeof(double) - 1) / sizeof(double) + 1, 0.0);
    prod.assign(3 * (w + block - 1), T(0));
    ring.assign(3 * static_cast<size_t>(block) * w, T(0));
    a.assign(w, T(0));
    b.assign(w, T(0));
    c.assign(w, T(0));
  }
};

// Fill the 'r' pad cells on each side of line[r .. r+w) by the border rule.
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

// Small loops over restrict pointers: GCC vectorises these without alias checks.
template <typename T>
inline void products(const T* VE_RESTRICT dx, const T* VE_RESTRICT dy, T* VE_RESTRICT xx, T* VE_RESTRICT xy,
                     T* VE_RESTRICT yy, int n) {
  for (std::ptrdiff_t x = 0; x < n; ++x) {
    xx[x] = dx[x] * dx[x];
    xy[x] = dx[x] * dy[x];
    yy[x] = dy[x] * dy[x];
  }
}

// h[x] = p[x] + p[x+1] + ... + p[x+B-1], summed left to right.
template <typename T>
inline void window_sum_x(const T* VE_RESTRICT p, T* VE_RESTRICT h, int n, int block) {
  if (block == 1) {
    for (std::ptrdiff_t x = 0; x < n; ++x) h[x] = p[x];
    return;
  }
  for (std::ptrdiff_t x = 0; x < n; ++x) h[x] = p[x] + p[x + 1];
  for (int j = 2; j < block; ++j) {
    const T* VE_RESTRICT q = p + j;
    for (std::ptrdiff_t x = 0; x < n; ++x) h[x] = h[x] + q[x];
  }
}

template <typename T>
inline void accumulate(T* VE_RESTRICT acc, const T* VE_RESTRICT r, int n) {
  for (std::ptrdiff_t x = 0; x < n; ++x) acc[x] = acc[x] + r[x];
}

// Scores of one row from its window sums a, b, c.
template <bool HARRIS, typename T>
inline void score_row(const T* VE_RESTRICT a, const T* VE_RESTRICT b, const T* VE_RESTRICT c, T* VE_RESTRICT out,
                      int n, double k) {
  for (std::ptrdiff_t x = 0; x < n; ++x) out[x] = corner_score<HARRIS>(a[x], b[x], c[x], k);
}

// Score of one output row from the window sums of its NB rows (top to bottom), in one pass.
template <int NB, bool HARRIS, typename T>
inline void score_from_rows(const T* const* rows, T* VE_RESTRICT out, int n, double k) {
  const T* r[NB];
  for (int i = 0; i < NB; ++i) r[i] = rows[i];
  const std::ptrdiff_t W = n;
  for (std::ptrdiff_t x = 0; x < W; ++x) {
    T a = r[0][x], b = r[0][x + W], c = r[0][x + 2 * W];
    for (int i = 1; i < NB; ++i) {
      a = a + r[i][x];
      b = b + r[i][x + W];
      c = c + r[i][x + 2 * W];
    }
    out[x] = corner_score<HARRIS>(a, b, c, k);
  }
}

template <int NB, typename T>
inline void response_from_rows(const T* const* rows, T* out, int n, bool harris, double k) {
  if (harris)
    score_from_rows<NB, true>(rows, out, n, k);
  else
    score_from_rows<NB, false>(rows, out, n, k);
}

// Products Dx*Dx, Dx*Dy, Dy*Dy of in-image row y into pxx/pxy/pyy[0, W). RS/RD: smooth and
// derivative tap radii, fixed at compile time so each sweep below is one vectorised loop.
// Sum order per element is corner_derivatives_at()'s (a constant-border row adds +0).
template <int RS, int RD, typename In, typename T>
inline void derivative_products(const In* src, int y, const CornerParams& p, const SobelTaps& tp,
                                ResponseScratch<T>& s, T* VE_RESTRICT pxx, T* VE_RESTRICT pxy, T* VE_RESTRICT pyy) {
  constexpr int R = RS > RD ? RS : RD;
  const std::ptrdiff_t W = p.width;
  T st[2 * RS + 1], dt[2 * RD + 1];
  for (int j = 0; j <= 2 * RS; ++j) st[j] = static_cast<T>(tp.smooth[j]);
  for (int j = 0; j <= 2 * RD; ++j) dt[j] = static_cast<T>(tp.deriv[j]);
  const In* rows[2 * R + 1];
  for (int j = -R; j <= R; ++j) {
    const int yy = border_index(y + j, p.height, p.border);
    rows[j + R] = yy < 0 ? s.template zero_row<In>() : src + static_cast<long long>(yy) * W;
  }
  T* VE_RESTRICT vs = s.vs.data() + R;
  T* VE_RESTRICT vd = s.vd.data() + R;
  for (std::ptrdiff_t x = 0; x < W; ++x) {  // vertical: smooth for Dx, derivative for Dy
    T a = T(0), b = T(0);
    for (int j = 0; j <= 2 * RS; ++j) a = a + st[j] * static_cast<T>(rows[R - RS + j][x]);
    for (int j = 0; j <= 2 * RD; ++j)
      if (j != RD) b = b + dt[j] * static_cast<T>(rows[R - RD + j][x]);  // centre tap is 0
    vs[x] = a;
    vd[x] = b;
  }
  pad_line(s.vs.data(), static_cast<int>(W), R, R, p.border);
  pad_line(s.vd.data(), static_cast<int>(W), R, R, p.border);
  const T sc = static_cast<T>(p.scale);
  for (std::ptrdiff_t x = 0; x < W; ++x) {  // horizontal, scale, products
    T hx = T(0), hy = T(0);
    for (int i = 0; i <= 2 * RD; ++i)
      if (i != RD) hx = hx + dt[i] * vs[x + i - RD];
    for (int i = 0; i <= 2 * RS; ++i) hy = hy + st[i] * vd[x + i - RS];
    const T dx = hx * sc, dy = hy * sc;
    pxx[x] = dx * dx;
    pxy[x] = dx * dy;
    pyy[x] = dy * dy;
  }
}

// Window sums along x of Dx*Dx, Dx*Dy, Dy*Dy for cov row yy (any integer) into out[3][W].
template <int RS, int RD, typename In, typename T>
inline void window_row(const In* src, int yy, const CornerParams& p, const SobelTaps& tp, ResponseScratch<T>& s,
                       T* out) {
  const int W = p.width, B = p.block_size, lo = B / 2, hi = B - 1 - lo;
  const int ym = border_index(yy, p.height, p.border);
  if (ym < 0) {
    std::fill(out, out + 3 * W, T(0));
    return;
  }
  const int pw = W + B - 1;
  T* pxx = s.prod.data();
  T* pxy = pxx + pw;
  T* pyy = pxy + pw;
  derivative_products<RS, RD>(src, ym, p, tp, s, pxx + lo, pxy + lo, pyy + lo);
  pad_line(pxx, W, lo, hi, p.border);
  pad_line(pxy, W, lo, hi, p.border);
  pad_line(pyy, W, lo, hi, p.border);
  window_sum_x(pxx, out, W, B);
  window_sum_x(pxy, out + W, W, B);
  window_sum_x(pyy, out + 2 * W, W, B);
}

// Window heights with a fused sum-and-score pass (the block sizes 2..7).
constexpr int kMaxFusedBlock = 7;

// Response rows [y0, y1) of one plane (src and dst contiguous H x W).
template <int RS, int RD, typename In, typename T>
void corner_response_rows_impl(const In* src, T* dst, const CornerParams& p, int y0, int y1) {
  const SobelTaps tp = sobel_taps(p.ksize);
  const int W = p.width, B = p.block_size, lo = B / 2, hi = B - 1 - lo;
  ResponseScratch<T> s;
  s.resize(W, B, std::max(tp.smooth_r, tp.deriv_r), sizeof(In));
  const int first = y0 - lo;
  for (int yy = first; yy <= y1 - 1 + hi; ++yy) {
    window_row<RS, RD>(src, yy, p, tp, s, s.ring.data() + 3 * static_cast<size_t>(W) * ((yy - first) % B));
    const int y = yy - hi;
    if (y < y0) continue;
    // Rows y-lo .. y+hi live in ring slots (y - y0 + i) % B, summed top to bottom.
    const T* rows[kMaxFusedBlock];
    if (B <= kMaxFusedBlock) {
      for (int i = 0; i < B; ++i) rows[i] = s.ring.data() + 3 * static_cast<size_t>(W) * ((y - y0 + i) % B);
      T* out = dst + static_cast<long long>(y) * W;
      switch (B) {
        case 1: response_from_rows<1>(rows, out, W, p.harris, p.k); break;
        case 2: response_from_rows<2>(rows, out, W, p.harris, p.k); break;
        case 3: response_from_rows<3>(rows, out, W, p.harris, p.k); break;
        case 4: response_from_rows<4>(rows, out, W, p.harris, p.k); break;
        case 5: response_from_rows<5>(rows, out, W, p.harris, p.k); break;
        case 6: response_from_rows<6>(rows, out, W, p.harris, p.k); break;
        default: response_from_rows<7>(rows, out, W, p.harris, p.k); break;
      }
      continue;
    }
    // Larger windows: accumulate the rows into a, b, c first.
    T* a = s.a.data();
    T* b = s.b.data();
    T* c = s.c.data();
    for (int i = 0; i < B; ++i) {
      const T* r = s.ring.data() + 3 * static_cast<size_t>(W) * ((y - y0 + i) % B);
      if (i == 0) {
        std::copy(r, r + W, a);
        std::copy(r + W, r + 2 * W, b);
        std::copy(r + 2 * W, r + 3 * W, c);
      } else {
        accumulate(a, r, W);
        accumulate(b, r + W, W);
        accumulate(c, r + 2 * W, W);
      }
    }
    T* out = dst + static_cast<long long>(y) * W;
    if (p.harris)
      score_row<true>(a, b, c, out, W, p.k);
    else
      score_row<false>(a, b, c, out, W, p.k);
  }
}

template <typename In, typename T>
void corner_response_rows(const In* src, T* dst, const CornerParams& p, int y0, int y1) {
  switch (p.ksize) {
    case 1: corner_response_rows_impl<0, 1>(src, dst, p, y0, y1); break;
    case 5: corner_response_rows_impl<2, 2>(src, dst, p, y0, y1); break;
    case 7: corner_response_rows_impl<3, 3>(src, dst, p, y0, y1); break;
    default: corner_response_rows_impl<1, 1>(src, dst, p, y0, y1); break;  // 3 and Scharr (-1)
  }
}

}  // namespace corners
}  // namespace vision_ext
