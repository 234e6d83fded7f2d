// CPU GroupNorm (+ SiLU): the glue around the per-level kernels of simd/group_norm_simd.cpp.
// Threads, workspace and the per-(sample, group) statistics live here; the kernels see pointers.
//
// NCHW: a (sample, group) is one contiguous run, so one task computes its statistics and then
// normalises it while it is still in cache (the backward likewise: sums, constants, grad_x).
// channels_last: blocks of kRows pixels accumulate per-channel sums (shifted by the sample's first
// pixel), the blocks are reduced per group in a fixed order (the same bits for any thread count),
// and a second pass normalises the blocks. Both backwards store g = act'(y) * grad_out in grad_x
// during the sums pass, so SiLU' (an exp and a division) is evaluated once per element.
// float16 / bfloat16 run through float32 copies (the statistics and the maths are float32 anyway).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "../group_norm_common.h"
#include "simd/group_norm_simd.h"

namespace vision_ext::group_norm {
namespace {

using cpu::GroupNormFns;

constexpr int64_t kRows = 64;  // channels_last pixels per block: fp32 sums over at most 64 values

template <typename S> const GroupNormFns<S>& fns();
template <> const GroupNormFns<float>& fns<float>() { return cpu::group_norm_kernels().f32; }
template <> const GroupNormFns<double>& fns<double>() { return cpu::group_norm_kernels().f64; }

// About 16K elements per task before at::parallel_for splits the range (64K kept the U-Nets' 8x8 and
// 16x16 GroupNorms, 16-64K elements, on one thread: half the speed of eager's two).
int64_t grain_for(int64_t per_item) { return std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(1, per_item)); }

int64_t blocks_of(const Shape& s) { return (s.hw + kRows - 1) / kRows; }
// Elements of one channels_last block (fewer than kRows * C where the image has fewer pixels).
int64_t block_elements(const Shape& s) { return std::min(kRows, s.hw) * s.c; }

// Sums of every (sample, channels_last block, channel) -> per-(sample, channel) totals, in block order.
void reduce_blocks(const std::vector<double>& ws, const Shape& s, std::vector<double>& s1, std::vector<double>& s2) {
  const int64_t nb = blocks_of(s), C = s.c;
  s1.assign(s.n * C, 0.0);
  s2.assign(s.n * C, 0.0);
  at::parallel_for(0, s.n, grain_for(nb * C), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t b = 0; b < nb; ++b) {
        const double* w = ws.data() + (n * nb + b) * 2 * C;
        for (int64_t c = 0; c < C; ++c) {
          s1[n * C + c] += w[c];
          s2[n * C + c] += w[C + c];
        }
      }
  });
}

// mean and 1 / sqrt(var + eps) of every (sample, group) from per-channel shifted sums: channel
// moments first, then combined (Chan et al.'s pairwise update: within + between channels).
template <typename S>
void group_stats(const Shape& s, const S* shift, const std::vector<double>& s1, const std::vector<double>& s2,
                 double eps, S* mean, S* rstd) {
  const int64_t C = s.c, G = s.groups, cg = s.group_channels();
  at::parallel_for(0, s.n * G, grain_for(16 * cg), [&](int64_t i0, int64_t i1) {  // ~16 operations a channel
    std::vector<double> mc(cg);
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / G, c0 = (i % G) * cg;
      double within = 0.0, total = 0.0;
      for (int64_t k = 0; k < cg; ++k) {
        double m2;
        const int64_t c = n * C + c0 + k;
        mc[k] = gn_moments(shift[n * s.hw * C + c0 + k], s1[c], s2[c], double(s.hw), &m2);
        within += m2;
        total += mc[k];
      }
      const double m = total / double(cg);
      double between = 0.0;
      for (int64_t k = 0; k < cg; ++k) between += (mc[k] - m) * (mc[k] - m);
      const double var = (within + double(s.hw) * between) / double(cg * s.hw);
      mean[i] = S(m);
      rstd[i] = S(1.0 / std::sqrt(var + eps));
    }
  });
}

// Per-channel arrays of one sample for the channels_last kernels: mean, scale = rstd * weight, shift = bias.
template <typename S>
std::vector<S> channel_params(const Shape& s, const S* mean, const S* rstd, const S* w, const S* b) {
  const int64_t C = s.c, G = s.groups, cg = s.group_channels();
  std::vector<S> p(s.n * 3 * C);
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const int64_t i = n * G + c / cg;
      S* row = p.data() + n * 3 * C;
      row[c] = mean[i];
      row[C + c] = S(double(rstd[i]) * double(w[c]));
      row[2 * C + c] = b[c];
    }
  return p;
}

