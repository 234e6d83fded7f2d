// Argument checks, levels and the assembly of segments into contours for find_contours, shared by
// the CPU and CUDA backends: both devices accept the same inputs, and both hand their segments
// (row-major cell order, vision_ext/contours.h) to the one host linker below, so they return the
// same contours in the same order.
#pragma once
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include "vision_ext/contours.h"

namespace vision_ext {
namespace contours {

// The image as B contiguous float64 planes (the precision scikit-image computes in), its mask
// as uint8 planes (undefined when none), and the level of each image.
struct Planes {
  at::Tensor values, mask;
  std::vector<double> levels;
  int64_t b, h, w;
};

// float32 points for float32 / float16 / bfloat16 images, float64 (skimage's) for the rest.
inline at::ScalarType output_dtype(at::ScalarType st) {
  return st == at::kFloat || st == at::kHalf || st == at::kBFloat16 ? at::kFloat : at::kDouble;
}

// skimage's level=None: (nanmin + nanmax) / 2, summed in the image's own floating dtype as numpy
// does (float32 images get a float32 level); integer and bool images in float64 (numpy's uint8
// sum would wrap around at 256: documented in docs/EXACTNESS.md). values: the float64 planes.
// The NaN-skipping min and max of n float64 values on the host (a backend's SIMD kernel).
using HostMinMax = void (*)(const double* values, int64_t n, double* lo, double* hi);

inline std::vector<double> default_levels(const at::Tensor& planes, const at::Tensor& values, HostMinMax min_max) {
  const auto st = planes.scalar_type();
  std::vector<double> out(values.size(0));
  if (min_max && values.is_cpu() && st != at::kHalf && st != at::kBFloat16) {
    const int64_t hw = values.size(1) * values.size(2);
    for (int64_t n = 0; n < values.size(0); ++n) {
      double lo, hi;
      min_max(values.data_ptr<double>() + n * hw, hw, &lo, &hi);
      out[n] = st == at::kFloat ? static_cast<double>((static_cast<float>(lo) + static_cast<float>(hi)) / 2.0f)
                                : (lo + hi) / 2.0;
    }
    return out;
  }
  at::Tensor x = planes.flatten(1);
  if (!at::isFloatingType(st)) x = x.to(at::kDouble);
  const at::Tensor nan = at::isnan(x);
  const at::Tensor lo = at::where(nan, std::numeric_limits<double>::infinity(), x).amin(1);
  const at::Tensor hi = at::where(nan, -std::numeric_limits<double>::infinity(), x).amax(1);
  const at::Tensor lv = ((lo + hi) / 2).to(at::kDouble).cpu();
  std::copy(lv.data_ptr<double>(), lv.data_ptr<double>() + lv.numel(), out.begin());
  return out;
}

// The planes as float64. On the CPU one plain loop on the calling thread: torch's conversion would
// wake its thread pool for a sub-millisecond copy (and wait for it on a loaded machine).
inline at::Tensor as_float64(const at::Tensor& planes) {
  if (planes.scalar_type() == at::kDouble || !planes.is_cpu()) return planes.to(at::kDouble);
  at::Tensor out = at::empty(planes.sizes(), planes.options().dtype(at::kDouble));
  double* d = out.data_ptr<double>();
  const int64_t n = planes.numel();
  AT_DISPATCH_ALL_TYPES_AND3(at::kBool, at::kHalf, at::kBFloat16, planes.scalar_type(), "find_contours", [&] {
    const scalar_t* s = planes.data_ptr<scalar_t>();
    for (int64_t i = 0; i < n; ++i) d[i] = static_cast<double>(s[i]);
  });
  return out;
}

// A host vector as a new tensor of `dtype` on `device` (a plain loop on the CPU, as above).
template <typename T>
at::Tensor from_host(const std::vector<T>& v, int64_t rows, int64_t cols, at::ScalarType dtype, at::Device device) {
  const auto cpu = at::TensorOptions().device(at::kCPU);
  at::Tensor out = cols ? at::empty({rows, cols}, cpu.dtype(dtype)) : at::empty({rows}, cpu.dtype(dtype));
  AT_DISPATCH_FLOATING_TYPES_AND(at::kLong, dtype, "find_contours", [&] {
    scalar_t* o = out.data_ptr<scalar_t>();
    for (size_t i = 0; i < v.size(); ++i) o[i] = static_cast<scalar_t>(v[i]);
  });
  return device.is_cpu() ? out : out.to(device);
}

// min_max: the backend's host kernel for level=None (nullptr: torch's reductions).
inline Planes as_planes(const at::Tensor& image, std::optional<double> level, const std::optional<at::Tensor>& mask,
                        HostMinMax min_max) {
  const int64_t d = image.dim();
  TORCH_CHECK(d == 2 || d == 3, "find_contours: image must have shape (H, W) or (B, H, W), got ", image.sizes());
  const auto st = image.scalar_type();
  TORCH_CHECK(!at::isComplexType(st), "find_contours: image must be real (float, integer or bool), got ", st,
              "; take .real, .abs() or .angle() first");
  const int64_t h = image.size(d - 2), w = image.size(d - 1), b = d == 3 ? image.size(0) : 1;
  TORCH_CHECK(h < (int64_t(1) << 30) && w < (int64_t(1) << 30), "find_contours: image height and width must be < 2^30, got ",
              image.sizes());
  if (level) {
    TORCH_CHECK(!std::isnan(*level), "find_contours: level must be a number, got NaN; pass level=None for "
                "(max + min) / 2 of each image");
  }
  Planes p{};
  p.b = b, p.h = h, p.w = w;
  const at::Tensor planes = image.reshape({b, h, w});
  if (mask) {
    const at::Tensor& m = *mask;
    TORCH_CHECK(m.scalar_type() == at::kBool, "find_contours: mask must be a bool tensor (True where contours are "
                "wanted), got ", m.scalar_type(), "; convert with mask.bool() or mask != 0");
    TORCH_CHECK(m.device() == image.device(), "find_contours: mask must be on the image's device (", image.device(),
                "), got ", m.device());
    TORCH_CHECK(m.sizes() == image.sizes() || (d == 3 && m.dim() == 2 && m.size(0) == h && m.size(1) == w),
                "find_contours: mask must have the image's shape ", image.sizes(),
                (d == 3 ? " (or (H, W), shared by the batch)" : ""), ", got ", m.sizes());
    p.mask = (m.dim() == 2 ? m.unsqueeze(0) : m).expand({b, h, w}).contiguous().view(at::kByte);  // bool: 0/1 bytes
  }
  p.values = as_float64(planes.contiguous());
  if (level) p.levels.assign(b, *level);
  else if (b > 0 && h > 0 && w > 0) p.levels = default_levels(planes, p.values, min_max);
  else p.levels.assign(b, 0.0);
  return p;
}

// ---- Assembly: scikit-image's _assemble_contours, keyed by point keys instead of a dict of
// point tuples (equal keys <=> equal points, vision_ext/contours.h). Segments are visited in the
// order they were emitted; a contour is kept by the number of the segment that created it. ----

// Contours are singly linked lists of point nodes in one pool, so every step of the assembly
// (append, prepend, join two contours, close one) is O(1); the point -> contour maps are flat
// arrays over the key space, kept per thread across calls and cleared only where they were set.
class Linker {
 public:
  // starts / ends: key_count entries, all -1 (and all -1 again when the linker is done with them).
  Linker(std::vector<int32_t>& starts, std::vector<int32_t>& ends, size_t segments) : starts_(starts), ends_(ends) {
    nodes_.reserve(2 * segments);
    chains_.reserve(segments / 4 + 16);
  }
  ~Linker() {
    for (const Chain& c : chains_)  // a contour's only map entries are at its two ends
      if (c.alive) starts_[nodes_[c.first].key] = -1, ends_[nodes_[c.last].key] = -1;
  }

