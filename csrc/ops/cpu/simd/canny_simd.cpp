// CPU Canny kernels, compiled once per level: separable integer Sobel + magnitude, then non-maximum
// suppression, each vectorised along a row with one native int32 register of pixels (uint8 and
// int16 loads widen into it). Row tails run the same templates with T = int32_t, and the
// per-pixel formulas are vision_ext/canny.h's, so every level gives the same bytes.
#include <cstdint>

#include "isa.h"
#include "vec.h"
#include "canny_simd.h"
#include "vision_ext/canny.h"

namespace vision_ext::cpu::VE_CPU_NS {
namespace {

using namespace vision_ext::canny;

constexpr int kLanes = lanes_of<int32_t>();
using I32 = Vec<int32_t, kLanes>;

inline int32_t load_u8(const uint8_t* p, int32_t) { return *p; }
inline I32 load_u8(const uint8_t* p, I32) { return load_u8_as_i32<kLanes>(p); }
inline int32_t load_i16(const int16_t* p, int32_t) { return *p; }
inline I32 load_i16(const int16_t* p, I32) { return load_i16_as_i32<kLanes>(p); }
inline void store_i16(int32_t v, int16_t* p) { *p = static_cast<int16_t>(v); }
inline void store_i16(I32 v, int16_t* p) { store_i32_as_i16(v, p); }
inline void store_u8(int32_t v, uint8_t* p) { *p = static_cast<uint8_t>(v); }
inline void store_u8(I32 v, uint8_t* p) { store_i32_as_u8(v, p); }

// Column sums of the 2R+1 rows: smoothing (for dx) into vs, derivative (for dy) into vd.
template <int R, class T>
inline void vertical_at(const uint8_t* const* rows, int x, int32_t* vs, int32_t* vd) {
  T s(0), d(0);
  for (int i = 0; i <= 2 * R; ++i) {
    const T v = load_u8(rows[i] + x, T(0));
    s += T(sobel_smooth_tap(R, i)) * v;
    if (i != R) d += T(sobel_deriv_tap(R, i)) * v;
  }
  store_lanes(s, vs + x);
  store_lanes(d, vd + x);
}

// Row sums of the column sums -> derivatives and magnitude; channel c > 0 replaces the stored
// channel only where its magnitude is strictly larger.
template <int R, class T>
inline void gradient_at(const int32_t* vs, const int32_t* vd, int x, int l2, int c, int16_t* dx, int16_t* dy,
                        int32_t* mag) {
  T sx(0), sy(0);
  for (int j = 0; j <= 2 * R; ++j) {
    if (j != R) sx += T(sobel_deriv_tap(R, j)) * load_lanes(vs + x + j - R, T(0));
    sy += T(sobel_smooth_tap(R, j)) * load_lanes(vd + x + j - R, T(0));
  }
  T gx = sobel_value(sx, 2 * R + 1), gy = sobel_value(sy, 2 * R + 1);
  T m = gradient_magnitude(gx, gy, l2);
  if (c > 0) {
    const T best = load_lanes(mag + x, T(0));
    const T better = m > best;
    m = select_lanes(better, m, best);
    gx = select_lanes(better, gx, load_i16(dx + x, T(0)));
    gy = select_lanes(better, gy, load_i16(dy + x, T(0)));
  }
  store_lanes(m, mag + x);
  store_i16(gx, dx + x);
  store_i16(gy, dy + x);
}

template <int R>
void gradient_rows_r(const uint8_t* src, const CannyParams& p, int y0, int y1, int32_t* work, int16_t* dx,
                     int16_t* dy, int32_t* mag, int64_t mag_stride) {
  const int w = p.width, h = p.height;
  int32_t* vs = work + kMaxRadius;
  int32_t* vd = work + (w + 2 * kMaxRadius) + kMaxRadius;
  for (int y = y0; y < y1; ++y) {
    const int64_t k = y - y0;
    int16_t* rdx = dx + k * w;
    int16_t* rdy = dy + k * w;
    int32_t* rmag = mag + k * mag_stride;
    for (int c = 0; c < p.channels; ++c) {
      const uint8_t* plane = src + static_cast<int64_t>(c) * h * w;
      const uint8_t* rows[2 * kMaxRadius + 1];
      for (int i = 0; i <= 2 * R; ++i) rows[i] = plane + static_cast<int64_t>(clamp_index(y + i - R, h)) * w;
      int x = 0;
      for (; x + kLanes <= w; x += kLanes) vertical_at<R, I32>(rows, x, vs, vd);
      for (; x < w; ++x) vertical_at<R, int32_t>(rows, x, vs, vd);
      for (int i = 1; i <= R; ++i) {  // BORDER_REPLICATE along the row
        vs[-i] = vs[0], vd[-i] = vd[0];
        vs[w - 1 + i] = vs[w - 1], vd[w - 1 + i] = vd[w - 1];
      }
      x = 0;
      for (; x + kLanes <= w; x += kLanes) gradient_at<R, I32>(vs, vd, x, p.l2, c, rdx, rdy, rmag);
      for (; x < w; ++x) gradient_at<R, int32_t>(vs, vd, x, p.l2, c, rdx, rdy, rmag);
    }
  }
}

void gradient_rows(const uint8_t* src, const CannyParams& p, int y0, int y1, int32_t* work, int16_t* dx, int16_t* dy,
                   int32_t* mag, int64_t mag_stride) {
  switch (p.aperture) {
    case 3: gradient_rows_r<1>(src, p, y0, y1, work, dx, dy, mag, mag_stride); break;
    case 5: gradient_rows_r<2>(src, p, y0, y1, work, dx, dy, mag, mag_stride); break;
    default: gradient_rows_r<3>(src, p, y0, y1, work, dx, dy, mag, mag_stride); break;
  }
}

template <class T>
inline void suppress_at(const int16_t* dx, const int16_t* dy, const int32_t* m, int64_t s, int x, T low, T high,
                        uint8_t* state) {
  const int32_t* c = m + x;
  const T st = suppress_state(load_lanes(c, T(0)), load_i16(dx + x, T(0)), load_i16(dy + x, T(0)),
                              load_lanes(c - 1, T(0)), load_lanes(c + 1, T(0)), load_lanes(c - s, T(0)),
                              load_lanes(c + s, T(0)), load_lanes(c - s - 1, T(0)), load_lanes(c - s + 1, T(0)),
                              load_lanes(c + s - 1, T(0)), load_lanes(c + s + 1, T(0)), low, high);
  store_u8(st, state + x);
}

void suppress_rows(const int16_t* dx, const int16_t* dy, const int32_t* mag, int64_t mag_stride, int rows, int width,
                   int low, int high, uint8_t* state, int64_t state_stride) {
  for (int r = 0; r < rows; ++r) {
    const int16_t* rdx = dx + static_cast<int64_t>(r) * width;
    const int16_t* rdy = dy + static_cast<int64_t>(r) * width;
    const int32_t* m = mag + r * mag_stride;
    uint8_t* st = state + r * state_stride;
    int x = 0;
    for (; x + kLanes <= width; x += kLanes) suppress_at(rdx, rdy, m, mag_stride, x, I32(low), I32(high), st);
    for (; x < width; ++x) suppress_at(rdx, rdy, m, mag_stride, x, int32_t(low), int32_t(high), st);
  }
}

void finish_row(const uint8_t* state, int width, uint8_t* out) {
  for (int x = 0; x < width; ++x) out[x] = static_cast<uint8_t>(0u - (state[x] >> 1));  // kStrong -> 255
}

}  // namespace

extern const CannyKernels canny = {&gradient_rows, &suppress_rows, &finish_row};

}  // namespace vision_ext::cpu::VE_CPU_NS
