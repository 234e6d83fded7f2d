// Per-cell maths of marching squares (find_contours), shared by the CPU levels
// (csrc/ops/cpu/simd/contours_simd.cpp) and CUDA (csrc/kernels/cuda/contours.cu). The rules are
// scikit-image's skimage.measure.find_contours (docs/EXACTNESS.md, "find_contours"):
// - a pixel is "high" when value > level (strictly); a cell is the 2x2 square with upper-left pixel
//   (r, c), its case the bits ul | ur << 1 | ll << 2 | lr << 3 of the high pixels;
// - a cell with a NaN or masked-out pixel emits nothing; cases 0 and 15 emit nothing, the saddles 6
//   and 9 emit two segments (which two: fully_connected), every other case one;
// - a crossing on the edge from pixel a to pixel b sits at fraction (level - a) / (b - a) from a
//   (0 when a == b), always computed from the upper / left pixel of the edge, so the two cells that
//   share an edge produce the same double;
// - segments run with the low pixels on their left (tail -> head).
//
// Point keys: the assembly links segments by exact point equality. A crossing lies strictly inside
// its edge unless it lands exactly on a pixel (fraction 0 or 1, or a rounding of c + f to an
// integer), so the point's identity is the edge's id, or the pixel's id when both coordinates are
// integers. Equal keys <=> equal points; the key space is [0, contour_key_count(h, w)).
#pragma once
#include <cstdint>

#include "vision_ext/macros.h"

namespace vision_ext {
namespace contours {

// One directed segment: from (y0, x0) to (y1, x1) (row, column), with the endpoints' keys.
struct Segment {
  double y0, x0, y1, x1;
  int64_t k0, k1;
};

// Pixel classification byte: bit 0 = value > level, bit 1 = no data (NaN or masked out).
constexpr uint8_t kHigh = 1;
constexpr uint8_t kNoData = 2;

VE_HD uint8_t pixel_bits(double v, double level, uint8_t mask_on) {
  return static_cast<uint8_t>((v > level ? kHigh : 0) | ((v != v || !mask_on) ? kNoData : 0));
}

// The cell's case 1..14 from its four pixel bytes, or 0 when it emits nothing (cases 0 and 15,
// and cells touching no-data pixels).
VE_HD uint8_t cell_code(uint8_t ul, uint8_t ur, uint8_t ll, uint8_t lr) {
  const uint8_t c = static_cast<uint8_t>((ul & 1) | ((ur & 1) << 1) | ((ll & 1) << 2) | ((lr & 1) << 3));
  const bool skip = ((ul | ur | ll | lr) & kNoData) != 0 || c == 15;
  return skip ? uint8_t(0) : c;
}

// Segments a cell of that code emits: 0, 1, or 2 for the saddles.
VE_HD int segments_of_code(uint8_t code) { return (code != 0) + (code == 6 || code == 9); }

VE_HD double edge_fraction(double from, double to, double level) {
  return to == from ? 0.0 : (level - from) / (to - from);
}

VE_HD int64_t contour_key_count(int64_t h, int64_t w) { return h * w + h * (w - 1) + (h - 1) * w; }

// A point on the horizontal edge (r, c)-(r, c + 1), x = c + f.
VE_HD int64_t horizontal_key(int64_t r, int64_t c, double x, int64_t h, int64_t w) {
  if (x == static_cast<double>(c)) return r * w + c;
  if (x == static_cast<double>(c + 1)) return r * w + c + 1;
  return h * w + r * (w - 1) + c;
}

// A point on the vertical edge (r, c)-(r + 1, c), y = r + f.
VE_HD int64_t vertical_key(int64_t r, int64_t c, double y, int64_t h, int64_t w) {
  if (y == static_cast<double>(r)) return r * w + c;
  if (y == static_cast<double>(r + 1)) return (r + 1) * w + c;
  return h * w + h * (w - 1) + r * w + c;
}

struct CellPoint {
  double y, x;
  int64_t key;
};

// The segments of cell (r, c) (code from cell_code, non-zero) into out[0..segments_of_code(code)).
// fully_connected_high: the high pixels of a saddle are 8-connected (skimage's fully_connected="high").
VE_HD void cell_segments(uint8_t code, int64_t r, int64_t c, double ul, double ur, double ll, double lr, double level,
                         bool fully_connected_high, int64_t h, int64_t w, Segment* out) {
  const double rd = static_cast<double>(r), cd = static_cast<double>(c);
  const double tx = cd + edge_fraction(ul, ur, level), bx = cd + edge_fraction(ll, lr, level);
  const double ly = rd + edge_fraction(ul, ll, level), ry = rd + edge_fraction(ur, lr, level);
  const CellPoint top{rd, tx, horizontal_key(r, c, tx, h, w)};
  const CellPoint bottom{rd + 1.0, bx, horizontal_key(r + 1, c, bx, h, w)};
  const CellPoint left{ly, cd, vertical_key(r, c, ly, h, w)};
  const CellPoint right{ry, cd + 1.0, vertical_key(r, c + 1, ry, h, w)};
  auto put = [&](int i, const CellPoint& a, const CellPoint& b) { out[i] = Segment{a.y, a.x, b.y, b.x, a.key, b.key}; };
  switch (code) {
    case 1: put(0, top, left); break;
    case 2: put(0, right, top); break;
    case 3: put(0, right, left); break;
    case 4: put(0, left, bottom); break;
    case 5: put(0, top, bottom); break;
    case 6:
      if (fully_connected_high) put(0, left, top), put(1, right, bottom);
      else put(0, right, top), put(1, left, bottom);
      break;
    case 7: put(0, right, bottom); break;
    case 8: put(0, bottom, right); break;
    case 9:
      if (fully_connected_high) put(0, top, right), put(1, bottom, left);
      else put(0, top, left), put(1, bottom, right);
      break;
    case 10: put(0, bottom, top); break;
    case 11: put(0, bottom, left); break;
    case 12: put(0, left, right); break;
    case 13: put(0, top, right); break;
    default: put(0, left, top); break;  // 14
  }
}

}  // namespace contours
}  // namespace vision_ext