  void add(const Segment& s) {
    if (s.k0 == s.k1) return;  // degenerate: a pixel exactly at the level; its neighbours pick it up
    const int32_t tail = take(starts_, s.k1), head = take(ends_, s.k0);
    if (tail >= 0 && head >= 0) {
      Chain& h = chains_[head];
      if (tail == head) {  // closes a contour
        link_after(h.last, node(s.y1, s.x1, s.k1));
        h.last = static_cast<int32_t>(nodes_.size()) - 1;
      } else if (tail > head) {  // keep the older (head), append tail
        Chain& t = chains_[tail];
        link_after(h.last, t.first);
        h.last = t.last;
        t.alive = false;
        starts_[nodes_[h.first].key] = head;
        ends_[nodes_[h.last].key] = head;
      } else {  // keep the older (tail), prepend head
        Chain& t = chains_[tail];
        link_after(h.last, t.first);
        starts_[nodes_[h.first].key] = -1;
        t.first = h.first;
        h.alive = false;
        starts_[nodes_[t.first].key] = tail;
        ends_[nodes_[t.last].key] = tail;
      }
    } else if (tail < 0 && head < 0) {
      const int32_t id = static_cast<int32_t>(chains_.size());
      const int32_t a = node(s.y0, s.x0, s.k0), b = node(s.y1, s.x1, s.k1);
      link_after(a, b);
      chains_.push_back(Chain{a, b, true});
      starts_[s.k0] = id;
      ends_[s.k1] = id;
    } else if (head < 0) {  // the segment ends where `tail` starts
      Chain& t = chains_[tail];
      const int32_t a = node(s.y0, s.x0, s.k0);
      link_after(a, t.first);
      t.first = a;
      starts_[s.k0] = tail;
    } else {  // the segment starts where `head` ends
      Chain& h = chains_[head];
      const int32_t b = node(s.y1, s.x1, s.k1);
      link_after(h.last, b);
      h.last = b;
      ends_[s.k1] = head;
    }
  }

