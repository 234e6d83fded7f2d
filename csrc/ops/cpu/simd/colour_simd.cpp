// Colour kernels, compiled once per level. Histograms scatter one count at a time (x86 has no
// conflict-free vector scatter-add), into several sub-histograms so consecutive equal values do not
// wait on each other's store; the bin arithmetic of vision_ext/colour.h runs in simd loops the
// level vectorises. Moment sums use 8 fixed lanes, so every level adds in the same order.
// No trapping math in this file (values unchanged: only FP exceptions, which nothing here enables,
// are left out of the model): GCC then computes both sides of the selects in vision_ext/colour.h's
// branch-free formulas and vectorises them at levels without masked instructions (AVX2, SSE2).
#pragma GCC optimize("no-trapping-math")
#include <cstdint>
#include <cstring>

#include "colour_simd.h"
#include "isa.h"
#include "vision_ext/colour.h"

namespace vision_ext::cpu::VE_CPU_NS {
namespace {

// Eight sub-histograms: a run of equal pixels (flat image regions) increments eight counters in turn
// instead of waiting on one counter's store.
constexpr int kSub = 8;

void count_u8(const uint8_t* src, const uint8_t* mask, int64_t n, uint32_t* counts) {
  uint32_t c[kSub][256];
  std::memset(c, 0, sizeof(c));
  int64_t i = 0;
  if (mask == nullptr) {
    for (; i + 16 <= n; i += 16) {
      uint64_t w0, w1;
      std::memcpy(&w0, src + i, 8);
      std::memcpy(&w1, src + i + 8, 8);
      for (int k = 0; k < 8; ++k) {
        ++c[k][(w0 >> (8 * k)) & 255];
        ++c[k][(w1 >> (8 * k)) & 255];
      }
    }
    for (; i < n; ++i) ++c[i & (kSub - 1)][src[i]];
  } else {
    for (; i + kSub <= n; i += kSub)
      for (int k = 0; k < kSub; ++k) c[k][src[i + k]] += mask[i + k] != 0;
    for (; i < n; ++i) c[i & (kSub - 1)][src[i]] += mask[i] != 0;
  }
  for (int v = 0; v < 256; ++v) {
    uint32_t s = 0;
    for (int k = 0; k < kSub; ++k) s += c[k][v];
    counts[v] += s;
  }
}

void bins_u8(const uint8_t* src, int64_t n, const int32_t* lut, int32_t* idx) {
  for (int64_t i = 0; i < n; ++i) idx[i] = lut[src[i]];
}

template <typename T>
void bins(const T* VE_RESTRICT src, int64_t n, const BinRule& r, const double* edges, int32_t* VE_RESTRICT idx) {
  const BinRule rr = r;
  if (rr.convention == kEdgesCv2) {
    const double lo = rr.lo, hi = rr.hi, a = rr.a, b = rr.b;
    const int nb = rr.bins;
    for (int64_t i = 0; i < n; ++i) idx[i] = colour_bin_cv2_of(static_cast<double>(src[i]), lo, hi, a, b, nb);
  } else {
    const double* e = edges + rr.edge0;
    for (int64_t i = 0; i < n; ++i) idx[i] = colour_bin_numpy(static_cast<double>(src[i]), rr, e);
  }
}

void combine(const int32_t* idx, int64_t n, int32_t stride, int32_t* acc) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) acc[i] = (acc[i] < 0 || idx[i] < 0) ? -1 : acc[i] + idx[i] * stride;
}

void scatter(const int32_t* idx, const uint8_t* mask, int64_t n, uint32_t* hist, int bins, uint32_t* sub) {
  if (sub == nullptr) {
    for (int64_t i = 0; i < n; ++i)
      if (idx[i] >= 0 && (mask == nullptr || mask[i] != 0)) ++hist[idx[i]];
    return;
  }
  uint32_t* h[4] = {hist, sub, sub + bins, sub + 2 * bins};
  std::memset(sub, 0, sizeof(uint32_t) * 3 * static_cast<size_t>(bins));
  for (int64_t i = 0; i < n; ++i) {
    const int32_t k = idx[i];
    if (k >= 0 && (mask == nullptr || mask[i] != 0)) ++h[i & 3][k];
  }
  for (int j = 0; j < bins; ++j) hist[j] += h[1][j] + h[2][j] + h[3][j];
}

