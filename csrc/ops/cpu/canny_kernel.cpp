// CPU glue of the Canny op: checks (../canny_common.h) -> per image, bands of rows in parallel
// (gradients of the band plus one halo row each side, then non-maximum suppression, with the
// active level's kernels from simd/canny_simd.h) -> hysteresis -> 0/255 output rows.
//
// Hysteresis is a flood fill from the strong pixels through the weak ones over 8-neighbours: the
// result is the set reachable from a strong pixel, whatever the visiting order.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "../canny_common.h"
#include "work_sharing.h"
#include "simd/canny_simd.h"

namespace vision_ext {
namespace canny {
namespace {

constexpr int64_t kParallelPixels = int64_t(1) << 17;

// Rows per band: its gradient workspace (8 bytes a pixel) stays near 768 KiB (in L2), and the two
// halo rows it recomputes stay a small share.
int band_rows(int w) { return static_cast<int>(std::clamp<int64_t>(786432 / (8 * int64_t(w) + 1), 16, 64)); }

// Appends the kStrong pixels of a row; 8 states at a time (kStrong is the only state with bit 1).
void collect_strong(uint8_t* row, int w, std::vector<uint8_t*>& out) {
  static_assert(kStrong == 2 && kWeak == 1 && kNotEdge == 0, "the word test relies on the state values");
  int x = 0;
  for (; x + 8 <= w; x += 8) {
    uint64_t word;
    std::memcpy(&word, row + x, 8);
    if (!(word & 0x0202020202020202ull)) continue;
    for (int i = 0; i < 8; ++i)
      if (row[x + i] == kStrong) out.push_back(row + x + i);
  }
  for (; x < w; ++x)
    if (row[x] == kStrong) out.push_back(row + x);
}

// Non-maximum suppression of one image into state ((h + 2) x (w + 2), zero border); returns the
// positions of the strong pixels.
std::vector<uint8_t*> suppress_image(const uint8_t* src, const CannyParams& p, uint8_t* state) {
  const auto& k = cpu::canny_kernels();
  const int h = p.height, w = p.width, band = band_rows(w);
  const int64_t ms = w + 2, ss = w + 2;
  const int64_t bands = (h + band - 1) / band;
  std::vector<std::vector<uint8_t*>> seeds(bands);
  // One band per item, claimed as threads get a core (work_sharing.h); each thread reuses its own
  // scratch (items on one thread never overlap), and every band writes only its rows and seeds[bi].
  cpu::run_items(bands, int64_t(h) * w >= kParallelPixels, [&](int64_t bi) {
    thread_local std::vector<int32_t> work, mag;
    thread_local std::vector<int16_t> dx, dy;
    work.resize(2 * (w + 2 * kMaxRadius));
    mag.resize((band + 2) * ms);
    dx.resize((band + 2) * int64_t(w));
    dy.resize((band + 2) * int64_t(w));
    const int y0 = static_cast<int>(bi * band), y1 = std::min(h, y0 + band);
    // Local row r holds image row y0 - 1 + r; rows outside the image and columns -1, w are zero.
    const int g0 = std::max(0, y0 - 1), g1 = std::min(h, y1 + 1);
    const int64_t r0 = g0 - (y0 - 1), rows = y1 - y0 + 2;
    // Zero what gradient_rows does not write: rows outside the image, the two border columns.
    if (r0 > 0) std::fill(mag.begin(), mag.begin() + ms, 0);
    if (g1 < y1 + 1) std::fill(mag.begin() + (rows - 1) * ms, mag.begin() + rows * ms, 0);
    for (int64_t r = 0; r < rows; ++r) mag[r * ms] = mag[r * ms + ms - 1] = 0;
    k.gradient_rows(src, p, g0, g1, work.data(), dx.data() + r0 * w, dy.data() + r0 * w, mag.data() + r0 * ms + 1,
                    ms);
    uint8_t* st = state + (y0 + 1) * ss + 1;
    k.suppress_rows(dx.data() + w, dy.data() + w, mag.data() + ms + 1, ms, y1 - y0, w, p.low, p.high, st, ss);
    for (int y = 0; y < y1 - y0; ++y) collect_strong(st + y * ss, w, seeds[bi]);
  });
  std::vector<uint8_t*> all;
  for (auto& s : seeds) all.insert(all.end(), s.begin(), s.end());
  return all;
}

void hysteresis(std::vector<uint8_t*> stack, int64_t stride) {
  const int64_t offsets[8] = {-stride - 1, -stride, -stride + 1, -1, 1, stride - 1, stride, stride + 1};
  while (!stack.empty()) {
    uint8_t* q = stack.back();
    stack.pop_back();
    for (int64_t o : offsets)
      if (q[o] == kWeak) q[o] = kStrong, stack.push_back(q + o);
  }
}

// The CPU backend of the op in canny_common.h.
struct Cpu {
  struct Guard {
    explicit Guard(const at::Device&) {}
  };

  static void edges(const Images& img, at::Tensor& out, const CannyParams& p) {
    const int64_t h = img.h, w = img.w, ss = w + 2;
    std::vector<uint8_t> state((h + 2) * ss, kNotEdge);  // the border stays kNotEdge, the inside is rewritten
    const uint8_t* src = img.t.data_ptr<uint8_t>();
    uint8_t* dst = out.data_ptr<uint8_t>();
    for (int64_t n = 0; n < img.b; ++n) {
      hysteresis(suppress_image(src + n * img.c * h * w, p, state.data()), ss);
      const auto& k = cpu::canny_kernels();
      constexpr int64_t kFinishRows = 64;
      cpu::run_items((h + kFinishRows - 1) / kFinishRows, h * w >= kParallelPixels, [&](int64_t i) {
        for (int64_t y = i * kFinishRows; y < std::min(h, (i + 1) * kFinishRows); ++y)
          k.finish_row(state.data() + (y + 1) * ss + 1, static_cast<int>(w), dst + (n * h + y) * w);
      });
    }
  }
};

}  // namespace
}  // namespace canny
}  // namespace vision_ext

TORCH_LIBRARY_IMPL(vision_ext, CPU, m) { vision_ext::canny::register_canny_ops<vision_ext::canny::Cpu>(m); }
