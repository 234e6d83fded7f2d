// Harris / min-eigenvalue corner response: the arithmetic shared by the CPU and
// CUDA kernels, so both produce the same bits. The behaviour is OpenCV's cornerHarris /
// cornerMinEigenVal (tests/ops/test_corners_ops.py holds both devices to it).
//
// Response at (x, y):
//   Dx = scale * Hpass(deriv) o Vpass(smooth) (src),  Dy = scale * Hpass(smooth) o Vpass(deriv) (src)
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

// Derivatives (Dx, Dy) at an in-image pixel (x, y) of one plane; src(row, col) reads pixel values.
// The order of the sums is the CPU kernel's: vertical taps first (top to bottom),
// then horizontal taps (left to right), zero taps skipped, then the scale.
template <typename T, typename In>
VE_HD void corner_derivatives_at(const In* src, long long row_stride, long long col_stride, const CornerParams& p,
                                 const SobelTaps& taps, int x, int y, T* dx, T* dy) {
  T hx = T(0), hy = T(0);
  // Dx: horizontal deriv of vertical smooth; Dy: horizontal smooth of vertical deriv.
  for (int i = -taps.deriv_r; i <= taps.deriv_r; ++i) {
    const T td = static_cast<T>(taps.deriv[i + taps.deriv_r]);
    if (td == T(0)) continue;
    const int xx = border_index(x + i, p.width, p.border);
    T vs = T(0);
    if (xx >= 0) {
      for (int j = -taps.smooth_r; j <= taps.smooth_r; ++j) {
        const int yy = border_index(y + j, p.height, p.border);
        if (yy < 0) continue;
        vs = ve_add(vs, ve_mul(static_cast<T>(taps.smooth[j + taps.smooth_r]),
                               static_cast<T>(src[yy * row_stride + xx * col_stride])));
      }
    }
    hx = ve_add(hx, ve_mul(td, vs));
  }
  for (int i = -taps.smooth_r; i <= taps.smooth_r; ++i) {
    const T ts = static_cast<T>(taps.smooth[i + taps.smooth_r]);
    const int xx = border_index(x + i, p.width, p.border);
    T vd = T(0);
    if (xx >= 0) {
      for (int j = -taps.deriv_r; j <= taps.deriv_r; ++j) {
        const T tj = static_cast<T>(taps.deriv[j + taps.deriv_r]);
        if (tj == T(0)) continue;
        const int yy = border_index(y + j, p.height, p.border);
        if (yy < 0) continue;
        vd = ve_add(vd, ve_mul(tj, static_cast<T>(src[yy * row_stride + xx * col_stride])));
      }
    }
    hy = ve_add(hy, ve_mul(ts, vd));
  }
  *dx = ve_mul(hx, static_cast<T>(p.scale));
  *dy = ve_mul(hy, static_cast<T>(p.scale));
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