template <typename S>
void forward_typed(const ForwardArgs& f, const at::Tensor& xt, at::Tensor& out) {
  const Shape& s = f.s;
  const GroupNormFns<S>& k = fns<S>();
  const S* x = xt.data_ptr<S>();
  S* y = out.data_ptr<S>();
  const S* w = f.weight.data_ptr<S>();
  const S* b = f.bias.data_ptr<S>();
  S* mean = f.mean.data_ptr<S>();
  S* rstd = f.rstd.data_ptr<S>();
  const int64_t C = s.c, G = s.groups, cg = s.group_channels(), D = cg * s.hw;
  if (!s.channels_last) {
    at::parallel_for(0, s.n * G, grain_for(D), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const int64_t c0 = (i % G) * cg;
        const S* xg = x + i * D;
        double s1, s2, m2;
        k.run_sums(xg, D, xg[0], &s1, &s2);
        const double m = gn_moments(double(xg[0]), s1, s2, double(D), &m2);
        mean[i] = S(m);
        rstd[i] = S(1.0 / std::sqrt(m2 / double(D) + f.eps));
        const S* ahead = i + 1 < i1 ? xg + D : nullptr;  // the next group's sums read it from cache
        for (int64_t j = 0; j < cg; ++j)  // the rounded statistics, as the backward sees them
          k.run_forward(xg + j * s.hw, y + i * D + j * s.hw, s.hw, mean[i], S(double(rstd[i]) * double(w[c0 + j])),
                        b[c0 + j], f.act, ahead == nullptr ? nullptr : ahead + j * s.hw);
      }
    });
    return;
  }
  const int64_t nb = blocks_of(s);
  std::vector<double> ws(s.n * nb * 2 * C);
  at::parallel_for(0, s.n * nb, grain_for(block_elements(s)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / nb, p0 = (i % nb) * kRows;
      k.row_sums(x + (n * s.hw + p0) * C, std::min(kRows, s.hw - p0), C, x + n * s.hw * C, ws.data() + i * 2 * C,
                 ws.data() + i * 2 * C + C);
    }
  });
  std::vector<double> s1, s2;
  reduce_blocks(ws, s, s1, s2);
  group_stats<S>(s, x, s1, s2, f.eps, mean, rstd);
  const std::vector<S> p = channel_params<S>(s, mean, rstd, w, b);
  at::parallel_for(0, s.n * nb, grain_for(block_elements(s)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / nb, p0 = (i % nb) * kRows, off = (n * s.hw + p0) * C;
      const S* pn = p.data() + n * 3 * C;
      k.row_forward(x + off, y + off, std::min(kRows, s.hw - p0), C, pn, pn + C, pn + 2 * C, f.act);
    }
  });
}

// From per-(sample, channel) sums sg = sum(g), sgx = sum(g * (x - mean)): the constants of
// grad_x = g * scale + (x - mean) * c2 + c3 for (sample, group) i.
template <typename S>
void group_constants(const BackwardArgs& a, const double* sg, const double* sgx, int64_t i, S* c2, S* c3) {
  const Shape& s = a.s;
  const int64_t C = s.c, G = s.groups, cg = s.group_channels();
  const double D = double(cg * s.hw);
  const S* w = a.weight.data_ptr<S>();
  const int64_t n = i / G, c0 = (i % G) * cg;
  double A = 0.0, B = 0.0;
  for (int64_t c = c0; c < c0 + cg; ++c) {
    A += double(w[c]) * sg[n * C + c];
    B += double(w[c]) * sgx[n * C + c];
  }
  const double r = a.rstd.data_ptr<S>()[i];
  *c2 = S(-r * r * r * B / D);
  *c3 = S(-r * A / D);
}

// The (C,) parameter gradients from the same sums.
template <typename S>
void parameter_grads(const BackwardArgs& a, const std::vector<double>& sg, const std::vector<double>& sgx) {
  const Shape& s = a.s;
  const int64_t C = s.c, G = s.groups, cg = s.group_channels();
  const S* rstd = a.rstd.data_ptr<S>();
  S* gw = a.grad_weight.data_ptr<S>();
  S* gb = a.grad_bias.data_ptr<S>();
  for (int64_t c = 0; c < C; ++c) {
    double dw = 0.0, db = 0.0;
    for (int64_t n = 0; n < s.n; ++n) {
      dw += double(rstd[n * G + c / cg]) * sgx[n * C + c];
      db += sg[n * C + c];
    }
    gw[c] = S(dw);
    gb[c] = S(db);
  }
}

