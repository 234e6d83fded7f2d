// Argument checks, thresholds, overlap pruning and output packing shared by the CPU and CUDA blob
// ops (LoG, DoG, DoH, prune). A backend only computes each image's scale-space candidates; everything
// from there (scikit-image's peak_local_max threshold rules and _prune_blobs) is host code here,
// so both devices return the same blobs in the same order.
#pragma once
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <tuple>
#include <vector>

namespace vision_ext {
namespace blobs {

using BlobsOut = std::tuple<at::Tensor, at::Tensor>;  // blobs (B, K, 3) float64 (y, x, sigma), counts (B,)

// An image of shape (H, W), (B, H, W) or (B, 1, H, W) as B contiguous float64 planes (uint8 read
// as value / 255, scikit-image's img_as_float).
struct Planes {
  at::Tensor t;  // (B, H, W) float64, contiguous
  int64_t b, h, w;
};

inline Planes as_planes(const at::Tensor& image, const char* op) {
  const int64_t d = image.dim();
  TORCH_CHECK(d == 2 || d == 3 || d == 4, op, ": image must have shape (H, W), (B, H, W) or (B, 1, H, W), got ",
              image.sizes());
  TORCH_CHECK(d != 4 || image.size(1) == 1, op, ": a 4-D image must have a single channel (B, 1, H, W), got ",
              image.sizes(), "; convert colour images to grayscale first (e.g. skimage.color.rgb2gray)");
  const auto st = image.scalar_type();
  TORCH_CHECK(st == at::kByte || st == at::kFloat || st == at::kDouble, op,
              ": image dtype must be uint8 (read as value / 255), float32 or float64, got ", st,
              "; convert with image.double() (values as they are) or scale integers to [0, 1] first");
  const int64_t h = image.size(d - 2), w = image.size(d - 1);
  const int64_t b = d == 2 ? 1 : image.size(0);
  TORCH_CHECK(h < (int64_t(1) << 24) && w < (int64_t(1) << 24), op, ": image height and width must be < 2^24, got ",
              image.sizes());
  at::Tensor t = image.reshape({b, h, w});
  t = st == at::kByte ? t.to(at::kDouble).mul_(1.0 / 255.0) : t.to(at::kDouble);
  return Planes{t.contiguous(), b, h, w};
}

enum class Kind { log, dog, doh };

// The scale stack and the peak rules of one call, checked.
struct ScaleSpace {
  std::vector<double> sigmas;  // sigma reported for a peak at response scale s (S entries)
  std::vector<int> radii;      // half-kernel radius of each filter scale (S for LoG, S + 1 for DoG)
  std::vector<int64_t> offsets;  // start of each filter scale's taps
  std::vector<double> smooth, second;  // half kernels w[0..r] of each filter scale, concatenated
  std::vector<double> norms;   // response multiplier of each response scale (LoG, DoG)
  bool has_threshold = false, has_rel = false;
  double threshold = 0, rel = 0;
  int exclude_y = 0, exclude_x = 0;

  int64_t scales() const { return static_cast<int64_t>(sigmas.size()); }
  const double* smooth_taps(int64_t i) const { return smooth.data() + offsets[i]; }
  const double* second_taps(int64_t i) const { return second.data() + offsets[i]; }

