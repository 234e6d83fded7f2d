// Argument checks, label -> slot mapping and the host finish shared by the CPU and CUDA shape ops,
// so both devices accept the same inputs, word their errors alike and give the same bits: the
// devices only accumulate exact integer sums (vision_ext/shape.h); the convex hulls and every
// float64 feature are computed here, on the host, from those sums.
#pragma once
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <tuple>
#include <utility>
#include <vector>

#include "vision_ext/shape.h"

namespace vision_ext {
namespace shape {

// Region ids of a batch of label planes: slot 0 is the background, every (image, label) pair that may
// occur has its own slot.
struct IdPlanes {
  at::Tensor ids;   // (B, H, W) int32, contiguous, on the labels' device
  int64_t b = 0, h = 0, w = 0;
  int64_t slots = 1;
  at::Tensor keys;  // (slots,) int64 on the CPU: image * span + label of each slot
  int64_t span = 1; // largest label + 1
};

// Above this many slots per pixel the labels are compacted first (a sort) instead of indexing the
// per-thread sums by label value: label values far above the region count would cost memory.
constexpr int64_t kDenseSlotsFloor = int64_t(1) << 16;

// D (the device backend) supplies label_range(lab) -> (min, max) and int32_labels(lab) -> a
// contiguous int32 copy (or lab itself): on the CPU plain loops, which never wait at a thread barrier.
template <typename D>
IdPlanes prepare_ids(const at::Tensor& labels, const char* op) {
  TORCH_CHECK(labels.dim() == 2 || labels.dim() == 3, op, ": labels must have shape (H, W) or (B, H, W), got ",
              labels.sizes());
  const auto st = labels.scalar_type();
  TORCH_CHECK(st == at::kBool || st == at::kByte || st == at::kChar || st == at::kShort || st == at::kInt ||
                  st == at::kLong,
              op, ": labels dtype must be bool or an integer type (0 = background, 1, 2, ... = regions), got ", st,
              "; pass a float mask as mask > 0.5, or float labels as labels.round().long()");
  IdPlanes out;
  out.h = labels.size(-2);
  out.w = labels.size(-1);
  out.b = labels.dim() == 3 ? labels.size(0) : 1;
  TORCH_CHECK(out.h < kMaxSide && out.w < kMaxSide && out.h * out.w < (int64_t(1) << 31), op,
              ": each label plane must be smaller than 2^20 pixels a side and 2^31 pixels in all, got ", labels.sizes());
  at::Tensor lab = labels.reshape({out.b, out.h, out.w});
  if (st == at::kBool) lab = lab.to(at::kByte);
  const auto cpu_long = at::TensorOptions().dtype(at::kLong);
  if (lab.numel() == 0) {
    out.ids = at::zeros({out.b, out.h, out.w}, labels.options().dtype(at::kInt));
    out.keys = at::zeros({1}, cpu_long);
    return out;
  }
  const auto range = D::label_range(lab);
  const int64_t lo = range.first, hi = range.second;
  TORCH_CHECK(lo >= 0, op, ": labels must be >= 0 (0 = background), got a minimum of ", lo,
              "; relabel with skimage.measure.label(mask) or shift the labels");
  out.span = hi + 1;
  const int64_t dense = out.b * hi + 1;
  if (dense <= std::max(kDenseSlotsFloor, lab.numel() / 16)) {
    // slot = image * hi + label: the label value itself for one image, no sort.
    if (out.b == 1) {
      out.ids = D::int32_labels(lab);
    } else {
      at::Tensor li = lab.to(at::kInt);
      at::Tensor offs = at::arange(out.b, li.options()).mul_(static_cast<int32_t>(hi)).view({out.b, 1, 1});
      out.ids = at::where(li > 0, li + offs, at::zeros_like(li)).contiguous();
    }
    out.slots = dense;
    at::Tensor s = at::arange(dense, cpu_long);
    at::Tensor sm1 = (s - 1).clamp_min(0);
    out.keys = at::where(s > 0, sm1.div(std::max<int64_t>(hi, 1), "floor") * out.span + sm1.remainder(std::max<int64_t>(hi, 1)) + 1,
                         at::zeros_like(s));
    return out;
  }
  // Sparse label values: compact the keys image * span + label with one sorted unique.
  at::Tensor ll = lab.to(at::kLong);
  at::Tensor offs = at::arange(out.b, ll.options()).mul_(out.span).view({out.b, 1, 1});
  at::Tensor key = at::where(ll > 0, ll + offs, at::zeros_like(ll)).reshape({-1});
  auto uq = at::_unique2(key, /*sorted=*/true, /*return_inverse=*/true, /*return_counts=*/false);
  at::Tensor keys = std::get<0>(uq).cpu();
  at::Tensor inv = std::get<1>(uq);
  if (keys[0].item<int64_t>() != 0) {  // no background pixel at all: slot 0 stays empty
    keys = at::cat({at::zeros({1}, cpu_long), keys});
    inv = inv + 1;
  }
  out.keys = keys.contiguous();
  out.slots = keys.numel();
  out.ids = inv.to(at::kInt).view({out.b, out.h, out.w}).contiguous();
  return out;
}

// The exact per-slot sums a device backend accumulates (any device; the finish copies them to the host).
struct Sums {
  at::Tensor moments;    // (slots, kMomentWords) int64: 128-bit raw moments as (low, high) words
  at::Tensor perimeter;  // (slots, kPerimeterClasses) int64
  at::Tensor box;        // (slots, 4) int32: min row, min col, max row, max col (inclusive)
};

inline int64_t floor_div(int64_t a, int64_t b) {  // b > 0
  const int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

using Point = std::pair<int64_t, int64_t>;  // (X, Y) = twice (col, row): pixel edge midpoints are integers

inline int64_t cross(const Point& o, const Point& a, const Point& b) {
  return (a.first - o.first) * (b.second - o.second) - (a.second - o.second) * (b.first - o.first);
}

// Convex hull of a region given its leftmost / rightmost column on each row of its box (rows
// without pixels hold INT32_MAX, -1). Like skimage.morphology.convex_hull_image, every pixel
// stands for the midpoints of its four edges (a diamond); a row's inner pixels add nothing beyond
// its two extreme diamonds. Andrew's monotone chain, collinear points dropped; in doubled units, clockwise on screen (rows down).
inline std::vector<Point> region_hull(const int32_t* ext, int64_t row0, int64_t rows) {
  std::vector<Point> pts;
  pts.reserve(static_cast<size_t>(6 * rows));
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t lo = ext[2 * i], hi = ext[2 * i + 1];
    if (lo > hi) continue;
    const int64_t y = 2 * (row0 + i);
    for (int64_t c : {lo, hi}) {
      pts.emplace_back(2 * c, y - 1);
      pts.emplace_back(2 * c, y + 1);
    }
    pts.emplace_back(2 * lo - 1, y);
    pts.emplace_back(2 * hi + 1, y);
  }
  std::sort(pts.begin(), pts.end());
  pts.erase(std::unique(pts.begin(), pts.end()), pts.end());
  std::vector<Point> hull(2 * pts.size());
  size_t k = 0;
  for (size_t i = 0; i < pts.size(); ++i) {
    while (k >= 2 && cross(hull[k - 2], hull[k - 1], pts[i]) <= 0) --k;
    hull[k++] = pts[i];
  }
  for (size_t i = pts.size() - 1, t = k + 1; i-- > 0;) {
    while (k >= t && cross(hull[k - 2], hull[k - 1], pts[i]) <= 0) --k;
    hull[k++] = pts[i];
  }
  hull.resize(k - 1);
  return hull;
}

// Pixels whose centre lies in the closed hull polygon (skimage's convex hull image counts vertices
// and edge points as inside), rows row0 .. row1 inclusive. Exact: each row's crossing columns are
// rationals of the doubled integer coordinates, rounded inwards with integer division.
inline int64_t hull_pixels(const std::vector<Point>& hull, int64_t row0, int64_t row1) {
  int64_t total = 0;
  const size_t n = hull.size();
  for (int64_t r = row0; r <= row1; ++r) {
    const int64_t y = 2 * r;
    int64_t lo = INT64_MAX, hi = INT64_MIN;  // first / last pixel column inside
    auto take = [&](int64_t num, int64_t den) {  // the crossing at X = num / den (den > 0): col = X / 2
      lo = std::min(lo, -floor_div(-num, 2 * den));
      hi = std::max(hi, floor_div(num, 2 * den));
    };
    for (size_t i = 0; i < n; ++i) {
      const Point& p = hull[i];
      const Point& q = hull[(i + 1) % n];
      if (y < std::min(p.second, q.second) || y > std::max(p.second, q.second)) continue;
      if (p.second == q.second) {
        take(p.first, 1);
        take(q.first, 1);
        continue;
      }
      int64_t den = q.second - p.second;
      int64_t num = p.first * den + (q.first - p.first) * (y - p.second);
      if (den < 0) den = -den, num = -num;
      take(num, den);
    }
    if (hi >= lo) total += hi - lo + 1;
  }
  return total;
}

using ShapeResult = std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>;

// ---- The op over a device backend D, which supplies ----
//   D::Guard(device)                                   device guard (a no-op on the CPU)
//   D::label_range, D::int32_labels                    see prepare_ids
//   D::sums(ids) -> Sums                               exact sums of every slot
//   D::extents(ids, box, row_offset, rows) -> Tensor   (rows, 2) int32 leftmost / rightmost column per
//                                                      region row (box, row_offset on the ids' device)
template <typename D>
ShapeResult shape_features_op(const at::Tensor& labels) {
  const char* op = "shape_features";
  typename D::Guard guard(labels.device());
  IdPlanes ids = prepare_ids<D>(labels, op);
  const auto cpu_long = at::TensorOptions().dtype(at::kLong);
  const auto dev = labels.device();
  Sums sums = D::sums(ids);
  at::Tensor mom = sums.moments.cpu().contiguous(), per = sums.perimeter.cpu().contiguous(),
             box = sums.box.cpu().contiguous();
  const uint64_t* pm = reinterpret_cast<const uint64_t*>(mom.data_ptr<int64_t>());
  const int32_t* pb = box.data_ptr<int32_t>();
  std::vector<int64_t> present;
  at::Tensor row_offset = at::zeros({ids.slots}, cpu_long);
  int64_t* ro = row_offset.data_ptr<int64_t>();
  int64_t rows = 0;
  for (int64_t s = 1; s < ids.slots; ++s) {
    if ((pm[s * kMomentWords] | pm[s * kMomentWords + 1]) == 0) continue;
    present.push_back(s);
    ro[s] = rows;
    rows += pb[4 * s + 2] - pb[4 * s] + 1;
  }
  const int64_t nr = static_cast<int64_t>(present.size());
  at::Tensor ext = D::extents(ids, sums.box, row_offset.to(dev), rows).cpu().contiguous();
  const int32_t* pe = ext.data_ptr<int32_t>();
  const int64_t* pp = per.data_ptr<int64_t>();
  const int64_t* pk = ids.keys.data_ptr<int64_t>();

  at::Tensor regions = at::empty({nr, 2}, cpu_long), bbox = at::empty({nr, 4}, cpu_long);
  at::Tensor values = at::empty({nr, kColumns}, cpu_long.dtype(at::kDouble));
  std::vector<std::vector<Point>> hulls(static_cast<size_t>(nr));
  int64_t* preg = regions.data_ptr<int64_t>();
  int64_t* pbox = bbox.data_ptr<int64_t>();
  double* pv = values.data_ptr<double>();
  at::parallel_for(0, nr, 256, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t s = present[i];
      const int32_t* b = pb + 4 * s;
      unsigned __int128 raw[kMoments];
      for (int k = 0; k < kMoments; ++k) raw[k] = from_words(pm + s * kMomentWords + 2 * k);
      hulls[i] = region_hull(pe + 2 * ro[s], b[0], b[2] - b[0] + 1);
      region_features(raw, pp + s * kPerimeterClasses, b, hull_pixels(hulls[i], b[0], b[2]), pv + i * kColumns);
      preg[2 * i] = pk[s] / ids.span;
      preg[2 * i + 1] = pk[s] % ids.span;
      pbox[4 * i] = b[0], pbox[4 * i + 1] = b[1], pbox[4 * i + 2] = b[2] + 1, pbox[4 * i + 3] = b[3] + 1;
    }
  });
  at::Tensor offsets = at::empty({nr + 1}, cpu_long);
  int64_t* po = offsets.data_ptr<int64_t>();
  po[0] = 0;
  for (int64_t i = 0; i < nr; ++i) po[i + 1] = po[i] + static_cast<int64_t>(hulls[i].size());
  at::Tensor hull = at::empty({po[nr], 2}, cpu_long.dtype(at::kDouble));
  double* ph = hull.data_ptr<double>();
  for (int64_t i = 0; i < nr; ++i)
    for (size_t j = 0; j < hulls[i].size(); ++j) {
      ph[2 * (po[i] + j)] = 0.5 * static_cast<double>(hulls[i][j].second);  // row
      ph[2 * (po[i] + j) + 1] = 0.5 * static_cast<double>(hulls[i][j].first);  // col
    }
  return {regions.to(dev), bbox.to(dev), values.to(dev), hull.to(dev), offsets.to(dev)};
}

template <typename D>
void register_shape_ops(torch::Library& m) {
  m.impl("shape_features", &shape_features_op<D>);
}

}  // namespace shape
}  // namespace vision_ext
