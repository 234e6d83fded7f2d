// CPU shape kernels, compiled once per level. A row of region ids is walked run by run (a run =
// maximal stretch of one id; the end of a run is found a register at a time, shape_ops.h), and each
// run adds its closed-form power sums to its region's 128-bit moments (vision_ext/shape.h). The
// border map of the perimeter is computed a register at a time; only border pixels are then
// classified one by one. All sums are integers, so every level and thread split gives the same bits.
#include <cstdint>

#include "isa.h"
#include "vec.h"
#include "shape_ops.h"
#include "shape_simd.h"
#include "vision_ext/shape.h"

namespace vision_ext::cpu::VE_CPU_NS {
namespace {

using namespace vision_ext::shape;

constexpr int kLanes = lanes_of<int32_t>();
using I32 = Vec<int32_t, kLanes>;

// Border id of one pixel: its id where a 4-neighbour differs (outside the image counts as 0),
// else 0. c, u, d, l, r: the pixel and its up, down, left, right neighbours.
template <class T>
inline T border_id(T c, T u, T d, T l, T r) {
  const T interior = (c == u) & (c == d) & (c == l) & (c == r);
  return c & (interior ^ T(-1));
}
inline int32_t border_id(int32_t c, int32_t u, int32_t d, int32_t l, int32_t r) {
  return (c == u && c == d && c == l && c == r) ? 0 : c;
}

// Border ids of row `row` (up / down: the neighbouring rows or a zero row) into out[0, width);
// out[-1] and out[width] are left 0 by the caller.
void border_row(const int32_t* row, const int32_t* up, const int32_t* down, int width, int32_t* out) {
  if (width == 1) {
    out[0] = border_id(row[0], up[0], down[0], 0, 0);
    return;
  }
  out[0] = border_id(row[0], up[0], down[0], 0, row[1]);
  int x = 1;
  for (; x + kLanes <= width - 1; x += kLanes)
    store_lanes(border_id(I32::load(row + x), I32::load(up + x), I32::load(down + x), I32::load(row + x - 1),
                          I32::load(row + x + 1)),
                out + x);
  for (; x < width - 1; ++x) out[x] = border_id(row[x], up[x], down[x], row[x - 1], row[x + 1]);
  out[width - 1] = border_id(row[width - 1], up[width - 1], down[width - 1], row[width - 2], 0);
}

// Count the border pixels of the middle row by weight class (b: border ids of rows y-1, y, y+1,
// each with a 0 at index -1 and width).
void count_border(const int32_t* bu, const int32_t* b, const int32_t* bd, int width, int64_t* perimeter) {
  int x = 0;
  while (x < width) {
    x += first_not_equal(b + x, width - x, 0);
    if (x >= width) break;
    const int32_t s = b[x];
    const int n4 = (bu[x] == s) + (bd[x] == s) + (b[x - 1] == s) + (b[x + 1] == s);
    const int nd = (bu[x - 1] == s) + (bu[x + 1] == s) + (bd[x - 1] == s) + (bd[x + 1] == s);
    const int cls = perimeter_class(n4, nd);
    if (cls >= 0) ++perimeter[static_cast<int64_t>(s) * kPerimeterClasses + cls];
    ++x;
  }
}

void add_run(int32_t s, int y, int x0, int x1, ShapeSums& sums) {
  unsigned __int128 p[4];
  run_power_sums(static_cast<uint64_t>(x0), static_cast<uint64_t>(x1), p);
  uint64_t* m = sums.moments + static_cast<int64_t>(s) * kMomentWords;
  for (int k = 0; k < kMoments; ++k) add_words(m + 2 * k, run_moment(p, static_cast<uint64_t>(y), k));
  int32_t* box = sums.box + 4 * static_cast<int64_t>(s);
  if (y < box[0]) box[0] = y;
  if (x0 < box[1]) box[1] = x0;
  if (y > box[2]) box[2] = y;
  if (x1 - 1 > box[3]) box[3] = x1 - 1;
}

void accumulate_rows(const int32_t* ids, int height, int width, int y0, int y1, ShapeSums sums, int32_t* work) {
  const int64_t stride = width + 2;
  int32_t* zero = work;  // a row of zeros: the ids above the first and below the last row
  int32_t* ring[3] = {work + stride + 1, work + 2 * stride + 1, work + 3 * stride + 1};
  for (int64_t i = 0; i < 4 * stride; ++i) work[i] = 0;
  auto row = [&](int y) { return y < 0 || y >= height ? zero + 1 : ids + static_cast<int64_t>(y) * width; };
  auto border = [&](int y, int32_t* out) {
    if (y < 0 || y >= height) {
      for (int x = 0; x < width; ++x) out[x] = 0;
    } else {
      border_row(row(y), row(y - 1), row(y + 1), width, out);
    }
  };
  border(y0 - 1, ring[0]);
  border(y0, ring[1]);
  for (int y = y0; y < y1; ++y) {
    border(y + 1, ring[2]);
    count_border(ring[0], ring[1], ring[2], width, sums.perimeter);
    const int32_t* r = row(y);
    for (int x = 0; x < width;) {
      const int32_t s = r[x];
      const int e = x + 1 + first_not_equal(r + x + 1, width - x - 1, s);
      if (s != 0) add_run(s, y, x, e, sums);
      x = e;
    }
    int32_t* t = ring[0];
    ring[0] = ring[1], ring[1] = ring[2], ring[2] = t;
  }
}

void extent_rows(const int32_t* ids, int width, int y0, int y1, const int32_t* box, const int64_t* row_offset,
                 int32_t* extents) {
  for (int y = y0; y < y1; ++y) {
    const int32_t* r = ids + static_cast<int64_t>(y) * width;
    for (int x = 0; x < width;) {
      const int32_t s = r[x];
      const int e = x + 1 + first_not_equal(r + x + 1, width - x - 1, s);
      if (s != 0) {
        int32_t* ext = extents + 2 * (row_offset[s] + y - box[4 * static_cast<int64_t>(s)]);
        if (x < ext[0]) ext[0] = x;
        if (e - 1 > ext[1]) ext[1] = e - 1;
      }
      x = e;
    }
  }
}

}  // namespace

extern const ShapeKernels shape = {&accumulate_rows, &extent_rows};

}  // namespace vision_ext::cpu::VE_CPU_NS
