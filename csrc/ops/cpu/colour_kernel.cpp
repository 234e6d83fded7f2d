// CPU glue of the colour family: checks and binning rules (../colour_common.h), then work items over
// (plane, pixel chunk), each counting into its own private histogram with the active level's kernels
// (simd/colour_simd.h); the private histograms are merged per plane at the end.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <functional>
#include <vector>

#include "../colour_common.h"
#include "simd/colour_simd.h"
#include "work_sharing.h"

namespace vision_ext {
namespace colour {
namespace {

constexpr int64_t kMinChunk = int64_t(1) << 16;  // pixels: below this a thread hand-off costs more than it saves
constexpr int64_t kMaxChunk = int64_t(1) << 30;  // private counts are uint32
constexpr int64_t kBlock = 4096;                 // pixels binned per pass (the index buffer stays in L1)
constexpr int kMaxSubBins = 4096;                // sub-histograms while 4 x bins counters fit in L1

// Chunks per plane: enough items for every thread (twice over, for balance), none below kMinChunk.
int64_t chunks_per_plane(int64_t planes, int64_t pixels) {
  const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
  const int64_t want = (2 * threads + planes - 1) / planes;
  const int64_t most = std::max<int64_t>(1, pixels / kMinChunk);
  return std::max<int64_t>(std::min(want, most), (pixels + kMaxChunk - 1) / kMaxChunk);
}

void run_items(int64_t n, int64_t pixels_total, const std::function<void(int64_t)>& f) {
  cpu::run_items(n, n > 1 && pixels_total >= kMinChunk, f);
}

// Bin indices of pixels [p0, p0 + n) of one channel plane into idx.
void plane_bins(const Images& im, const Binning& bn, int64_t b, int64_t ch, int64_t p0, int64_t n, int32_t* idx) {
  const auto& k = cpu::colour_kernels();
  const int64_t off = (b * im.c + ch) * im.h * im.w + p0;
  switch (im.t.scalar_type()) {
    case at::kByte: k.bins_u8(im.t.data_ptr<uint8_t>() + off, n, bn.lut.data() + ch * 256, idx); break;
    case at::kFloat: k.bins_f32(im.t.data_ptr<float>() + off, n, bn.rules[ch], bn.edges.data(), idx); break;
    default: k.bins_f64(im.t.data_ptr<double>() + off, n, bn.rules[ch], bn.edges.data(), idx); break;
  }
}

// Counts of one item [p0, p1) of plane (b, channel ch, or all channels when joint) into hist.
void count_item(const Images& im, const uint8_t* mask, const Binning& bn, bool joint, int64_t b, int64_t ch,
                int64_t p0, int64_t p1, uint32_t* hist, int bins) {
  const auto& k = cpu::colour_kernels();
  thread_local std::vector<int32_t> idx, acc;
  thread_local std::vector<uint32_t> sub;
  idx.resize(kBlock);
  acc.resize(kBlock);
  uint32_t* subp = nullptr;
  if (bins <= kMaxSubBins) {
    sub.resize(3 * static_cast<size_t>(bins));
    subp = sub.data();
  }
  for (int64_t q = p0; q < p1; q += kBlock) {
    const int64_t n = std::min(kBlock, p1 - q);
    const uint8_t* mq = mask ? mask + b * im.h * im.w + q : nullptr;
    if (!joint) {
      plane_bins(im, bn, b, ch, q, n, idx.data());
      k.scatter(idx.data(), mq, n, hist, bins, subp);
      continue;
    }
    std::fill(acc.begin(), acc.begin() + n, 0);
    for (int64_t c = 0; c < im.c; ++c) {
      plane_bins(im, bn, b, c, q, n, idx.data());
      k.combine(idx.data(), n, bn.rules[c].offset, acc.data());
    }
    k.scatter(acc.data(), mq, n, hist, bins, subp);
  }
}

void histogram(const Images& im, const at::Tensor& mask_t, const Binning& bn, bool joint, at::Tensor& out) {
  const int64_t hw = im.h * im.w;
  const int64_t planes = joint ? im.b : im.b * im.c;
  const int64_t chunks = chunks_per_plane(planes, hw);
  const int64_t chunk = (hw + chunks - 1) / chunks;
  const bool u8_counts = !joint && im.t.scalar_type() == at::kByte;  // count values, fold through the LUT after
  // Histogram size of each plane's items: 256 value counts (uint8), else the plane's bins.
  std::vector<int64_t> size(planes), base(planes + 1, 0);
  for (int64_t p = 0; p < planes; ++p) {
    size[p] = u8_counts ? 256 : (joint ? bn.width : bn.rules[p % im.c].bins);
    base[p + 1] = base[p] + size[p] * chunks;
  }
  std::vector<uint32_t> priv(static_cast<size_t>(base[planes]), 0u);
  // Joint uint8 images with few channels: one fused pass over a table of bin * stride per channel.
  const bool u8_joint = joint && im.t.scalar_type() == at::kByte && im.c <= cpu::kJointU8MaxChannels;
  std::vector<int32_t> joint_lut;
  if (u8_joint) {
    joint_lut.resize(bn.lut.size());
    for (size_t i = 0; i < joint_lut.size(); ++i) {
      const int32_t bin = bn.lut[i];
      joint_lut[i] = bin < 0 ? cpu::kJointDropped : bin * bn.rules[i / 256].offset;
    }
  }
  const uint8_t* mask = mask_t.defined() ? mask_t.data_ptr<uint8_t>() : nullptr;
  run_items(planes * chunks, planes * hw, [&](int64_t i) {
    const int64_t p = i / chunks, j = i % chunks;
    const int64_t p0 = j * chunk, p1 = std::min(hw, p0 + chunk);
    if (p0 >= p1) return;
    uint32_t* h = priv.data() + base[p] + j * size[p];
    const int64_t b = joint ? p : p / im.c, ch = joint ? 0 : p % im.c;
    if (u8_counts) {
      const uint8_t* src = im.t.data_ptr<uint8_t>() + p * hw + p0;
      cpu::colour_kernels().count_u8(src, mask ? mask + b * hw + p0 : nullptr, p1 - p0, h);
    } else if (u8_joint) {
      const uint8_t* src[cpu::kJointU8MaxChannels];
      for (int64_t c = 0; c < im.c; ++c) src[c] = im.t.data_ptr<uint8_t>() + (b * im.c + c) * hw + p0;
      const int bins = static_cast<int>(size[p]);
      thread_local std::vector<uint32_t> sub;
      if (bins <= kMaxSubBins) sub.resize(3 * static_cast<size_t>(bins));
      cpu::colour_kernels().joint_u8(src, static_cast<int>(im.c), joint_lut.data(), mask ? mask + b * hw + p0 : nullptr,
                                     p1 - p0, h, bins, bins <= kMaxSubBins ? sub.data() : nullptr);
    } else {
      count_item(im, mask, bn, joint, b, ch, p0, p1, h, static_cast<int>(size[p]));
    }
  });
  int64_t* o = out.data_ptr<int64_t>();
  cpu::parallel_chunks(0, planes, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t b = joint ? p : p / im.c, ch = joint ? 0 : p % im.c;
      int64_t* row = o + b * bn.width + (joint ? 0 : bn.rules[ch].offset);
      const uint32_t* h = priv.data() + base[p];
      for (int64_t j = 0; j < chunks; ++j, h += size[p]) {
        if (u8_counts) {
          const int32_t* lut = bn.lut.data() + ch * 256;
          for (int v = 0; v < 256; ++v)
            if (lut[v] >= 0) row[lut[v]] += h[v];
        } else {
          for (int64_t k = 0; k < size[p]; ++k) row[k] += h[k];
        }
      }
    }
  });
}

// Exact moments of uint8 values from their counts: the sums of a 256-entry table.
void moments_from_counts(const uint32_t* counts, double* out) {
  int64_t n = 0, s = 0;
  for (int v = 0; v < 256; ++v) {
    n += counts[v];
    s += static_cast<int64_t>(counts[v]) * v;
  }
  const double cnt = static_cast<double>(n), mean = static_cast<double>(s) / cnt;
  double m2 = 0.0, m3 = 0.0;
  for (int v = 0; v < 256; ++v) {
    const double d = v - mean;
    m2 += counts[v] * (d * d);
    m3 += counts[v] * (d * d * d);
  }
  out[0] = cnt;
  out[1] = mean;
  out[2] = m2 / cnt;
  out[3] = m3 / cnt;
}

void moments(const Images& im, const at::Tensor& mask_t, at::Tensor& out) {
  const int64_t hw = im.h * im.w, planes = im.b * im.c;
  const uint8_t* mask = mask_t.defined() ? mask_t.data_ptr<uint8_t>() : nullptr;
  std::vector<double> res(static_cast<size_t>(planes) * 4);
  const auto& k = cpu::colour_kernels();
  run_items(planes, planes * hw, [&](int64_t p) {
    const uint8_t* m = mask ? mask + (p / im.c) * hw : nullptr;
    double* r = res.data() + p * 4;
    switch (im.t.scalar_type()) {
      case at::kByte: {
        uint32_t counts[256] = {};
        for (int64_t q = 0; q < hw; q += kMaxChunk)  // uint32 counts per pass; the exact sums are int64
          k.count_u8(im.t.data_ptr<uint8_t>() + p * hw + q, m ? m + q : nullptr, std::min(kMaxChunk, hw - q), counts);
        moments_from_counts(counts, r);
        break;
      }
      case at::kFloat: k.moments_f32(im.t.data_ptr<float>() + p * hw, m, hw, r); break;
      default: k.moments_f64(im.t.data_ptr<double>() + p * hw, m, hw, r); break;
    }
  });
  at::Tensor o = out.to(at::kDouble).contiguous();  // the result is small: fill in double, round once
  double* po = o.data_ptr<double>();
  for (int64_t p = 0; p < planes; ++p)
    for (int j = 0; j < 3; ++j) po[p * 3 + j] = res[p * 4 + 1 + j];
  out.copy_(o);
}

void gradient(const Images& im, const CornerParams& p, at::Tensor& mag, at::Tensor& dir) {
  const int64_t h = im.h, hw = im.h * im.w;
  const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
  const int64_t tile = std::max<int64_t>(8, (h + 2 * threads - 1) / (2 * threads));
  const int64_t tiles = (h + tile - 1) / tile;
  const auto& k = cpu::colour_kernels();
  run_items(im.b * tiles, im.b * hw * im.c * 8, [&](int64_t i) {
    const int64_t n = i / tiles, y0 = (i % tiles) * tile, y1 = std::min(h, y0 + tile);
    const int c = static_cast<int>(im.c);
    thread_local std::vector<double> work;
    work.resize(static_cast<size_t>(cpu::colour_gradient_work(c, p.ksize, p.width)));
    switch (im.t.scalar_type()) {
      case at::kByte:
        k.gradient_u8(im.t.data_ptr<uint8_t>() + n * im.c * hw, c, p, y0, y1, mag.data_ptr<float>() + n * hw,
                      dir.data_ptr<float>() + n * hw, work.data());
        break;
      case at::kFloat:
        k.gradient_f32(im.t.data_ptr<float>() + n * im.c * hw, c, p, y0, y1, mag.data_ptr<float>() + n * hw,
                       dir.data_ptr<float>() + n * hw, work.data());
        break;
      default:
        k.gradient_f64(im.t.data_ptr<double>() + n * im.c * hw, c, p, y0, y1, mag.data_ptr<double>() + n * hw,
                       dir.data_ptr<double>() + n * hw, work.data());
        break;
    }
  });
}

// The CPU backend of the ops in colour_common.h.
struct Cpu {
  struct Guard {
    explicit Guard(const at::Device&) {}
  };
  static void histogram(const Images& im, const at::Tensor& mask, const Binning& bn, bool joint, at::Tensor& out) {
    colour::histogram(im, mask, bn, joint, out);
  }
  static void moments(const Images& im, const at::Tensor& mask, at::Tensor& out) { colour::moments(im, mask, out); }
  static void gradient(const Images& im, const CornerParams& p, at::Tensor& mag, at::Tensor& dir) {
    colour::gradient(im, p, mag, dir);
  }
};

}  // namespace
}  // namespace colour
}  // namespace vision_ext

TORCH_LIBRARY_IMPL(vision_ext, CPU, m) { vision_ext::colour::register_colour_ops<vision_ext::colour::Cpu>(m); }
