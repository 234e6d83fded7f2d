// CPU glue of the shape family: checks and the host finish (../shape_common.h), then the active
// level's row kernels (simd/shape_simd.h) over bands of rows. Each thread adds into its own sums;
// the sums are integers, so merging them in any order gives the same bits for any thread count.
// Work is shared with run_items (work_sharing.h): a thread that never gets a core on a busy
// machine delays nothing, the caller runs its part.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "../shape_common.h"
#include "work_sharing.h"
#include "simd/shape_simd.h"

namespace vision_ext {
namespace shape {
namespace {

constexpr int64_t kBandRows = 32;
constexpr int64_t kParallelPixels = int64_t(1) << 20;  // below ~1M pixels a hand-off costs more than it saves (corners_kernel.cpp found the same)

struct Bands {
  int64_t per_plane, items;
  Bands(const IdPlanes& ids) : per_plane((ids.h + kBandRows - 1) / kBandRows), items(ids.b * per_plane) {}
};

struct Cpu {
  struct Guard {
    explicit Guard(const at::Device&) {}
  };

  static std::pair<int64_t, int64_t> label_range(const at::Tensor& lab) {
    const at::Tensor c = lab.contiguous();
    int64_t lo = 0, hi = 0;
    AT_DISPATCH_INTEGRAL_TYPES(c.scalar_type(), "shape_features", [&] {
      const scalar_t* p = c.data_ptr<scalar_t>();
      scalar_t mn = p[0], mx = p[0];
      for (int64_t i = 1, n = c.numel(); i < n; ++i) mn = std::min(mn, p[i]), mx = std::max(mx, p[i]);
      lo = mn, hi = mx;
    });
    return {lo, hi};
  }

  static at::Tensor int32_labels(const at::Tensor& lab) {
    if (lab.scalar_type() == at::kInt) return lab.contiguous();
    const at::Tensor c = lab.contiguous();
    at::Tensor out = at::empty(c.sizes(), c.options().dtype(at::kInt));
    int32_t* d = out.data_ptr<int32_t>();
    AT_DISPATCH_INTEGRAL_TYPES(c.scalar_type(), "shape_features", [&] {
      const scalar_t* p = c.data_ptr<scalar_t>();
      for (int64_t i = 0, n = c.numel(); i < n; ++i) d[i] = static_cast<int32_t>(p[i]);  // values < 2^31 here
    });
    return out;
  }

  static Sums sums(const IdPlanes& ids) {
    const int64_t slots = ids.slots;
    const auto lopt = at::TensorOptions().dtype(at::kLong);
    const bool parallel = ids.b * ids.h * ids.w >= kParallelPixels;
    const Bands bands(ids);
    // One set of sums per part (slot-major), merged below; two parts per thread balance the load.
    const int64_t threads = parallel ? std::max<int64_t>(1, at::get_num_threads()) : 1;
    const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(bands.items, 2 * threads));
    std::vector<uint64_t> mom(static_cast<size_t>(parts * slots * kMomentWords), 0);
    std::vector<int64_t> per(static_cast<size_t>(parts * slots * kPerimeterClasses), 0);
    std::vector<int32_t> box(static_cast<size_t>(parts * slots * 4));
    for (size_t i = 0; i < box.size(); i += 4)
      box[i] = box[i + 1] = kBoxEmptyMin, box[i + 2] = box[i + 3] = kBoxEmptyMax;
    const int32_t* base = ids.ids.data_ptr<int32_t>();
    const int h = static_cast<int>(ids.h), w = static_cast<int>(ids.w);
    const auto kernel = cpu::shape_kernels().accumulate_rows;
    auto run = [&](int64_t i0, int64_t i1, int64_t t) {
      std::vector<int32_t> work(static_cast<size_t>(cpu::shape_work_words(w)));
      cpu::ShapeSums sums{mom.data() + t * slots * kMomentWords, per.data() + t * slots * kPerimeterClasses,
                          box.data() + t * slots * 4};
      for (int64_t i = i0; i < i1; ++i) {
        const int64_t n = i / bands.per_plane, y0 = (i % bands.per_plane) * kBandRows;
        kernel(base + n * ids.h * ids.w, h, w, static_cast<int>(y0), static_cast<int>(std::min(ids.h, y0 + kBandRows)),
               sums, work.data());
      }
    };
    if (bands.items > 0 && ids.w > 0)
      cpu::run_items(parts, parts > 1, [&](int64_t t) { run(t * bands.items / parts, (t + 1) * bands.items / parts, t); });
    Sums out{at::zeros({slots, kMomentWords}, lopt), at::zeros({slots, kPerimeterClasses}, lopt),
             at::empty({slots, 4}, lopt.dtype(at::kInt))};
    uint64_t* om = reinterpret_cast<uint64_t*>(out.moments.data_ptr<int64_t>());
    int64_t* op = out.perimeter.data_ptr<int64_t>();
    int32_t* ob = out.box.data_ptr<int32_t>();
    std::copy(box.begin(), box.begin() + slots * 4, ob);
    std::copy(mom.begin(), mom.begin() + slots * kMomentWords, om);
    std::copy(per.begin(), per.begin() + slots * kPerimeterClasses, op);
    for (int64_t t = 1; t < parts; ++t) {
      for (int64_t s = 0; s < slots; ++s) {
        const uint64_t* m = mom.data() + (t * slots + s) * kMomentWords;
        for (int k = 0; k < kMoments; ++k) add_words(om + s * kMomentWords + 2 * k, from_words(m + 2 * k));
        for (int c = 0; c < kPerimeterClasses; ++c) op[s * kPerimeterClasses + c] += per[(t * slots + s) * kPerimeterClasses + c];
        const int32_t* b = box.data() + (t * slots + s) * 4;
        int32_t* d = ob + s * 4;
        d[0] = std::min(d[0], b[0]), d[1] = std::min(d[1], b[1]), d[2] = std::max(d[2], b[2]), d[3] = std::max(d[3], b[3]);
      }
    }
    return out;
  }

  static at::Tensor extents(const IdPlanes& ids, const at::Tensor& box, const at::Tensor& row_offset, int64_t rows) {
    at::Tensor ext = at::empty({rows, 2}, at::TensorOptions().dtype(at::kInt));
    int32_t* pe = ext.data_ptr<int32_t>();
    for (int64_t i = 0; i < rows; ++i) pe[2 * i] = kBoxEmptyMin, pe[2 * i + 1] = kBoxEmptyMax;
    if (rows == 0) return ext;
    const Bands bands(ids);
    const int32_t* base = ids.ids.data_ptr<int32_t>();
    const int32_t* pb = box.data_ptr<int32_t>();
    const int64_t* ro = row_offset.data_ptr<int64_t>();
    const auto kernel = cpu::shape_kernels().extent_rows;
    // Row y of a region has one entry, written only by the band holding y: no two bands share one.
    cpu::run_items(bands.items, ids.b * ids.h * ids.w >= kParallelPixels, [&](int64_t i) {
      const int64_t n = i / bands.per_plane, y0 = (i % bands.per_plane) * kBandRows;
      kernel(base + n * ids.h * ids.w, static_cast<int>(ids.w), static_cast<int>(y0),
             static_cast<int>(std::min(ids.h, y0 + kBandRows)), pb, ro, pe);
    });
    return ext;
  }
};

}  // namespace
}  // namespace shape
}  // namespace vision_ext

TORCH_LIBRARY_IMPL(vision_ext, CPU, m) { vision_ext::shape::register_shape_ops<vision_ext::shape::Cpu>(m); }
