// Per-pixel maths of the texture family (local binary patterns, grey-level co-occurrence,
// histograms of oriented gradients), shared by the CPU levels (csrc/ops/cpu/simd/texture_simd.cpp,
// T = a lane vector or a scalar) and CUDA (csrc/kernels/cuda/texture.cu, T = double). The rules are
// scikit-image 0.26's (docs/EXACTNESS.md, texture section): every formula is written in the order
// skimage evaluates it, so with -ffp-contract=off the doubles are the same.
#pragma once
#include <cmath>
#include <cstdint>

#include "vision_ext/macros.h"

namespace vision_ext {
namespace texture {

// ---- local binary patterns ----------------------------------------------------------------------

enum LbpMethod : int { kLbpDefault = 0, kLbpRor = 1, kLbpUniform = 2, kLbpNriUniform = 3, kLbpVar = 4 };
constexpr int kLbpMaxCodePoints = 31;  // default / ror: skimage's int32 weights 2^i stay exact
constexpr int kLbpMaxPoints = 64;      // uniform / nri_uniform / var: one bit per point in a uint64
constexpr double kLbpMaxRadius = 4096.0;

struct LbpParams {
  int height, width;  // of the image
  int pad;            // zero border of the padded plane on every side (> the radius)
  int points, method;
  double rp[kLbpMaxPoints], cp[kLbpMaxPoints];  // circle offsets, rounded to 5 decimals like skimage
  int cp_lo[kLbpMaxPoints], cp_hi[kLbpMaxPoints];  // floor / ceil of cp (whole for every column)
  // Point i sits on a pixel (rp, cp whole) of an image known to be finite (an integer dtype): its
  // bilinear sample is that pixel (the zero weights of the others add +0), so it is read directly.
  uint8_t on_pixel[kLbpMaxPoints];
};

VE_HD int64_t lbp_padded_width(const LbpParams& p) { return p.width + 2 * static_cast<int64_t>(p.pad); }
VE_HD int64_t lbp_padded_plane(const LbpParams& p) {
  return (p.height + 2 * static_cast<int64_t>(p.pad)) * lbp_padded_width(p);
}

// skimage's bilinear_interpolation: rows then the blend of the two rows, in that order.
template <typename T>
VE_HD T lbp_bilinear(T a00, T a01, T a10, T a11, T dr, T dc) {
  const T top = (T(1.0) - dc) * a00 + dc * a01;
  const T bottom = (T(1.0) - dc) * a10 + dc * a11;
  return (T(1.0) - dr) * top + dr * bottom;
}

VE_HD int popcount64(uint64_t v) {
#if defined(__CUDA_ARCH__)
  return __popcll(v);
#else
  return __builtin_popcountll(v);
#endif
}

VE_HD int ctz64(uint64_t v) {  // v != 0
#if defined(__CUDA_ARCH__)
  return __ffsll(static_cast<long long>(v)) - 1;
#else
  return __builtin_ctzll(v);
#endif
}

// skimage's var: the biased variance of the P samples from running sums, (sum t^2 - (sum t)^2 / P) / P.
template <typename T, typename At>
VE_HD T lbp_variance(int P, At at) {
  T s = T(0.0), q = T(0.0);
  for (int i = 0; i < P; ++i) {
    const T t = at(i);
    s = s + t;
    q = q + t * t;
  }
  const T n = T(static_cast<double>(P));
  return (q - (s * s) / n) / n;
}

// The code of one pixel from its bits (bit i: sample i >= centre) and, for var, the samples'
// variance (the code is the variance itself, NaN when it is 0). "changes" is skimage's: the P - 1 neighbouring pairs, not wrapping around.
VE_HD double lbp_code(uint64_t bits, int P, int method, double var) {
  const uint64_t all = P == 64 ? ~uint64_t(0) : ((uint64_t(1) << P) - 1);
  if (method == kLbpVar) return var != 0.0 ? var : NAN;
  if (method == kLbpDefault) return static_cast<double>(bits);
  if (method == kLbpRor) {
    uint64_t v = bits, best = bits;
    for (int i = 1; i < P; ++i) {
      v = (v >> 1) | ((v & 1) << (P - 1));
      best = v < best ? v : best;
    }
    return static_cast<double>(best);
  }
  const uint64_t pairs = P == 1 ? 0 : (uint64_t(1) << (P - 1)) - 1;
  const int changes = popcount64((bits ^ (bits >> 1)) & pairs);
  const int ones = popcount64(bits);
  if (method == kLbpNriUniform) {
    if (changes > 2) return static_cast<double>(P) * (P - 1) + 2;
    if (ones == 0) return 0.0;
    if (ones == P) return static_cast<double>(P) * (P - 1) + 1;
    const int first_one = ctz64(bits), first_zero = ctz64(~bits & all);
    const int rot = first_one == 0 ? ones - first_zero : P - first_one;
    return 1.0 + static_cast<double>(ones - 1) * P + rot;
  }
  return changes <= 2 ? static_cast<double>(ones) : static_cast<double>(P + 1);
}

// ---- numpy's summation order --------------------------------------------------------------------

// np.sum of n contiguous values at(0..n-1): numpy's pairwise summation (blocks of up to 128 summed
// with 8 strided accumulators, longer runs split in two at a multiple of 8), iteratively so one
// copy serves vectors, scalars and CUDA.
template <typename T, typename At>
VE_HD T numpy_block_sum(int s, int n, At at) {
  if (n < 8) {
    T r = T(0.0);
    for (int i = 0; i < n; ++i) r = r + at(s + i);
    return r;
  }
  T r[8];
  for (int j = 0; j < 8; ++j) r[j] = at(s + j);
  int i = 8;
  for (; i < n - (n % 8); i += 8)
    for (int j = 0; j < 8; ++j) r[j] = r[j] + at(s + i + j);
  T res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
  for (; i < n; ++i) res = res + at(s + i);
  return res;
}

template <typename T, typename At>
VE_HD T numpy_sum(int n, At at) {
  struct Frame {
    int start, n, half, stage;
    T left;
  };
  Frame st[32];
  int top = 0;
  st[0].start = 0, st[0].n = n;
  T res = T(0.0);
  bool have = false;  // res holds the sum of st[top]'s pending child
  for (;;) {
    Frame& f = st[top];
    if (!have) {
      if (f.n <= 128) {
        res = numpy_block_sum<T>(f.start, f.n, at);
        if (top == 0) return res;
        --top, have = true;
        continue;
      }
      f.half = f.n / 2 - (f.n / 2) % 8;
      f.stage = 0;
      st[top + 1].start = f.start, st[top + 1].n = f.half;
      ++top;
    } else if (f.stage == 0) {
      f.left = res, f.stage = 1, have = false;
      st[top + 1].start = f.start + f.half, st[top + 1].n = f.n - f.half;
      ++top;
    } else {
      res = f.left + res;
      if (top == 0) return res;
      --top;
    }
  }
}

// ---- grey-level co-occurrence -------------------------------------------------------------------

constexpr int64_t kGlcmMaxLevels = 65536;

enum GlcmProp : int {
  kPropContrast = 0,
  kPropDissimilarity,
  kPropHomogeneity,
  kPropEnergy,
  kPropCorrelation,
  kPropASM,
  kPropMean,
  kPropVariance,
  kPropStd,
  kPropEntropy,
  kGlcmPropCount
};

// skimage's pixel offset of one (distance, angle): round(sin(angle) * d) rows, round(cos(angle) * d) columns.
struct GlcmOffset {
  int dr, dc;
};

// The sums graycoprops needs of one matrix P (levels x levels, any scale): S = sum P, the weighted
// sums of the per-element properties, the row / column marginals' moments and the covariance.
struct GlcmSums {
  double total, contrast, dissimilarity, homogeneity, asm_, plogp;
  double mean_i, mean_j, var_i, var_j, cov;
};

// The properties from the sums, normalised by S (an empty matrix counts as S = 1, like skimage).
VE_HD double glcm_prop(const GlcmSums& s, int prop) {
  const double S = s.total == 0.0 ? 1.0 : s.total;
  switch (prop) {
    case kPropContrast: return s.contrast / S;
    case kPropDissimilarity: return s.dissimilarity / S;
    case kPropHomogeneity: return s.homogeneity / S;
    case kPropASM: return s.asm_ / (S * S);
    case kPropEnergy: return sqrt(s.asm_ / (S * S));
    case kPropMean: return s.mean_i;
    case kPropVariance: return s.var_i;
    case kPropStd: return sqrt(s.var_i);
    case kPropEntropy: return s.total == 0.0 ? 0.0 : log(S) - s.plogp / S;  // -sum p log p, p = P / S
    default: {  // correlation
      const double si = sqrt(s.var_i), sj = sqrt(s.var_j);
      if (si < 1e-15 || sj < 1e-15) return 1.0;
      return s.cov / (si * sj);
    }
  }
}

// ---- histograms of oriented gradients -----------------------------------------------------------

enum HogNorm : int { kHogL1 = 0, kHogL1Sqrt = 1, kHogL2 = 2, kHogL2Hys = 3 };
constexpr int kHogMaxOrientations = 180;
constexpr uint8_t kHogNoBin = 255;   // orientation outside every bin (e.g. exactly 180 after the modulo)
constexpr uint8_t kHogAllBins = 254; // NaN orientation: skimage's range test passes for every bin
constexpr double kHogEps = 1e-5;

struct HogParams {
  int height, width, channels;
  int orientations;
  int cell_rows, cell_cols;    // pixels per cell
  int cells_row, cells_col;    // number of cells
  int block_rows, block_cols;  // cells per block
  int blocks_row, blocks_col;  // number of blocks
  int norm;
  double edges[kHogMaxOrientations + 1];  // bin i is [edges[i], edges[i + 1]): skimage's 180. / n * i
};

// The type skimage computes an image's gradients in: its float type (uint8 images are float64).
template <typename S> struct HogGradient { using type = S; };
template <> struct HogGradient<uint8_t> { using type = double; };

// Pixel rows / columns of cell index k: skimage's range(-(c/2), (c+1)/2) around the centre c/2 + k*c.
VE_HD int hog_cell_start(int k, int c) { return k * c; }

// np.arctan2(gr, gc) * (180 / np.pi) % 180, with numpy's floor-modulo.
VE_HD double hog_orientation(double gr, double gc) {
  const double o = atan2(gr, gc) * (180.0 / 3.141592653589793);
  double mod = fmod(o, 180.0);
  if (mod != 0.0) {
    if (mod < 0.0) mod += 180.0;
  } else {
    mod = 0.0;
  }
  return mod;
}

// The bin of an orientation by skimage's tests (o < edges[i + 1] and o >= edges[i]).
VE_HD uint8_t hog_bin_of(double o, const double* edges, int n) {
  if (o != o) return kHogAllBins;
  const double width = 180.0 / n;
  int i = static_cast<int>(o / width);
  i = i < 0 ? 0 : (i >= n ? n - 1 : i);
  while (i > 0 && o < edges[i]) --i;
  while (i < n - 1 && o >= edges[i + 1]) ++i;
  if (o < edges[i + 1] && o >= edges[i]) return static_cast<uint8_t>(i);
  return kHogNoBin;
}

// np.hypot is glibc's hypot; its common case (ax = max(|x|, |y|) <= 2^511 and ay = min >= 2^-511)
// is one sqrt and a correction step, written here in glibc's order so vectors and CUDA give its
// bits (ax, ay as lanes; the caller routes the other cases to hypot itself).
VE_HD double sqrt_of(double v) { return sqrt(v); }
VE_HD bool le_of(double a, double b) { return a <= b; }
VE_HD double select_of(bool m, double a, double b) { return m ? a : b; }

// T is double or a lane vector with sqrt_of / le_of / select_of found by argument-dependent lookup.
template <typename T>
VE_HD T glibc_hypot_kernel(T ax, T ay) {
  const T h = sqrt_of(ax * ax + ay * ay);
  const T two(2.0), four(4.0);
  const T d1 = h - ay, d2 = h - ax;
  const T t1a = ax * (two * d1 - ax), t2a = (d1 - two * (ax - ay)) * d1;
  const T t1b = two * d2 * (ax - two * ay), t2b = (four * d2 - ay) * ay + d2 * d2;
  const auto near = le_of(h, two * ay);
  const T t1 = select_of(near, t1a, t1b), t2 = select_of(near, t2a, t2b);
  return h - (t1 + t2) / (two * h);
}

// glibc's hypot for doubles: the kernel above in its common case, hypot otherwise.
VE_HD double hog_hypot(double x, double y) {
  const double ax = fabs(x) < fabs(y) ? fabs(y) : fabs(x), ay = fabs(x) < fabs(y) ? fabs(x) : fabs(y);
  if (!(ax <= 0x1p+511) || (ay < 0x1p-511 && ay != 0.0)) return hypot(x, y);
  if (ay <= ax * 0x1p-54) return ax + ay;
  return glibc_hypot_kernel(ax, ay);
}

// The exact bin of a gradient (gr, gc) (rows, columns), as skimage computes it.
VE_HD uint8_t hog_bin(double gr, double gc, const double* edges, int n) {
  return hog_bin_of(hog_orientation(gr, gc), edges, n);
}

// skimage's cell_hog accumulation: a float32 total, each magnitude added in double.
VE_HD float hog_accumulate(float total, double magnitude) {
  return static_cast<float>(static_cast<double>(total) + magnitude);
}

// The cell's histogram value: the float32 total over the cell's pixel count, a float32 division.
VE_HD float hog_cell_value(float total, int cell_rows, int cell_cols) {
  return total / static_cast<float>(cell_rows * cell_cols);
}

// One normalised block in place: v holds n values (row, column, orientation order) as doubles.
VE_HD void hog_normalize_block(double* v, int n, int norm) {
  const double eps = kHogEps, eps2 = kHogEps * kHogEps;
  if (norm == kHogL1 || norm == kHogL1Sqrt) {
    const double s = numpy_sum<double>(n, [&](int i) { return fabs(v[i]); }) + eps;
    for (int i = 0; i < n; ++i) v[i] = norm == kHogL1 ? v[i] / s : sqrt(v[i] / s);
    return;
  }
  const double s = sqrt(numpy_sum<double>(n, [&](int i) { return v[i] * v[i]; }) + eps2);
  for (int i = 0; i < n; ++i) v[i] = v[i] / s;
  if (norm == kHogL2) return;
  for (int i = 0; i < n; ++i) v[i] = v[i] != v[i] ? v[i] : (v[i] < 0.2 ? v[i] : 0.2);  // np.minimum(out, 0.2)
  const double s2 = sqrt(numpy_sum<double>(n, [&](int i) { return v[i] * v[i]; }) + eps2);
  for (int i = 0; i < n; ++i) v[i] = v[i] / s2;
}

// skimage.draw.line's Bresenham walk from (r0, c0) to (r1, c1): f(r, c) for every pixel, in order.
template <typename F>
VE_HD void draw_line(long r0, long c0, long r1, long c1, F f) {
  long r = r0, c = c0;
  long dr = r1 - r0 < 0 ? r0 - r1 : r1 - r0, dc = c1 - c0 < 0 ? c0 - c1 : c1 - c0;
  long sc = (c1 - c) > 0 ? 1 : -1, sr = (r1 - r) > 0 ? 1 : -1;
  const bool steep = dr > dc;
  if (steep) {
    long t = c; c = r; r = t;
    t = dc; dc = dr; dr = t;
    t = sc; sc = sr; sr = t;
  }
  long d = 2 * dr - dc;
  for (long i = 0; i < dc; ++i) {
    if (steep) f(c, r); else f(r, c);
    while (d >= 0) {
      r += sr;
      d -= 2 * dc;
    }
    c += sc;
    d += 2 * dr;
  }
  f(r1, c1);
}

// The visualisation line of orientation o in the cell whose centre is (cr, cc): skimage's
// draw.line(int(cr - dc), int(cc + dr), int(cr + dc), int(cc - dr)), dr/dc = radius * sin/cos of the
// bin's middle angle.
struct HogLine {
  long r0, c0, r1, c1;
};
VE_HD HogLine hog_line(int cr, int cc, double dr, double dc) {
  return HogLine{static_cast<long>(cr - dc), static_cast<long>(cc + dr), static_cast<long>(cr + dc),
                 static_cast<long>(cc - dr)};
}

}  // namespace texture
}  // namespace vision_ext
