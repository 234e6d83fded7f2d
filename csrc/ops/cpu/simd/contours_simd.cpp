// CPU find_contours kernels, compiled once per level: the per-pixel classification and the
// per-cell segment count run as `omp simd` loops over the shared maths of vision_ext/contours.h
// (the level's vector width: 64 bytes of cells at a time on AVX-512), and the emission skips
// empty cells eight at a time. Only comparisons and one division per crossing: every level gives
// the same bits.
#include <cstdint>
#include <cstring>

#include "isa.h"
#include "vec.h"
#include "contours_simd.h"
#include "vision_ext/contours.h"

namespace vision_ext::cpu::VE_CPU_NS {
namespace {

using namespace vision_ext::contours;

// Lane-wise running min and max, combined at the end. A NaN compares false, so it never replaces a
// running value, as with std::min / std::max one value at a time (zeros of either sign aside, which
// give the same level).
void min_max(const double* v, int64_t n, double* lo_out, double* hi_out) {
  constexpr int L = lanes_of<double>();
  using R = typename RawVec<double, L>::type;
  constexpr double inf = __builtin_inf();
  R lo = R{} + inf, hi = R{} - inf;
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    R x;
    std::memcpy(&x, v + i, sizeof x);
    lo = x < lo ? x : lo;
    hi = x > hi ? x : hi;
  }
  double l = inf, h = -inf;
  for (int k = 0; k < L; ++k) l = lo[k] < l ? lo[k] : l, h = hi[k] > h ? hi[k] : h;
  for (; i < n; ++i) l = v[i] < l ? v[i] : l, h = v[i] > h ? v[i] : h;
  *lo_out = l, *hi_out = h;
}

void classify_row(const double* row, const uint8_t* mask, int64_t width, double level, uint8_t* bits) {
  if (mask) {
#pragma omp simd
    for (int64_t x = 0; x < width; ++x) bits[x] = pixel_bits(row[x], level, mask[x]);
  } else {
#pragma omp simd
    for (int64_t x = 0; x < width; ++x) bits[x] = pixel_bits(row[x], level, 1);
  }
}

// Counted in uint16 lanes, 16384 cells (at most 32768 segments) at a time, so the reduction runs
// at a wide vector width instead of widening every byte to int64.
int64_t count_cells(const uint8_t* t, const uint8_t* b, int64_t width) {
  constexpr int64_t kChunk = 16384;
  int64_t n = 0;
  for (int64_t x0 = 0; x0 < width - 1; x0 += kChunk) {
    const int64_t x1 = x0 + kChunk < width - 1 ? x0 + kChunk : width - 1;
    uint16_t part = 0;
#pragma omp simd reduction(+ : part)
    for (int64_t x = x0; x < x1; ++x)
      part += static_cast<uint16_t>(segments_of_code(cell_code(t[x], t[x + 1], b[x], b[x + 1])));
    n += part;
  }
  return n;
}

// Eight cells at once: all of them empty when their pixels are all low or all high with data
// (the common case away from the contours).
inline bool all_same(const uint8_t* t, const uint8_t* b, int64_t x) {
  uint64_t t0, t1, b0, b1;
  std::memcpy(&t0, t + x, 8), std::memcpy(&t1, t + x + 1, 8), std::memcpy(&b0, b + x, 8), std::memcpy(&b1, b + x + 1, 8);
  const uint64_t all = t0 | t1 | b0 | b1, any_high = t0 & t1 & b0 & b1;
  constexpr uint64_t kLow = 0, kAllHigh = 0x0101010101010101ull;
  return all == kLow || (any_high == kAllHigh && all == kAllHigh);
}

int64_t emit_cells(const double* top, const double* bottom, const uint8_t* t, const uint8_t* b, int64_t r, int64_t h,
                   int64_t width, double level, bool high, Segment* out) {
  int64_t n = 0, x = 0;
  const int64_t cells = width - 1;
  while (x < cells) {
    if (x + 9 <= width && all_same(t, b, x)) {
      x += 8;
      continue;
    }
    const uint8_t code = cell_code(t[x], t[x + 1], b[x], b[x + 1]);
    if (code) {
      cell_segments(code, r, x, top[x], top[x + 1], bottom[x], bottom[x + 1], level, high, h, width, out + n);
      n += segments_of_code(code);
    }
    ++x;
  }
  return n;
}

}  // namespace

extern const ContourKernels contours = {&min_max, &classify_row, &count_cells, &emit_cells};

}  // namespace vision_ext::cpu::VE_CPU_NS
