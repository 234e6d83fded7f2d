// Harris / min-eigenvalue corner response: the arithmetic shared by the CPU and
// CUDA kernels, so both produce the same bits. The behaviour is OpenCV's cornerHarris /
// cornerMinEigenVal (tests/ops/test_corners_ops.py holds both devices to it).
//
// Response at (x, y):
//   Dx = Vpass(scale * smooth) o Hpass(deriv) (src),  Dy = Vpass(deriv) o Hpass(scale * smooth) (src)
//   (OpenCV's Sobel: row pass, then column pass, in its order of operations: corner_derivatives_r)
//   a, b, c = window sums of Dx*Dx, Dx*Dy, Dy*Dy over rows/cols [p - B/2, p - B/2 + B - 1]
//   harris = a*c - b*b - k*(a+c)^2,  min_eig = (a/2 + c/2) - sqrt((a/2 - c/2)^2 + b^2)
// Pixels outside the image follow the border rule twice, like OpenCV: once for the
// source of the derivative filters and once for the derivative products of the window.
#pragma once
#include <cmath>

#include "vision_ext/macros.h"

namespace vision_ext {

// OpenCV's border codes (cv2.BORDER_*); WRAP is not supported by the detectors.
enum CornerBorder : int { kBorderConstant = 0, kBorderReplicate = 1, kBorderReflect = 2, kBorderReflect101 = 4 };

// Index of the in-image pixel that stands for `p` in a line of length n, or -1
// (constant border: the pixel is zero). n >= 1.
VE_HD int border_index(int p, int n, int border) {
  if (p >= 0 && p < n) return p;
  if (border == kBorderConstant) return -1;
  if (border == kBorderReplicate) return p < 0 ? 0 : n - 1;
  if (n == 1) return 0;
  const int delta = border == kBorderReflect101 ? 1 : 0;
  // Reflect repeatedly: a window wider than the image bounces more than once.
  while (p < 0 || p >= n) {
    if (p < 0)
      p = -p - 1 + delta;
    else
      p = n - 1 - (p - n) - delta;
  }
  return p;
}

// Separable derivative taps for an OpenCV aperture: ksize 1/3/5/7, or -1 for Scharr.
// `smooth` has 2*smooth_r+1 taps, `deriv` 2*deriv_r+1 taps (antisymmetric).
struct SobelTaps {
  float smooth[7];
  float deriv[7];
  int smooth_r;
  int deriv_r;
};

VE_HD bool sobel_ksize_valid(int ksize) { return ksize == -1 || ksize == 1 || ksize == 3 || ksize == 5 || ksize == 7; }

VE_HD SobelTaps sobel_taps(int ksize) {
  SobelTaps t{};
  if (ksize == -1) {  // Scharr
    t.smooth_r = 1;
    t.smooth[0] = 3.f; t.smooth[1] = 10.f; t.smooth[2] = 3.f;
  } else if (ksize == 1) {  // no smoothing; the derivative stays [-1, 0, 1]
    t.smooth_r = 0;
    t.smooth[0] = 1.f;
  } else {
    // Binomial smoothing (1+x)^(ksize-1); derivative (1+x)^(ksize-2) * (x-1).
    t.smooth_r = ksize / 2;
    const int n = ksize;
    float s[7] = {1.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
    for (int i = 1; i < n; ++i)
      for (int j = i; j > 0; --j) s[j] += s[j - 1];
    for (int i = 0; i < n; ++i) t.smooth[i] = s[i];
  }
  if (ksize == -1 || ksize == 1 || ksize == 3) {
    t.deriv_r = 1;
    t.deriv[0] = -1.f; t.deriv[1] = 0.f; t.deriv[2] = 1.f;
  } else {
    const int n = ksize;
    float s[7] = {1.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
    for (int i = 1; i < n - 1; ++i)  // (1+x)^(n-2)
      for (int j = i; j > 0; --j) s[j] += s[j - 1];
    // multiply by (x - 1): d[j] = s[j-1] - s[j]
    for (int j = 0; j < n; ++j) t.deriv[j] = (j > 0 ? s[j - 1] : 0.f) - (j < n - 1 ? s[j] : 0.f);
    t.deriv_r = n / 2;
  }
  return t;
}

// 1 / (2^(ksize-1) * block_size), Scharr counted as ksize 3 and doubled, /255 for uint8.
VE_HD double corner_derivative_scale(int ksize, int block_size, bool is_uint8) {
  double s = static_cast<double>(1 << ((ksize > 0 ? ksize : 3) - 1)) * block_size;
  if (ksize < 0) s *= 2.0;
  if (is_uint8) s *= 255.0;
  return 1.0 / s;
}

// Multiply/add (float or double) that nvcc may not fuse into an FMA: keeps CPU and CUDA
// bit-identical (the CPU kernels compile with -ffp-contract=off: setup.py's per-level flags).
template <typename T>
VE_HD T ve_mul(T a, T b) {
#if defined(__CUDA_ARCH__)
  if constexpr (sizeof(T) == sizeof(float)) return __fmul_rn(a, b);
  else return __dmul_rn(a, b);
#else
  return a * b;
#endif
}
template <typename T>
VE_HD T ve_add(T a, T b) {
#if defined(__CUDA_ARCH__)
  if constexpr (sizeof(T) == sizeof(float)) return __fadd_rn(a, b);
  else return __dadd_rn(a, b);
#else
  return a + b;
#endif
}

// Harris score from the window sums; k stays double like OpenCV's calcHarris.
template <typename T>
VE_HD T harris_from_sums(T a, T b, T c, double k) {
  const T det = ve_add(ve_mul(a, c), -ve_mul(b, b));
  const double tr = static_cast<double>(ve_add(a, c));
  const double q = ve_mul(ve_mul(k, tr), tr);
  return static_cast<T>(ve_add(static_cast<double>(det), -q));
}

// Smaller eigenvalue of [[a, b], [b, c]] (OpenCV's calcMinEigenVal).
template <typename T>
VE_HD T min_eigen_from_sums(T a, T b, T c) {
  const T ha = ve_mul(a, T(0.5));
  const T hc = ve_mul(c, T(0.5));
  const T d = ve_add(ha, -hc);
  return ve_add(ve_add(ha, hc), -static_cast<T>(sqrt(ve_add(ve_mul(d, d), ve_mul(b, b)))));
}

// The score a detector asks for, fixed at compile time so hot loops carry no branch.
template <bool HARRIS, typename T>
VE_HD T corner_score(T a, T b, T c, double k) {
  if constexpr (HARRIS) {
    return harris_from_sums(a, b, c, k);
  } else {
    (void)k;
    return min_eigen_from_sums(a, b, c);
  }
}

// Parameters of one response computation (shared by CPU and CUDA).
struct CornerParams {
  int height;
  int width;
  int block_size;
  int ksize;
  int border;
  int harris;    // 1: Harris score, 0: min eigenvalue
  double k;      // Harris k
  double scale;  // corner_derivative_scale(...)
};

// a*b + c rounded once to T: OpenCV's separable filters fuse these on FMA machines. For float
// the product is exact in double, so the result is the fused one whenever the double sum is
// exact, which the filter values here (scaled small integers for uint8 input) always give; and
// it is the same on every CPU level and on CUDA.
template <typename T>
VE_HD T corner_fma(T a, T b, T c) {
  if constexpr (sizeof(T) == sizeof(float))
    return static_cast<T>(ve_add(ve_mul(static_cast<double>(a), static_cast<double>(b)), static_cast<double>(c)));
  else
    return ve_add(ve_mul(a, b), c);
}

// The three filter sums of OpenCV's Sobel (a row pass, then a column pass), over values v(k),
// k in [-R, R], in the order OpenCV adds them. Antisymmetric derivative taps d[2R+1]:
template <int R, typename T, typename V>
VE_HD T sobel_deriv_sum(const T* d, V v) {
  T a = ve_mul(d[R + 1], ve_add(v(1), -v(-1)));
  for (int k = 2; k <= R; ++k) a = corner_fma(d[R + k], ve_add(v(k), -v(-k)), a);
  return a;
}
// Symmetric smoothing taps f[2R+1]: the centre, then the pairs outward.
template <int R, typename T, typename V>
VE_HD T sobel_smooth_symm(const T* f, V v) {
  T a = ve_mul(f[R], v(0));
  for (int k = 1; k <= R; ++k) a = corner_fma(f[R + k], ve_add(v(-k), v(k)), a);
  return a;
}
// The same taps left to right (OpenCV's row pass over 8-bit pixels).
template <int R, typename T, typename V>
VE_HD T sobel_smooth_seq(const T* f, V v) {
  T a = ve_mul(f[0], v(-R));
  for (int i = 1; i <= 2 * R; ++i) a = corner_fma(f[i], v(i - R), a);
  return a;
}
// The row pass of the smoothing taps: left to right for 8-bit input, symmetric otherwise.
template <int R, bool kSeq, typename T, typename V>
VE_HD T sobel_smooth_row(const T* f, V v) {
  if constexpr (kSeq)
    return sobel_smooth_seq<R>(f, v);
  else
    return sobel_smooth_symm<R>(f, v);
}

// The filter taps in T: the derivative as is, the smoothing times the derivative scale (OpenCV
// scales the smoothing kernel, rounding each tap once).
template <typename T>
struct CornerTaps {
  T smooth[7];
  T deriv[7];
};
template <typename T>
VE_HD CornerTaps<T> corner_taps(const SobelTaps& t, double scale) {
  CornerTaps<T> c{};
  for (int i = 0; i <= 2 * t.smooth_r; ++i) c.smooth[i] = static_cast<T>(static_cast<double>(t.smooth[i]) * scale);
  for (int i = 0; i <= 2 * t.deriv_r; ++i) c.deriv[i] = static_cast<T>(t.deriv[i]);
  return c;
}

// Derivatives (Dx, Dy) at an in-image pixel (x, y) of one plane; src(row, col) reads pixel values.
// OpenCV's order: Dx = column smoothing (scaled) of the row derivative, Dy = column derivative of
// the row smoothing (scaled); pixels outside the image follow the border rule (0: constant).
// RS/RD: the smoothing and derivative tap radii of the aperture.
template <int RS, int RD, typename T, typename In>
VE_HD void corner_derivatives_r(const In* src, long long row_stride, long long col_stride, const CornerParams& p,
                                const CornerTaps<T>& c, int x, int y, T* dx, T* dy) {
  constexpr bool kSeq = In(0.5) == In(0);  // integer (8-bit) input
  auto pixel = [&](int yy, int xx) -> T {
    const int gx = border_index(xx, p.width, p.border);
    return gx < 0 ? T(0) : static_cast<T>(src[yy * row_stride + gx * col_stride]);
  };
  auto row_deriv = [&](int j) -> T {
    const int yy = border_index(y + j, p.height, p.border);
    if (yy < 0) return T(0);
    return sobel_deriv_sum<RD>(c.deriv, [&](int k) { return pixel(yy, x + k); });
  };
  auto row_smooth = [&](int j) -> T {
    const int yy = border_index(y + j, p.height, p.border);
    if (yy < 0) return T(0);
    return sobel_smooth_row<RS, kSeq>(c.smooth, [&](int k) { return pixel(yy, x + k); });
  };
  *dx = sobel_smooth_symm<RS>(c.smooth, row_deriv);
  *dy = sobel_deriv_sum<RD>(c.deriv, row_smooth);
}

template <typename T, typename In>
VE_HD void corner_derivatives_at(const In* src, long long row_stride, long long col_stride, const CornerParams& p,
                                 const SobelTaps& taps, int x, int y, T* dx, T* dy) {
  const CornerTaps<T> c = corner_taps<T>(taps, p.scale);
  switch (p.ksize) {  // tap radii (smooth, derivative) of the aperture; Scharr's are 3's
    case 1: corner_derivatives_r<0, 1, T, In>(src, row_stride, col_stride, p, c, x, y, dx, dy); break;
    case 5: corner_derivatives_r<2, 2, T, In>(src, row_stride, col_stride, p, c, x, y, dx, dy); break;
    case 7: corner_derivatives_r<3, 3, T, In>(src, row_stride, col_stride, p, c, x, y, dx, dy); break;
    default: corner_derivatives_r<1, 1, T, In>(src, row_stride, col_stride, p, c, x, y, dx, dy); break;
  }
}

// ---- The shared-memory tile of the CUDA response kernel (kernels/cuda/corners.cu) ----
// A block computes tile_x x tile_y outputs from a tile of derivative products that also
// holds the window halo. Kept here so the host test can run the kernel's tile logic.

// Outputs per block (one thread each): 32 x 8.
constexpr int kCornerTileX = 32;
constexpr int kCornerTileY = 8;

// Entries along one side of the tile: the outputs plus B-1 halo cells.
VE_HD int corner_tile_extent(int tile, int block_size) { return tile + block_size - 1; }

// Products Dx*Dx, Dx*Dy, Dy*Dy for the product grid position (x, y), which may lie outside
// the image: it then takes the in-image products the border rule names, or zeros (constant).
template <typename T, typename In>
VE_HD void corner_products_at(const In* plane, const CornerParams& p, const SobelTaps& taps, int x, int y, T* xx,
                              T* xy, T* yy) {
  const int gx = border_index(x, p.width, p.border), gy = border_index(y, p.height, p.border);
  T dx = T(0), dy = T(0);
  if (gx >= 0 && gy >= 0) corner_derivatives_at<T, In>(plane, p.width, 1, p, taps, gx, gy, &dx, &dy);
  *xx = ve_mul(dx, dx);
  *xy = ve_mul(dx, dy);
  *yy = ve_mul(dy, dy);
}

// Score of the output whose B x B window starts at tile entry r (row stride sw): each row
// summed along x, then the rows top to bottom, the CPU kernel's order, so the bits match. The
// sums run in double and are rounded once, like OpenCV's box filter: exact in practice, so two
// windows holding the same products (next to a reflected border) give the same response.
template <typename T>
VE_HD T corner_window_response(const T* sxx, const T* sxy, const T* syy, int r, int sw, const CornerParams& p) {
  double a = 0.0, b = 0.0, c = 0.0;
  for (int i = 0; i < p.block_size; ++i, r += sw) {
    double ra = static_cast<double>(sxx[r]), rb = static_cast<double>(sxy[r]), rc = static_cast<double>(syy[r]);
    for (int j = 1; j < p.block_size; ++j) {
      ra = ve_add(ra, static_cast<double>(sxx[r + j]));
      rb = ve_add(rb, static_cast<double>(sxy[r + j]));
      rc = ve_add(rc, static_cast<double>(syy[r + j]));
    }
    if (i == 0) {
      a = ra;
      b = rb;
      c = rc;
    } else {
      a = ve_add(a, ra);
      b = ve_add(b, rb);
      c = ve_add(c, rc);
    }
  }
  const T ta = static_cast<T>(a), tb = static_cast<T>(b), tc = static_cast<T>(c);
  return p.harris ? harris_from_sums(ta, tb, tc, p.k) : min_eigen_from_sums(ta, tb, tc);
}

}  // namespace vision_ext