// Joint uint8 histogram in one pass: the joint index is the sum of the channels' table entries (bin
// times stride, or kJointDropped, which keeps any sum holding one negative), counted into four
// histograms in turn (hist and sub's three, or hist alone when sub is null).
template <int C>  // channels, or 0: given at run time
void joint_u8_t(const uint8_t* const* planes, int channels, const int32_t* lut, const uint8_t* mask, int64_t n,
                uint32_t* hist, int bins, uint32_t* sub) {
  const int nc = C > 0 ? C : channels;
  uint32_t* h[4] = {hist, hist, hist, hist};
  if (sub != nullptr) {
    std::memset(sub, 0, sizeof(uint32_t) * 3 * static_cast<size_t>(bins));
    h[1] = sub;
    h[2] = sub + bins;
    h[3] = sub + 2 * static_cast<size_t>(bins);
  }
  auto index = [&](int64_t i) {
    int32_t j = lut[planes[0][i]];
    for (int c = 1; c < nc; ++c) j += lut[c * 256 + planes[c][i]];
    return j;
  };
  int64_t i = 0;
  if (mask == nullptr) {
    for (; i + 4 <= n; i += 4)
      for (int k = 0; k < 4; ++k) {
        const int32_t j = index(i + k);
        if (j >= 0) ++h[k][j];
      }
  } else {
    for (; i + 4 <= n; i += 4)
      for (int k = 0; k < 4; ++k) {
        const int32_t j = index(i + k);
        if (j >= 0) h[k][j] += mask[i + k] != 0;
      }
  }
  for (int k = 0; i < n; ++i, ++k) {
    const int32_t j = index(i);
    if (j >= 0 && (mask == nullptr || mask[i] != 0)) ++h[k][j];
  }
  if (sub != nullptr)
    for (int j = 0; j < bins; ++j) hist[j] += h[1][j] + h[2][j] + h[3][j];
}

void joint_u8(const uint8_t* const* planes, int channels, const int32_t* lut, const uint8_t* mask, int64_t n,
              uint32_t* hist, int bins, uint32_t* sub) {
  if (channels == 3) return joint_u8_t<3>(planes, channels, lut, mask, n, hist, bins, sub);
  joint_u8_t<0>(planes, channels, lut, mask, n, hist, bins, sub);
}

constexpr int kLanes = 8;

// Sum over the kept values of f(x) in 8 fixed lanes, then the lanes in order.
template <typename T, typename F>
double lane_sum(const T* src, const uint8_t* mask, int64_t n, F f) {
  double acc[kLanes] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
#pragma omp simd
    for (int k = 0; k < kLanes; ++k) {
      const double v = f(static_cast<double>(src[i + k]));
      acc[k] += (mask == nullptr || mask[i + k] != 0) ? v : 0.0;
    }
  }
  for (int k = 0; i < n; ++i, ++k) acc[k] += (mask == nullptr || mask[i] != 0) ? f(static_cast<double>(src[i])) : 0.0;
  double s = acc[0];
  for (int k = 1; k < kLanes; ++k) s += acc[k];
  return s;
}

template <typename T>
void moments(const T* src, const uint8_t* mask, int64_t n, double* out) {
  int64_t count = n;
  if (mask != nullptr) {
    count = 0;
    for (int64_t i = 0; i < n; ++i) count += mask[i] != 0;
  }
  const double cnt = static_cast<double>(count);
  const double mean = lane_sum(src, mask, n, [](double x) { return x; }) / cnt;
  const double m2 = lane_sum(src, mask, n, [mean](double x) { return (x - mean) * (x - mean); }) / cnt;
  const double m3 = lane_sum(src, mask, n, [mean](double x) { return (x - mean) * (x - mean) * (x - mean); }) / cnt;
  out[0] = cnt;
  out[1] = mean;
  out[2] = m2;
  out[3] = m3;
}