template <typename S>
void backward_typed(const BackwardArgs& a, const at::Tensor& dyt, const at::Tensor& xt, at::Tensor& dxt) {
  const Shape& s = a.s;
  const GroupNormFns<S>& k = fns<S>();
  const S* dy = dyt.data_ptr<S>();
  const S* x = xt.data_ptr<S>();
  S* dx = dxt.data_ptr<S>();
  const S* w = a.weight.data_ptr<S>();
  const S* b = a.bias.data_ptr<S>();
  const S* mean = a.mean.data_ptr<S>();
  const S* rstd = a.rstd.data_ptr<S>();
  const int64_t C = s.c, G = s.groups, cg = s.group_channels(), HW = s.hw;
  std::vector<double> sg(s.n * C), sgx(s.n * C);
  if (!s.channels_last) {
    // One task per (sample, group): g = act'(y) * dy goes to dx with the sums, then dx is
    // finished in place while the group is still in cache (and the next group is prefetched).
    const int64_t D = cg * HW;
    auto scale_of = [&](int64_t row) { return S(double(rstd[row / C * G + row % C / cg]) * double(w[row % C])); };
    at::parallel_for(0, s.n * G, grain_for(2 * D), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const int64_t r0 = i / G * C + (i % G) * cg;
        for (int64_t r = r0; r < r0 + cg; ++r)
          k.run_grad_sums(dy + r * HW, x + r * HW, dx + r * HW, HW, mean[i], scale_of(r), b[r % C], a.act, &sg[r],
                          &sgx[r]);
        S c2, c3;
        group_constants<S>(a, sg.data(), sgx.data(), i, &c2, &c3);
        const bool next = i + 1 < i1;
        for (int64_t r = r0; r < r0 + cg; ++r)
          k.run_input_grad(dx + r * HW, x + r * HW, dx + r * HW, HW, mean[i], scale_of(r), c2, c3,
                           next ? dy + r * HW + D : nullptr, next ? x + r * HW + D : nullptr);
      }
    });
    parameter_grads<S>(a, sg, sgx);
    return;
  }
  const int64_t nb = blocks_of(s);
  const std::vector<S> p = channel_params<S>(s, mean, rstd, w, b);
  std::vector<double> ws(s.n * nb * 2 * C);
  at::parallel_for(0, s.n * nb, grain_for(block_elements(s)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / nb, p0 = (i % nb) * kRows, off = (n * HW + p0) * C;
      const S* pn = p.data() + n * 3 * C;
      k.row_grad_sums(dy + off, x + off, dx + off, std::min(kRows, HW - p0), C, pn, pn + C, pn + 2 * C, a.act,
                      ws.data() + i * 2 * C, ws.data() + i * 2 * C + C);
    }
  });
  reduce_blocks(ws, s, sg, sgx);
  std::vector<S> c2(s.n * G), c3(s.n * G);
  for (int64_t i = 0; i < s.n * G; ++i) group_constants<S>(a, sg.data(), sgx.data(), i, &c2[i], &c3[i]);
  parameter_grads<S>(a, sg, sgx);
  std::vector<S> cc(s.n * 2 * C);  // per-channel c2, c3 of each sample
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t c = 0; c < C; ++c) {
      cc[n * 2 * C + c] = c2[n * G + c / cg];
      cc[n * 2 * C + C + c] = c3[n * G + c / cg];
    }
  at::parallel_for(0, s.n * nb, grain_for(block_elements(s)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / nb, p0 = (i % nb) * kRows, off = (n * HW + p0) * C;
      const S* pn = p.data() + n * 3 * C;
      const S* cn = cc.data() + n * 2 * C;
      k.row_input_grad(dx + off, x + off, dx + off, std::min(kRows, HW - p0), C, pn, pn + C, cn, cn + C);
    }
  });
}

bool is_reduced(const at::Tensor& t) { return t.scalar_type() == at::kHalf || t.scalar_type() == at::kBFloat16; }

// The CPU backend of the ops in group_norm_common.h.
struct Cpu {
  struct Guard {
    explicit Guard(const at::Device&) {}
  };

  static void forward(const ForwardArgs& f) {
    if (f.x.scalar_type() == at::kDouble) {
      at::Tensor out = f.out;
      forward_typed<double>(f, f.x, out);
      return;
    }
    const at::Tensor x = is_reduced(f.x) ? f.x.to(at::kFloat) : f.x;  // keeps the layout
    at::Tensor out = is_reduced(f.x) ? at::empty_like(x) : f.out;
    forward_typed<float>(f, x, out);
    if (!out.is_same(f.out)) f.out.copy_(out);
  }

  static void backward(BackwardArgs& a) {
    if (a.x.scalar_type() == at::kDouble) {
      backward_typed<double>(a, a.grad_out, a.x, a.grad_x);
      return;
    }
    const bool reduced = is_reduced(a.x);
    const at::Tensor x = reduced ? a.x.to(at::kFloat) : a.x;
    const at::Tensor dy = reduced ? a.grad_out.to(at::kFloat) : a.grad_out;
    at::Tensor dx = reduced ? at::empty_like(x) : a.grad_x;
    backward_typed<float>(a, dy, x, dx);
    if (reduced) a.grad_x.copy_(dx);
  }
};

}  // namespace
}  // namespace vision_ext::group_norm

TORCH_LIBRARY_IMPL(vision_ext, CPU, m) { vision_ext::group_norm::register_group_norm_ops<vision_ext::group_norm::Cpu>(m); }
