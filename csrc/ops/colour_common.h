// Argument checks and the preparation shared by the CPU and CUDA colour ops (binning rules, uint8
// look-up tables), so both devices accept the same inputs, word their errors alike and bin alike.
#pragma once
#include <ATen/ATen.h>
#include <torch/library.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "vision_ext/colour.h"

namespace vision_ext {
namespace colour {

// Joint histograms above this many bins would need more memory per thread than they are worth.
constexpr int64_t kMaxJointBins = int64_t(1) << 24;

struct Images {
  at::Tensor t;  // (B, C, H, W), contiguous
  int64_t b, c, h, w;
};

inline Images as_images(const at::Tensor& images, const char* op) {
  TORCH_CHECK(images.dim() == 4, op, ": images must have shape (B, C, H, W), got ", images.sizes(),
              "; add the batch / channel dimensions with images[None] (vision_ext.features does this for you)");
  const auto st = images.scalar_type();
  TORCH_CHECK(st == at::kByte || st == at::kFloat || st == at::kDouble, op,
              ": images dtype must be uint8, float32 or float64, got ", st, "; convert with images.float()");
  TORCH_CHECK(images.size(1) >= 1, op, ": images must have at least one channel, got ", images.sizes());
  TORCH_CHECK(images.size(2) < (int64_t(1) << 30) && images.size(3) < (int64_t(1) << 30), op,
              ": image height and width must be < 2^30, got ", images.sizes());
  return Images{images.contiguous(), images.size(0), images.size(1), images.size(2), images.size(3)};
}

// The mask as (B, H * W) uint8 (nonzero = keep), or an undefined tensor for none.
inline at::Tensor mask_rows(const c10::optional<at::Tensor>& mask, const Images& im, const char* op) {
  if (!mask.has_value() || !mask->defined()) return at::Tensor();
  const auto& m = *mask;
  TORCH_CHECK(m.scalar_type() == at::kByte || m.scalar_type() == at::kBool, op,
              ": mask dtype must be uint8 or bool, got ", m.scalar_type());
  TORCH_CHECK(m.device() == im.t.device(), op, ": mask must be on the images' device (", im.t.device(), "), got ",
              m.device());
  const bool hw_ok = m.dim() >= 2 && m.size(-2) == im.h && m.size(-1) == im.w;
  const bool shape_ok = hw_ok && (m.dim() == 2 || (m.dim() == 3 && (m.size(0) == im.b || m.size(0) == 1)) ||
                                  (m.dim() == 4 && m.size(1) == 1 && (m.size(0) == im.b || m.size(0) == 1)));
  TORCH_CHECK(shape_ok, op, ": mask must have shape (H, W), (B, H, W) or (B, 1, H, W) with (B, H, W) = (", im.b, ", ",
              im.h, ", ", im.w, "), got ", m.sizes());
  at::Tensor u = (m.scalar_type() == at::kBool ? m.to(at::kByte) : m).reshape({-1, im.h * im.w});
  return u.expand({im.b, im.h * im.w}).contiguous();
}

// The binning rules of a histogram call, on the host.
struct Binning {
  std::vector<BinRule> rules;  // one per channel
  std::vector<double> edges;   // numpy edges, rules[c].edge0 onwards
  std::vector<int32_t> lut;    // uint8 images: 256 bins (or -1) per channel
  int64_t width = 0;           // columns of the output: sum(bins) or prod(bins)
};

inline double round_to(double v, bool to_float) { return to_float ? static_cast<double>(static_cast<float>(v)) : v; }

inline Binning make_binning(const Images& im, at::IntArrayRef bins, at::ArrayRef<double> low, at::ArrayRef<double> high,
                            bool joint, int64_t edges, const char* op) {
  const int64_t c = im.c;
  TORCH_CHECK(static_cast<int64_t>(bins.size()) == c, op, ": bins must give one count per channel (", c,
              " channels), got ", bins.size());
  TORCH_CHECK(static_cast<int64_t>(low.size()) == c && static_cast<int64_t>(high.size()) == c, op,
              ": ranges must give one (low, high) pair per channel (", c, " channels), got ", low.size(), " lows and ",
              high.size(), " highs");
  TORCH_CHECK(edges == kEdgesCv2 || edges == kEdgesNumpy, op, ": edges must be 0 (cv2) or 1 (numpy), got ", edges);
  Binning out;
  int64_t width = joint ? 1 : 0;
  for (int64_t ch = 0; ch < c; ++ch) {
    TORCH_CHECK(bins[ch] >= 1 && bins[ch] <= (int64_t(1) << 24), op, ": bins must be in [1, 2^24], got ", bins[ch],
                " for channel ", ch);
    TORCH_CHECK(std::isfinite(low[ch]) && std::isfinite(high[ch]) && low[ch] < high[ch], op,
                ": each range must be finite with low < high, got (", low[ch], ", ", high[ch], ") for channel ", ch);
    if (joint) {
      width *= bins[ch];
      TORCH_CHECK(width <= kMaxJointBins, op, ": a joint histogram holds at most 2^24 bins, got prod(bins) over ",
                  bins, "; use fewer bins per channel or joint=False");
    } else {
      width += bins[ch];
    }
  }
  // numpy: np.histogram rounds its edges to a float32 input's type; np.histogramdd keeps float64.
  const bool float_edges = im.t.scalar_type() == at::kFloat && !joint && edges == kEdgesNumpy;
  int64_t stride = 1, offset = 0;
  out.rules.resize(c);
  for (int64_t ch = c - 1; ch >= 0; --ch) {
    BinRule& r = out.rules[ch];
    const int n = static_cast<int>(bins[ch]);
    r.bins = n;
    r.convention = static_cast<int>(edges);
    r.edge0 = 0;
    if (edges == kEdgesCv2) {
      r.lo = static_cast<float>(low[ch]);
      r.hi = static_cast<float>(high[ch]);
      TORCH_CHECK(r.lo < r.hi, op, ": range (", low[ch], ", ", high[ch], ") of channel ", ch,
                  " is empty in float32, the precision cv2.calcHist reads ranges in");
      r.a = n / (r.hi - r.lo);
      r.b = -r.a * r.lo;
    } else {
      r.a = r.b = 0.0;
      r.edge0 = static_cast<int>(out.edges.size());
      // numpy.linspace: start + i * step, the last edge exactly `high`.
      const double step = (high[ch] - low[ch]) / n;
      for (int i = 0; i < n; ++i) out.edges.push_back(round_to(low[ch] + i * step, float_edges));
      out.edges.push_back(round_to(high[ch], float_edges));
      for (int i = 0; i < n; ++i)
        TORCH_CHECK(out.edges[r.edge0 + i] < out.edges[r.edge0 + i + 1], op, ": too many bins (", n,
                    ") for the range (", low[ch], ", ", high[ch], ") of channel ", ch,
                    ": the bin edges are not increasing (numpy raises the same)");
      r.lo = out.edges[r.edge0];
      r.hi = out.edges[r.edge0 + n];
    }
    if (joint) {
      r.offset = static_cast<int>(stride);
      stride *= n;
    }
  }
  if (!joint)
    for (int64_t ch = 0; ch < c; ++ch) {
      out.rules[ch].offset = static_cast<int>(offset);
      offset += bins[ch];
    }
  out.width = width;
  if (im.t.scalar_type() == at::kByte) {
    out.lut.resize(static_cast<size_t>(c) * 256);
    for (int64_t ch = 0; ch < c; ++ch)
      for (int v = 0; v < 256; ++v) out.lut[ch * 256 + v] = colour_bin(v, out.rules[ch], out.edges.data());
  }
  return out;
}

inline void check_ksize(const char* op, int64_t ksize) {
  TORCH_CHECK(ksize == 1 || ksize == 3 || ksize == 5 || ksize == 7 || ksize == -1, op,
              ": ksize must be 1, 3, 5, 7 or -1 (Scharr), got ", ksize);
}

inline CornerParams gradient_params(const Images& im, int64_t ksize) {
  CornerParams p{};
  p.height = static_cast<int>(im.h);
  p.width = static_cast<int>(im.w);
  p.block_size = 1;
  p.ksize = static_cast<int>(ksize);
  p.border = kBorderReflect101;
  p.scale = 1.0;
  return p;
}

inline at::ScalarType float_out(const Images& im) {
  return im.t.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

// ---- The ops over a device backend D, which supplies ----
//   D::Guard(device)
//   D::histogram(images, mask rows or undefined, binning, joint, out (B, width) int64 zeros)
//   D::moments(images, mask rows or undefined, out (B, C, 3))
//   D::gradient(images, params, mag (B, H, W), dir (B, H, W))
// Every check runs before the guard, so both devices reject the same inputs with the same words.

template <typename D>
at::Tensor color_histogram_op(const at::Tensor& images, at::IntArrayRef bins, at::ArrayRef<double> low,
                              at::ArrayRef<double> high, const c10::optional<at::Tensor>& mask, bool joint,
                              int64_t edges) {
  const char* op = "color_histogram";
  Images im = as_images(images, op);
  Binning binning = make_binning(im, bins, low, high, joint, edges, op);
  at::Tensor m = mask_rows(mask, im, op);
  typename D::Guard guard(images.device());
  at::Tensor out = at::zeros({im.b, binning.width}, images.options().dtype(at::kLong));
  if (im.b > 0 && im.h * im.w > 0) D::histogram(im, m, binning, joint, out);
  return out;
}

template <typename D>
at::Tensor color_moments_op(const at::Tensor& images, const c10::optional<at::Tensor>& mask) {
  const char* op = "color_moments";
  Images im = as_images(images, op);
  at::Tensor m = mask_rows(mask, im, op);
  typename D::Guard guard(images.device());
  at::Tensor out = at::empty({im.b, im.c, 3}, images.options().dtype(float_out(im)));
  if (im.b > 0) D::moments(im, m, out);
  return out;
}

template <typename D>
std::tuple<at::Tensor, at::Tensor> color_gradient_op(const at::Tensor& images, int64_t ksize) {
  const char* op = "color_gradient";
  Images im = as_images(images, op);
  check_ksize(op, ksize);
  typename D::Guard guard(images.device());
  at::Tensor mag = at::empty({im.b, im.h, im.w}, images.options().dtype(float_out(im)));
  at::Tensor dir = at::empty_like(mag);
  if (mag.numel() > 0) D::gradient(im, gradient_params(im, ksize), mag, dir);
  return {mag, dir};
}

template <typename D>
void register_colour_ops(torch::Library& m) {
  m.impl("color_histogram", &color_histogram_op<D>);
  m.impl("color_moments", &color_moments_op<D>);
  m.impl("color_gradient", &color_gradient_op<D>);
}

}  // namespace colour
}  // namespace vision_ext