  // A value every peak must exceed, knowing only that the stack's maximum is at least running_max
  // (the final threshold of `threshold_for` is never below it): lets the scan drop most
  // non-peaks while the stack is still being computed.
  double lower_bound(double running_max) const {
    double t = has_threshold ? threshold : -std::numeric_limits<double>::infinity();
    if (has_rel && rel >= 0 && rel * running_max > t) t = rel * running_max;
    return t;
  }
  // peak_local_max's threshold: threshold_abs, or the stack's minimum when it is None; then
  // raised to threshold_rel * maximum.
  double threshold_for(double lo, double hi) const {
    double t = has_threshold ? threshold : lo;
    if (has_rel && rel * hi > t) t = rel * hi;
    return t;
  }
};

inline void check_radii_and_taps(const char* op, const std::vector<int64_t>& radii, int64_t filters,
                                 ScaleSpace& s) {
  TORCH_CHECK(static_cast<int64_t>(radii.size()) == filters, op, ": radii must have one entry per filter scale (",
              filters, "), got ", radii.size());
  int64_t total = 0;
  for (int64_t r : radii) {
    TORCH_CHECK(r >= 0 && r <= (int64_t(1) << 20), op, ": every radius must be in [0, 2^20], got ", r);
    s.offsets.push_back(total);
    s.radii.push_back(static_cast<int>(r));
    total += r + 1;
  }
  TORCH_CHECK(static_cast<int64_t>(s.smooth.size()) == total, op, ": smooth_taps must hold sum(radii + 1) = ", total,
              " values (w[0..r] of each scale), got ", s.smooth.size());
}

inline void set_thresholds(const char* op, const c10::optional<double>& threshold,
                           const c10::optional<double>& threshold_rel, ScaleSpace& s) {
  s.has_threshold = threshold.has_value();
  s.threshold = threshold.value_or(0.0);
  s.has_rel = threshold_rel.has_value();
  s.rel = threshold_rel.value_or(0.0);
  TORCH_CHECK(!s.has_threshold || !std::isnan(s.threshold), op, ": threshold must be a number or None, got nan");
  TORCH_CHECK(!s.has_rel || !std::isnan(s.rel), op, ": threshold_rel must be a number or None, got nan");
}

inline ScaleSpace make_space(const char* op, bool dog, const std::vector<double>& sigmas,
                             const std::vector<int64_t>& radii, const std::vector<double>& smooth,
                             const std::vector<double>& second, const std::vector<double>& norms,
                             const c10::optional<double>& threshold, const c10::optional<double>& threshold_rel,
                             const std::vector<int64_t>& exclude_border) {
  ScaleSpace s;
  const int64_t filters = static_cast<int64_t>(sigmas.size());
  const int64_t scales = dog ? filters - 1 : filters;
  TORCH_CHECK(scales >= 1, op, ": need at least ", dog ? 2 : 1, " sigmas (", dog ? "two Gaussians make one DoG" : "",
              "), got ", filters, dog ? "; raise max_sigma or lower sigma_ratio" : "; num_sigma must be >= 1");
  for (double v : sigmas)
    TORCH_CHECK(std::isfinite(v) && v > 0, op, ": every sigma must be a finite number > 0, got ", v);
  s.sigmas.assign(sigmas.begin(), sigmas.begin() + scales);
  s.smooth = smooth;
  check_radii_and_taps(op, radii, filters, s);
  if (!dog) {
    s.second = second;
    TORCH_CHECK(second.size() == smooth.size(), op, ": second_taps must have as many values as smooth_taps (",
                smooth.size(), "), got ", second.size());
  }
  TORCH_CHECK(static_cast<int64_t>(norms.size()) == scales, op, ": norms must have one entry per response scale (",
              scales, "), got ", norms.size());
  s.norms = norms;
  TORCH_CHECK(exclude_border.size() == 2 && exclude_border[0] >= 0 && exclude_border[1] >= 0, op,
              ": exclude_border must be two non-negative ints (rows, columns), got ", exclude_border);
  s.exclude_y = static_cast<int>(std::min<int64_t>(exclude_border[0], int64_t(1) << 24));
  s.exclude_x = static_cast<int>(std::min<int64_t>(exclude_border[1], int64_t(1) << 24));
  set_thresholds(op, threshold, threshold_rel, s);
  return s;
}

// DoH: the sigmas alone (the boxes follow from them), no border exclusion (scikit-image has none).
inline ScaleSpace make_doh_space(const std::vector<double>& sigmas, const c10::optional<double>& threshold,
                                 const c10::optional<double>& threshold_rel) {
  const char* op = "blob_doh";
  TORCH_CHECK(!sigmas.empty(), op, ": need at least one sigma; num_sigma must be >= 1");
  for (double v : sigmas)
    TORCH_CHECK(std::isfinite(v) && v > 0 && v < (1 << 28), op, ": every sigma must be a finite number in (0, 2^28), got ",
                v);
  ScaleSpace s;
  s.sigmas = sigmas;
  set_thresholds(op, threshold, threshold_rel, s);
  return s;
}

// A scale-space local maximum: its value and position index ((y * W + x) * S + s), the raster
// order of scikit-image's (y, x, s) stack.
struct Candidate {
  double value;
  int64_t index;
};

// What a backend found in one image: every candidate above the scan's lower bound, and the
// stack's minimum and maximum.
struct PlaneScan {
  std::vector<Candidate> candidates;
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
};

struct Blob {
  double y, x, sigma;
};

// Fraction of the smaller disk covered by the other (scikit-image's _blob_overlap for 2-D blobs
// with one sigma, the same operations in the same order).
inline double blob_overlap(const Blob& a, const Blob& b) {
  if (a.sigma == 0 && b.sigma == 0) return 0.0;
  double max_sigma, r1, r2;
  if (a.sigma > b.sigma) {
    max_sigma = a.sigma;
    r1 = 1;
    r2 = b.sigma / a.sigma;
  } else {
    max_sigma = b.sigma;
    r2 = 1;
    r1 = a.sigma / b.sigma;
  }
  const double scale = max_sigma * std::sqrt(2.0);
  const double dy = b.y / scale - a.y / scale, dx = b.x / scale - a.x / scale;
  const double d = std::sqrt(dy * dy + dx * dx);
  if (d > r1 + r2) return 0.0;
  if (d <= std::fabs(r1 - r2)) return 1.0;
  const double ratio1 = std::min(1.0, std::max(-1.0, (d * d + r1 * r1 - r2 * r2) / (2 * d * r1)));
  const double ratio2 = std::min(1.0, std::max(-1.0, (d * d + r2 * r2 - r1 * r1) / (2 * d * r2)));
  const double acos1 = std::acos(ratio1), acos2 = std::acos(ratio2);
  const double pa = -d + r2 + r1, pb = d - r2 + r1, pc = d + r2 - r1, pd = d + r2 + r1;
  const double area = r1 * r1 * acos1 + r2 * r2 * acos2 - 0.5 * std::sqrt(std::fabs(pa * pb * pc * pd));
  const double rmin = std::min(r1, r2);
  return area / (M_PI * (rmin * rmin));
}

// One prune step of scikit-image's _prune_blobs on the pair (i, j): where both are still present
// and overlap by more than `overlap`, the one with the smaller sigma goes (on equal sigmas, i,
// the pair's first). A removed blob removes no other.
inline void prune_pair(const std::vector<Blob>& blobs, int64_t i, int64_t j, double overlap, std::vector<char>& gone) {
  if (gone[i] || gone[j]) return;
  if (blob_overlap(blobs[i], blobs[j]) > overlap) gone[blobs[i].sigma > blobs[j].sigma ? j : i] = 1;
}

// _prune_blobs over every close pair (i, j), i < j, in lexicographic order, found on a grid and
// visited as found: memory O(N) whatever the number of pairs. (scikit-image visits the pairs in the
// iteration order of scipy's cKDTree.query_pairs set, and its result depends on that order;
// vision_ext.features passes that order to blob_prune while the set is small.)
inline void prune_in_index_order(const std::vector<Blob>& blobs, double overlap, std::vector<char>& gone) {
  const int64_t n = static_cast<int64_t>(blobs.size());
  if (n < 2) return;
  double smax = 0, ymin = blobs[0].y, xmin = blobs[0].x;
  for (const Blob& b : blobs) {
    smax = std::max(smax, b.sigma);
    ymin = std::min(ymin, b.y);
    xmin = std::min(xmin, b.x);
  }
  // Disks of radius sqrt(2) sigma: two blobs overlap only within sqrt(2) (sigma_i + sigma_j).
  const double cell = std::max(2 * std::sqrt(2.0) * smax, 1.0);
  const int64_t stride = int64_t(1) << 26;
  auto key_of = [&](const Blob& b, int64_t dy, int64_t dx) {
    return (static_cast<int64_t>((b.y - ymin) / cell) + dy) * stride + static_cast<int64_t>((b.x - xmin) / cell) + dx;
  };
  std::vector<std::pair<int64_t, int64_t>> keyed(n);  // (cell key, blob)
  for (int64_t i = 0; i < n; ++i) keyed[i] = {key_of(blobs[i], 0, 0), i};
  std::sort(keyed.begin(), keyed.end());
  std::vector<int64_t> partners;
  for (int64_t i = 0; i < n; ++i) {
    if (gone[i]) continue;
    // (a hair wider: the overlap test's own rounding decides the pairs at the very edge)
    const double reach = std::sqrt(2.0) * (blobs[i].sigma + smax) * (1 + 1e-9), reach2 = reach * reach;
    partners.clear();
    for (int64_t dy = -1; dy <= 1; ++dy)
      for (int64_t dx = -1; dx <= 1; ++dx) {
        const int64_t key = key_of(blobs[i], dy, dx);
        auto it = std::lower_bound(keyed.begin(), keyed.end(), std::make_pair(key, int64_t(-1)));
        for (; it != keyed.end() && it->first == key; ++it) {
          const int64_t j = it->second;
          const double ddy = blobs[j].y - blobs[i].y, ddx = blobs[j].x - blobs[i].x;
          if (j > i && ddy * ddy + ddx * ddx <= reach2) partners.push_back(j);
        }
      }
    std::sort(partners.begin(), partners.end());
    for (int64_t j : partners) {
      prune_pair(blobs, i, j, overlap, gone);
      if (gone[i]) break;
    }
  }
}

// One image's peaks from its scan: peak_local_max's threshold and "no peak in a constant stack"
// rules, highest value first (ties: raster order), as (y, x, sigma). Pruning is blob_prune's.
inline std::vector<Blob> finish_plane(PlaneScan scan, const ScaleSpace& s, int64_t h, int64_t w) {
  const int64_t scales = s.scales();
  std::vector<Blob> out;
  if (h * w == 0) return out;
  const bool single = h * w * scales == 1;  // peak_local_max tests a one-voxel stack against the threshold only
  if (!single && !(scan.lo < scan.hi)) return out;  // constant stack: every voxel its own maximum, no peak
  const double t = s.threshold_for(scan.lo, scan.hi);
  auto& c = scan.candidates;
  c.erase(std::remove_if(c.begin(), c.end(), [&](const Candidate& k) { return !(k.value > t); }), c.end());
  std::sort(c.begin(), c.end(), [](const Candidate& a, const Candidate& b) {
    return a.value > b.value || (a.value == b.value && a.index < b.index);
  });
  out.reserve(c.size());
  for (const Candidate& k : c) {
    const int64_t sc = k.index % scales, pix = k.index / scales;
    out.push_back({static_cast<double>(pix / w), static_cast<double>(pix % w), s.sigmas[sc]});
  }
  return out;
}

inline BlobsOut pack(const std::vector<std::vector<Blob>>& lists, const at::TensorOptions& opts) {
  const int64_t b = static_cast<int64_t>(lists.size());
  int64_t k = 0;
  for (const auto& l : lists) k = std::max<int64_t>(k, static_cast<int64_t>(l.size()));
  at::Tensor blobs = at::zeros({b, k, 3}, at::kDouble);
  at::Tensor counts = at::zeros({b}, at::kLong);
  double* p = blobs.data_ptr<double>();
  for (int64_t i = 0; i < b; ++i) {
    counts.data_ptr<int64_t>()[i] = static_cast<int64_t>(lists[i].size());
    for (size_t j = 0; j < lists[i].size(); ++j) {
      double* row = p + (i * k + static_cast<int64_t>(j)) * 3;
      row[0] = lists[i][j].y;
      row[1] = lists[i][j].x;
      row[2] = lists[i][j].sigma;
    }
  }
  return {blobs.to(opts.device()), counts.to(opts.device())};
}

inline void check_overlap(const char* op, double overlap) {
  TORCH_CHECK(overlap >= 0 && overlap <= 1, op, ": overlap must be in [0, 1], got ", overlap);
}

// blob_prune: one image's (N, 3) rows pruned over `pairs` ((P, 2) int64, scikit-image's visiting
// order) or, without them, in index order. Host code on any device's tensors (N is small).
inline at::Tensor blob_prune_op(const at::Tensor& blobs, const c10::optional<at::Tensor>& pairs, double overlap) {
  const char* op = "blob_prune";
  check_overlap(op, overlap);
  TORCH_CHECK(blobs.dim() == 2 && blobs.size(1) == 3, op, ": blobs must have shape (N, 3) rows (y, x, sigma), got ",
              blobs.sizes());
  TORCH_CHECK(blobs.scalar_type() == at::kDouble, op, ": blobs must be float64, got ", blobs.scalar_type());
  const at::Tensor rows = blobs.cpu().contiguous();
  const int64_t n = rows.size(0);
  std::vector<Blob> list(n);
  const double* p = rows.data_ptr<double>();
  for (int64_t i = 0; i < n; ++i) list[i] = {p[3 * i], p[3 * i + 1], p[3 * i + 2]};
  std::vector<char> gone(n, 0);
  if (pairs.has_value() && pairs->defined()) {
    TORCH_CHECK(pairs->dim() == 2 && pairs->size(1) == 2 && pairs->scalar_type() == at::kLong, op,
                ": pairs must be an int64 tensor of shape (P, 2), got ", pairs->scalar_type(), " ", pairs->sizes());
    const at::Tensor pc = pairs->cpu().contiguous();
    const int64_t* q = pc.data_ptr<int64_t>();
    for (int64_t k = 0; k < pc.size(0); ++k) {
      TORCH_CHECK(q[2 * k] >= 0 && q[2 * k] < n && q[2 * k + 1] >= 0 && q[2 * k + 1] < n, op,
                  ": pair ", k, " (", q[2 * k], ", ", q[2 * k + 1], ") is out of range for ", n, " blobs");
      prune_pair(list, q[2 * k], q[2 * k + 1], overlap, gone);
    }
  } else {
    prune_in_index_order(list, overlap, gone);
  }
  std::vector<Blob> kept;  // the survivors, in their order
  for (int64_t i = 0; i < n; ++i)
    if (!gone[i]) kept.push_back(list[i]);
  at::Tensor out = at::empty({static_cast<int64_t>(kept.size()), 3}, at::kDouble);
  double* o = out.data_ptr<double>();
  for (size_t i = 0; i < kept.size(); ++i) {
    o[3 * i] = kept[i].y;
    o[3 * i + 1] = kept[i].x;
    o[3 * i + 2] = kept[i].sigma;
  }
  return out.to(blobs.device());
}

// ---- The scale-space ops over a device backend D, which supplies ----
//   D::Guard(device)
//   D::scan(planes, space, kind) -> std::vector<PlaneScan>, one per image
// Every check runs before the guard, so both devices reject the same inputs with the same words.

template <typename D>
BlobsOut scan_op(const char* op, Kind kind, const at::Tensor& image, const ScaleSpace& s) {
  typename D::Guard guard(image.device());
  Planes img = as_planes(image, op);
  std::vector<PlaneScan> scans = D::scan(img, s, kind);
  std::vector<std::vector<Blob>> lists(img.b);
  for (int64_t i = 0; i < img.b; ++i) lists[i] = finish_plane(std::move(scans[i]), s, img.h, img.w);
  return pack(lists, image.options());
}

template <typename D>
BlobsOut blob_log_op(const at::Tensor& image, at::ArrayRef<double> sigmas, at::IntArrayRef radii,
                     at::ArrayRef<double> smooth_taps, at::ArrayRef<double> second_taps, at::ArrayRef<double> norms,
                     c10::optional<double> threshold, c10::optional<double> threshold_rel,
                     at::IntArrayRef exclude_border) {
  const char* op = "blob_log";
  return scan_op<D>(op, Kind::log, image,
                    make_space(op, false, sigmas.vec(), radii.vec(), smooth_taps.vec(), second_taps.vec(), norms.vec(),
                               threshold, threshold_rel, exclude_border.vec()));
}

template <typename D>
BlobsOut blob_dog_op(const at::Tensor& image, at::ArrayRef<double> sigmas, at::IntArrayRef radii,
                     at::ArrayRef<double> smooth_taps, at::ArrayRef<double> norms, c10::optional<double> threshold,
                     c10::optional<double> threshold_rel, at::IntArrayRef exclude_border) {
  const char* op = "blob_dog";
  return scan_op<D>(op, Kind::dog, image,
                    make_space(op, true, sigmas.vec(), radii.vec(), smooth_taps.vec(), {}, norms.vec(), threshold,
                               threshold_rel, exclude_border.vec()));
}

template <typename D>
BlobsOut blob_doh_op(const at::Tensor& image, at::ArrayRef<double> sigmas, c10::optional<double> threshold,
                     c10::optional<double> threshold_rel) {
  return scan_op<D>("blob_doh", Kind::doh, image, make_doh_space(sigmas.vec(), threshold, threshold_rel));
}

template <typename D>
void register_blob_ops(torch::Library& m) {
  m.impl("blob_log", &blob_log_op<D>);
  m.impl("blob_dog", &blob_dog_op<D>);
  m.impl("blob_doh", &blob_doh_op<D>);
  m.impl("blob_prune", &blob_prune_op);
}

}  // namespace blobs
}  // namespace vision_ext
