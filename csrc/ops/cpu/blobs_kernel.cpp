// CPU glue of the blob family (LoG, DoG, DoH). Each image's scale space is streamed: a scale's
// response is computed (LoG / DoG: column pass, then row pass; DoH: box sums on the integral
// image; on row tiles in parallel), and the scale
// below it is scanned for 3x3x3 maxima as soon as its upper neighbour exists, so at most three
// response planes (plus two filter planes) are alive per image, whatever the number of scales.
// Only candidates above the threshold known so far are kept (../blobs_common.h finishes them).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <vector>

#include "../blobs_common.h"
#include "work_sharing.h"
#include "simd/blobs_simd.h"
#include "vision_ext/blobs.h"

namespace vision_ext {
namespace blobs {
namespace {

using cpu::run_items;  // work sharing: items claimed one at a time (work_sharing.h)

// Below this many pixels a plane runs on one thread (a hand-off costs more than it saves).
constexpr int64_t kParallelPixels = 64 * 64;

std::vector<int32_t> reflect_map(int n, int r) {
  std::vector<int32_t> m(static_cast<size_t>(n) + 2 * r);
  for (int k = 0; k < n + 2 * r; ++k) m[k] = reflect_index(static_cast<long long>(k) - r, n);
  return m;
}

struct Tiles {
  int64_t rows, count;
  Tiles(int64_t h, bool parallel) {
    const int64_t threads = parallel ? std::max<int64_t>(1, at::get_num_threads()) : 1;
    rows = std::max<int64_t>(8, (h + 4 * threads - 1) / (4 * threads));
    count = (h + rows - 1) / rows;
  }
};

class PlaneScanner {
 public:
  PlaneScanner(const double* src, int h, int w, const ScaleSpace& s, Kind kind, bool parallel)
      : src_(src), h_(h), w_(w), hw_(static_cast<size_t>(h) * w), s_(s), kind_(kind), dog_(kind == Kind::dog),
        parallel_(parallel && hw_ >= kParallelPixels), tiles_(h, parallel_), k_(cpu::blobs_kernels()) {
    a_.resize(hw_);  // LoG / DoG: the column pass; DoH: the integral image
    if (kind != Kind::doh) b_.resize(dog_ ? 2 * hw_ : hw_);  // DoG: the previous and current Gaussian
    ring_.resize(3 * hw_);
    tile_lo_.resize(tiles_.count);
    tile_hi_.resize(tiles_.count);
    tile_found_.resize(tiles_.count);
  }

  PlaneScan run() {
    const int64_t scales = s_.scales();
    if (dog_) gaussian(0, nullptr, gauss(0), nullptr);
    if (kind_ == Kind::doh) k_.integral_image(src_, h_, w_, a_.data());
    for (int64_t i = 0; i < scales; ++i) {
      response(i, plane(i));
      if (i >= 1) maxima(i - 1, i >= 2 ? plane(i - 2) : nullptr, plane(i - 1), plane(i));
    }
    maxima(scales - 1, scales >= 2 ? plane(scales - 2) : nullptr, plane(scales - 1), nullptr);
    return std::move(scan_);
  }

 private:
  double* plane(int64_t i) { return ring_.data() + (i % 3) * hw_; }
  double* gauss(int64_t f) { return b_.data() + (f % 2) * hw_; }

  template <typename F>
  void for_tiles(const F& body) {
    run_items(tiles_.count, parallel_, [&](int64_t t) {
      const int y0 = static_cast<int>(t * tiles_.rows), y1 = static_cast<int>(std::min<int64_t>(h_, y0 + tiles_.rows));
      body(t, y0, y1);
    });
  }

  void column(int64_t f, double* b) {
    const int r = s_.radii[f];
    const std::vector<int32_t> ymap = reflect_map(h_, r);
    for_tiles([&](int64_t, int y0, int y1) {
      k_.column_pass(src_, h_, w_, y0, y1, ymap.data(), s_.smooth_taps(f), b ? s_.second_taps(f) : nullptr, r,
                     a_.data(), b);
    });
  }

  // Row pass of filter scale f; `out` is the response (LoG) or the DoG against the previous Gaussian.
  template <typename RowPass>
  void rows(int64_t f, double* out, const RowPass& pass) {
    const int r = s_.radii[f];
    const std::vector<int32_t> xmap = reflect_map(w_, r);
    const size_t scratch = cpu::blob_row_scratch_doubles(w_, r);
    for_tiles([&](int64_t t, int y0, int y1) {
      thread_local std::vector<double> buf;
      if (buf.size() < scratch) buf.resize(scratch);
      pass(y0, y1, xmap.data(), r, buf.data());
      if (out) k_.min_max(out + static_cast<size_t>(y0) * w_, static_cast<long long>(y1 - y0) * w_, &tile_lo_[t],
                          &tile_hi_[t]);
    });
    if (out) merge_ranges();
  }