// ---- Di Zenzo gradient: separable Sobel by rows ----
// OpenCV's Sobel is a row pass then a column pass. Each source row's two row passes (derivative and
// smoothing, vision_ext/harris.h's sums in its order) are computed once into a ring of 2R + 1 rows
// per channel; the column pass of the ring gives (dx, dy), summed into the structure tensor of the
// output row, then colour_gradient_from_tensor per pixel. Every loop over x runs the header's
// scalar maths per element (the level vectorises it), so every level gives the same bits; border
// columns and rows take border_index (vision_ext/harris.h), interior columns read directly.

// Row passes of one source row: rd = derivative taps, rs = smoothing taps, across all w columns.
template <int RS, int RD, typename In>
void row_passes(const In* VE_RESTRICT row, int w, int border, const CornerTaps<double>& taps, double* VE_RESTRICT rd,
                double* VE_RESTRICT rs) {
  constexpr bool kSeq = In(0.5) == In(0);  // integer (8-bit) input: smoothing left to right
  constexpr int R = RS > RD ? RS : RD;
  const CornerTaps<double> c = taps;  // a local copy: the stores to rd / rs cannot alias it
  auto edge = [&](int x) {
    auto v = [&](int k) { return static_cast<double>(row[border_index(x + k, w, border)]); };
    rd[x] = sobel_deriv_sum<RD>(c.deriv, v);
    rs[x] = sobel_smooth_row<RS, kSeq>(c.smooth, v);
  };
  const int x0 = w < 2 * R + 1 ? w : R, x1 = w < 2 * R + 1 ? w : w - R;  // interior [x0, x1)
  for (int x = 0; x < x0; ++x) edge(x);
  for (int x = x0; x < x1; ++x) {
    auto v = [&](int k) { return static_cast<double>(row[x + k]); };
    rd[x] = sobel_deriv_sum<RD>(c.deriv, v);
    rs[x] = sobel_smooth_row<RS, kSeq>(c.smooth, v);
  }
  for (int x = x1; x < w; ++x) edge(x);
}

// Column pass of one channel at one output row: rows[j + R] are the ring's rows y + j (rd at
// [0, w), rs at [w, 2w)); the tensor sums s[0..3w) = (sxx, sxy, syy) are started (first) or added to.
template <int RS, int RD>
void column_pass(double* const* rows, int w, const CornerTaps<double>& taps, bool first, double* VE_RESTRICT s) {
  constexpr int R = RS > RD ? RS : RD;
  const CornerTaps<double> c = taps;
  const double* r[2 * R + 1];
  for (int j = 0; j <= 2 * R; ++j) r[j] = rows[j];
  double* VE_RESTRICT sxx = s;
  double* VE_RESTRICT sxy = s + w;
  double* VE_RESTRICT syy = s + 2 * static_cast<long long>(w);
  for (int x = 0; x < w; ++x) {
    const double dx = sobel_smooth_symm<RS>(c.smooth, [&](int j) { return r[R + j][x]; });
    const double dy = sobel_deriv_sum<RD>(c.deriv, [&](int j) { return r[R + j][w + x]; });
    const double a = first ? 0.0 : sxx[x], b = first ? 0.0 : sxy[x], e = first ? 0.0 : syy[x];
    sxx[x] = ve_add(a, ve_mul(dx, dx));
    sxy[x] = ve_add(b, ve_mul(dx, dy));
    syy[x] = ve_add(e, ve_mul(dy, dy));
  }
}