  // Appends the contours (creation order) as (y, x) pairs to points, and each one's end offset
  // (in points) to ends; reversed: positive_orientation="high".
  void write(bool reversed, std::vector<double>& points, std::vector<int64_t>& ends) const {
    for (const Chain& c : chains_) {
      if (!c.alive) continue;
      const size_t begin = points.size();
      for (int32_t i = c.first;; i = nodes_[i].next) {
        points.push_back(nodes_[i].y), points.push_back(nodes_[i].x);
        if (i == c.last) break;
      }
      if (reversed)  // reverse the (y, x) pairs in place
        for (size_t a = begin, b = points.size() - 2; a < b; a += 2, b -= 2)
          std::swap(points[a], points[b]), std::swap(points[a + 1], points[b + 1]);
      ends.push_back(static_cast<int64_t>(points.size() / 2));
    }
  }

 private:
  struct Node {
    double y, x;
    int64_t key;
    int32_t next;
  };
  struct Chain {
    int32_t first, last;
    bool alive;
  };
  int32_t node(double y, double x, int64_t key) {
    nodes_.push_back(Node{y, x, key, -1});
    return static_cast<int32_t>(nodes_.size()) - 1;
  }
  void link_after(int32_t a, int32_t b) { nodes_[a].next = b; }
  static int32_t take(std::vector<int32_t>& map, int64_t key) {
    const int32_t v = map[key];
    map[key] = -1;
    return v;
  }
  std::vector<int32_t>& starts_;
  std::vector<int32_t>& ends_;
  std::vector<Node> nodes_;
  std::vector<Chain> chains_;
};

// The linker's key maps: this thread's, kept across calls, for images up to kCachedKeys keys
// (about 1400 x 1400 pixels, 2 x 24 MiB); larger images allocate their own.
constexpr int64_t kCachedKeys = int64_t(6) << 20;

struct KeyMaps {
  std::vector<int32_t> own_starts, own_ends;
  std::vector<int32_t>* starts;
  std::vector<int32_t>* ends;
  explicit KeyMaps(int64_t key_count) {
    thread_local std::vector<int32_t> cached_starts, cached_ends;
    if (key_count <= kCachedKeys) {
      if (static_cast<int64_t>(cached_starts.size()) < key_count)
        cached_starts.resize(key_count, -1), cached_ends.resize(key_count, -1);
      starts = &cached_starts, ends = &cached_ends;
    } else {
      own_starts.assign(key_count, -1), own_ends.assign(key_count, -1);
      starts = &own_starts, ends = &own_ends;
    }
  }
};

// ---- The op over a device backend D, which supplies ----
//   D::Guard(device)
//   D::host_min_max, a HostMinMax or nullptr
//   D::segments(planes, n, fully_connected_high) -> std::vector<Segment> of image n on the host,
//     in row-major cell order (vision_ext/contours.h cell_segments)
// Returns (points (P, 2) (row, col), contour_offsets (K + 1) int64, image_offsets (B + 1) int64):
// contour k of the batch is points[contour_offsets[k] : contour_offsets[k + 1]], and image n owns
// contours image_offsets[n] .. image_offsets[n + 1] - 1.
template <typename D>
std::tuple<at::Tensor, at::Tensor, at::Tensor> find_contours_op(const at::Tensor& image, std::optional<double> level,
                                                                bool fully_connected_high,
                                                                bool positive_orientation_high,
                                                                const std::optional<at::Tensor>& mask) {
  Planes p = as_planes(image, level, mask, D::host_min_max);
  typename D::Guard guard(image.device());
  std::vector<double> points;
  std::vector<int64_t> contour_ends{0}, image_ends{0};
  if (p.h >= 2 && p.w >= 2) {
    const int64_t keys = contour_key_count(p.h, p.w);
    for (int64_t n = 0; n < p.b; ++n) {
      const std::vector<Segment> segs = D::segments(p, n, fully_connected_high);
      if (!segs.empty()) {
        KeyMaps maps(keys);
        Linker linker(*maps.starts, *maps.ends, segs.size());
        for (const Segment& s : segs) linker.add(s);
        linker.write(positive_orientation_high, points, contour_ends);
      }
      image_ends.push_back(static_cast<int64_t>(contour_ends.size()) - 1);
    }
  } else {  // skimage refuses images under 2x2; they have no cells, hence no contours
    image_ends.assign(p.b + 1, 0);
  }
  const auto dev = image.device();
  return {from_host(points, static_cast<int64_t>(points.size() / 2), 2, output_dtype(image.scalar_type()), dev),
          from_host(contour_ends, static_cast<int64_t>(contour_ends.size()), 0, at::kLong, dev),
          from_host(image_ends, static_cast<int64_t>(image_ends.size()), 0, at::kLong, dev)};
}

template <typename D>
void register_contour_ops(torch::Library& m) {
  m.impl("find_contours", &find_contours_op<D>);
}

}  // namespace contours
}  // namespace vision_ext