  void gaussian(int64_t f, const double* previous, double* g, double* dog) {
    column(f, nullptr);
    const double norm = dog ? s_.norms[f - 1] : 0.0;
    rows(f, dog, [&](int y0, int y1, const int32_t* xmap, int r, double* buf) {
      const size_t o = static_cast<size_t>(y0) * w_;
      k_.row_gauss(a_.data() + o, w_, y1 - y0, xmap, s_.smooth_taps(f), r, previous ? previous + o : nullptr, norm,
                   g + o, dog ? dog + o : nullptr, buf);
    });
  }

  void response(int64_t i, double* out) {
    if (dog_) return gaussian(i + 1, gauss(i), gauss(i + 1), out);
    if (kind_ == Kind::doh) return hessian(i, out);
    column(i, b_.data());
    rows(i, out, [&](int y0, int y1, const int32_t* xmap, int r, double* buf) {
      const size_t o = static_cast<size_t>(y0) * w_;
      k_.row_log(a_.data() + o, b_.data() + o, w_, y1 - y0, xmap, s_.smooth_taps(i), s_.second_taps(i), r,
                 s_.norms[i], out + o, buf);
    });
  }

  void hessian(int64_t i, double* out) {
    const DohBoxes boxes = doh_boxes(s_.sigmas[i]);
    for_tiles([&](int64_t t, int y0, int y1) {
      for (int y = y0; y < y1; ++y) k_.row_doh(a_.data(), h_, w_, y, boxes, out + static_cast<size_t>(y) * w_);
      k_.min_max(out + static_cast<size_t>(y0) * w_, static_cast<long long>(y1 - y0) * w_, &tile_lo_[t], &tile_hi_[t]);
    });
    merge_ranges();
  }

  void merge_ranges() {
    for (int64_t t = 0; t < tiles_.count; ++t) {
      scan_.lo = std::min(scan_.lo, tile_lo_[t]);
      scan_.hi = std::max(scan_.hi, tile_hi_[t]);
    }
  }

  void maxima(int64_t i, const double* lo, const double* mid, const double* hi) {
    const int x0 = s_.exclude_x, x1 = w_ - s_.exclude_x;
    const int ylo = s_.exclude_y, yhi = h_ - s_.exclude_y;
    if (x0 >= x1 || ylo >= yhi) return;
    const double thr = s_.lower_bound(scan_.hi);
    const int64_t scales = s_.scales();
    for_tiles([&](int64_t t, int y0, int y1) {
      thread_local std::vector<int32_t> cols;
      if (cols.size() < static_cast<size_t>(w_)) cols.resize(w_);
      auto& found = tile_found_[t];
      found.clear();
      for (int y = std::max(y0, ylo); y < std::min(y1, yhi); ++y) {
        const int n = k_.row_maxima(lo, mid, hi, h_, w_, y, x0, x1, thr, cols.data());
        for (int j = 0; j < n; ++j) {
          const int64_t pix = static_cast<int64_t>(y) * w_ + cols[j];
          found.push_back({mid[pix], pix * scales + i});
        }
      }
    });
    for (const auto& found : tile_found_) scan_.candidates.insert(scan_.candidates.end(), found.begin(), found.end());
  }

  const double* src_;
  int h_, w_;
  size_t hw_;
  const ScaleSpace& s_;
  Kind kind_;
  bool dog_, parallel_;
  Tiles tiles_;
  const cpu::BlobKernels& k_;
  std::vector<double> a_, b_, ring_, tile_lo_, tile_hi_;
  std::vector<std::vector<Candidate>> tile_found_;
  PlaneScan scan_;
};

// The CPU backend of the ops in blobs_common.h.
struct Cpu {
  struct Guard {
    explicit Guard(const at::Device&) {}
  };

  static std::vector<PlaneScan> scan(const Planes& img, const ScaleSpace& s, Kind kind) {
    std::vector<PlaneScan> out(img.b);
    if (img.h == 0 || img.w == 0) return out;
    const double* base = img.t.data_ptr<double>();
    const int64_t hw = img.h * img.w;
    // Many small images: one image per thread; otherwise the rows of each image are shared.
    const bool by_image = img.b > 1 && hw < 256 * 256;
    run_items(img.b, by_image, [&](int64_t i) {
      out[i] = PlaneScanner(base + i * hw, static_cast<int>(img.h), static_cast<int>(img.w), s, kind, !by_image).run();
    });
    return out;
  }
};

}  // namespace
}  // namespace blobs
}  // namespace vision_ext

TORCH_LIBRARY_IMPL(vision_ext, CPU, m) { vision_ext::blobs::register_blob_ops<vision_ext::blobs::Cpu>(m); }