// In chunks through double buffers: GCC vectorises the formula with double stores, not with the
// narrowing to float in the same loop.
template <typename Out>
void tensor_to_gradient(const double* VE_RESTRICT s, int w, Out* VE_RESTRICT mag, Out* VE_RESTRICT dir) {
  constexpr int kChunk = 64;
  double m[kChunk], d[kChunk];
  for (int x0 = 0; x0 < w; x0 += kChunk) {
    const int n = w - x0 < kChunk ? w - x0 : kChunk;
    const double* VE_RESTRICT sxx = s + x0;
    const double* VE_RESTRICT sxy = s + w + x0;
    const double* VE_RESTRICT syy = s + 2 * static_cast<long long>(w) + x0;
    for (int i = 0; i < n; ++i) colour_gradient_from_tensor(sxx[i], sxy[i], syy[i], m + i, d + i);
    for (int i = 0; i < n; ++i) {
      mag[x0 + i] = static_cast<Out>(m[i]);
      dir[x0 + i] = static_cast<Out>(d[i]);
    }
  }
}

// work: colour_gradient_work(channels, ksize, width) doubles.
template <int RS, int RD, typename In, typename Out>
void gradient_rows_r(const In* planes, int channels, const CornerParams& p, int y0, int y1, Out* mag, Out* dir,
                     double* work) {
  constexpr int R = RS > RD ? RS : RD, K = 2 * R + 1;
  const int w = p.width;
  const long long hw = static_cast<long long>(p.height) * w, row2 = 2 * static_cast<long long>(w);
  const CornerTaps<double> taps = corner_taps<double>(sobel_taps(p.ksize), p.scale);
  double* s = work;                     // 3 w: the tensor sums of the output row
  double* ring = work + 3 * static_cast<long long>(w);  // channels x K slots of (rd, rs)
  auto slot = [&](int c, int vr) { return ring + (static_cast<long long>(c) * K + (vr - y0 + R) % K) * row2; };
  auto fill = [&](int c, int vr) {  // row passes of virtual row vr (may lie outside the image)
    const In* src = planes + c * hw + static_cast<long long>(border_index(vr, p.height, p.border)) * w;
    double* d = slot(c, vr);
    row_passes<RS, RD>(src, w, p.border, taps, d, d + w);
  };
  for (int c = 0; c < channels; ++c)
    for (int vr = y0 - R; vr < y0 + R; ++vr) fill(c, vr);
  for (int y = y0; y < y1; ++y) {
    for (int c = 0; c < channels; ++c) {
      fill(c, y + R);
      double* rows[K];
      for (int j = -R; j <= R; ++j) rows[j + R] = slot(c, y + j);
      column_pass<RS, RD>(rows, w, taps, c == 0, s);
    }
    tensor_to_gradient(s, w, mag + static_cast<long long>(y) * w, dir + static_cast<long long>(y) * w);
  }
}

template <typename In, typename Out>
void gradient_rows(const In* planes, int channels, const CornerParams& p, int y0, int y1, Out* mag, Out* dir,
                   double* work) {
  switch (p.ksize) {  // tap radii (smooth, derivative); Scharr's are 3's (vision_ext/harris.h)
    case 1: gradient_rows_r<0, 1>(planes, channels, p, y0, y1, mag, dir, work); break;
    case 5: gradient_rows_r<2, 2>(planes, channels, p, y0, y1, mag, dir, work); break;
    case 7: gradient_rows_r<3, 3>(planes, channels, p, y0, y1, mag, dir, work); break;
    default: gradient_rows_r<1, 1>(planes, channels, p, y0, y1, mag, dir, work); break;
  }
}

}  // namespace

extern const ColourKernels colour = {
    &count_u8,        &bins_u8,           &bins<float>,       &bins<double>,
    &combine,         &scatter,           &joint_u8,           &moments<float>,    &moments<double>,
    &gradient_rows<uint8_t, float>, &gradient_rows<float, float>, &gradient_rows<double, double>,
};

}  // namespace vision_ext::cpu::VE_CPU_NS
