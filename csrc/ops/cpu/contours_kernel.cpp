// CPU glue of find_contours: checks and levels (../contours_common.h), then per image three
// row-parallel passes with the active level's kernels (simd/contours_simd.h): classify every pixel,
// count each cell row's segments, and after a prefix sum over the rows emit every row's segments at
// its offset, so the buffer is in row-major cell order whatever the thread count. The linking into
// contours is the shared host linker of ../contours_common.h.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <vector>

#include "../contours_common.h"
#include "simd/contours_simd.h"
#include "work_sharing.h"

namespace vision_ext {
namespace contours {
namespace {

// Images below this many pixels run on the calling thread, where waking a helper costs more than
// it saves (horse, 328x400: 0.53 -> 0.38 ms at 2 threads with this limit instead of 2^20).
constexpr int64_t kParallelPixels = int64_t(1) << 16;

struct Cpu {
  struct Guard {
    explicit Guard(const at::Device&) {}
  };

  static void host_min_max(const double* v, int64_t n, double* lo, double* hi) {
    cpu::contours_kernels().min_max(v, n, lo, hi);
  }

  static std::vector<Segment> segments(const Planes& p, int64_t n, bool high) {
    const auto& k = cpu::contours_kernels();
    const int64_t h = p.h, w = p.w, hw = h * w;
    const double level = p.levels[n];
    const double* img = p.values.data_ptr<double>() + n * hw;
    const uint8_t* mask = p.mask.defined() ? p.mask.data_ptr<uint8_t>() + n * hw : nullptr;
    std::vector<uint8_t> bits(hw);
    const int64_t grain = hw >= kParallelPixels ? 16 : h;
    cpu::parallel_chunks(0, h, grain, [&](int64_t y0, int64_t y1) {
      for (int64_t y = y0; y < y1; ++y)
        k.classify_row(img + y * w, mask ? mask + y * w : nullptr, w, level, bits.data() + y * w);
    });
    std::vector<int64_t> offsets(h);  // segments of cell rows [0, r) after the scan
    cpu::parallel_chunks(0, h - 1, grain, [&](int64_t y0, int64_t y1) {
      for (int64_t y = y0; y < y1; ++y) offsets[y + 1] = k.count_cells(bits.data() + y * w, bits.data() + (y + 1) * w, w);
    });
    offsets[0] = 0;
    for (int64_t y = 1; y < h; ++y) offsets[y] += offsets[y - 1];
    std::vector<Segment> out(offsets[h - 1]);
    if (out.empty()) return out;
    cpu::parallel_chunks(0, h - 1, grain, [&](int64_t y0, int64_t y1) {
      for (int64_t y = y0; y < y1; ++y)
        k.emit_cells(img + y * w, img + (y + 1) * w, bits.data() + y * w, bits.data() + (y + 1) * w, y, h, w, level,
                     high, out.data() + offsets[y]);
    });
    return out;
  }
};

}  // namespace
}  // namespace contours
}  // namespace vision_ext

TORCH_LIBRARY_IMPL(vision_ext, CPU, m) { vision_ext::contours::register_contour_ops<vision_ext::contours::Cpu>(m); }
