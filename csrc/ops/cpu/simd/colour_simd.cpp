// Colour kernels, compiled once per level. Histograms scatter one count at a time (x86 has no
// conflict-free vector scatter-add), into several sub-histograms so consecutive equal values do not
// wait on each other's store; the bin arithmetic of vision_ext/colour.h runs in simd loops the
// level vectorises. Moment sums use 8 fixed lanes, so every level adds in the same order.
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
void bins(const T* src, int64_t n, const BinRule& r, const double* edges, int32_t* idx) {
  const BinRule rr = r;
  if (rr.convention == kEdgesCv2) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) idx[i] = colour_bin_cv2(static_cast<double>(src[i]), rr);
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

// flatten: the shared Sobel (vision_ext/harris.h) reads pixels through lambdas; inlined here, no
// out-of-line copy of them is emitted (that copy would be a symbol shared across levels).
template <typename In, typename Out>
__attribute__((flatten)) void gradient_rows(const In* planes, int channels, const CornerParams& p, int y0, int y1, Out* mag, Out* dir) {
  const SobelTaps taps = sobel_taps(p.ksize);
  const long long hw = static_cast<long long>(p.height) * p.width;
  for (int y = y0; y < y1; ++y) {
    for (int x = 0; x < p.width; ++x) {
      double m, d;
      colour_gradient_at<In>(planes, hw, channels, p, taps, x, y, &m, &d);
      mag[static_cast<long long>(y) * p.width + x] = static_cast<Out>(m);
      dir[static_cast<long long>(y) * p.width + x] = static_cast<Out>(d);
    }
  }
}

}  // namespace

extern const ColourKernels colour = {
    &count_u8,        &bins_u8,           &bins<float>,       &bins<double>,
    &combine,         &scatter,           &moments<float>,    &moments<double>,
    &gradient_rows<uint8_t, float>, &gradient_rows<float, float>, &gradient_rows<double, double>,
};

}  // namespace vision_ext::cpu::VE_CPU_NS
