// CPU glue of the residual family's epilogue and training batch norm + residual + ReLU: buffers,
// per-channel coefficients and threads; the loops are the per-level kernels of
// simd/residual_simd.cpp (runtime CPU dispatch, cpu_dispatch.h). Statistics and gradient sums
// accumulate in double over a fixed partition (one channel per task for NCHW, 64 row chunks
// added in order for NHWC), so results depend neither on the thread count nor on the CPU level.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <vector>

#include "../cuda/scalar_kind_of.h"  // torch-only: at::ScalarType -> ScalarKind, shared with the CUDA glue
#include "residual_cpu.h"
#include "simd/residual_simd.h"

namespace vision_ext::residual {
namespace {

using cpu::BnRows;
using cpu::residual_kernels;

// Elementwise passes: row blocks of about 16K elements per task.
int64_t row_grain(int64_t row_len) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, row_len)); }

// Sums two per-channel quantities over all rows: sums(rows, a, b) adds those rows' contributions
// to a/b, at [0] for one NCHW channel and per column for NHWC.
template <typename Sums>
void reduce_per_channel(int64_t rows, int64_t C, bool channels_last, const Sums& sums, std::vector<double>& a,
                        std::vector<double>& b) {
  a.assign(C, 0.0);
  b.assign(C, 0.0);
  if (!channels_last) {
    at::parallel_for(0, C, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) sums(BnRows{c, rows / C, C}, &a[c], &b[c]);
    });
    return;
  }
  const int64_t chunks = std::min<int64_t>(64, std::max<int64_t>(1, rows));
  std::vector<double> pa(chunks * C, 0.0), pb(chunks * C, 0.0);
  at::parallel_for(0, chunks, 1, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k) {
      const int64_t r0 = rows * k / chunks, r1 = rows * (k + 1) / chunks;
      sums(BnRows{r0, r1 - r0, 1}, &pa[k * C], &pb[k * C]);
    }
  });
  for (int64_t k = 0; k < chunks; ++k)
    for (int64_t c = 0; c < C; ++c) {
      a[c] += pa[k * C + c];
      b[c] += pb[k * C + c];
    }
}

template <typename M>
void bn_forward_typed(const BnForwardCall& call, ScalarKind kind) {
  const BnForwardParams& p = call.params;
  const cpu::ResidualKernels& kernels = residual_kernels();
  const int64_t C = p.channels;
  // Sums around each channel's first element keep the one-pass variance well conditioned.
  const at::Tensor first = call.x.select(0, 0).select(1, 0).select(1, 0).to(at::kDouble).contiguous();
  std::vector<double> shift(first.data_ptr<double>(), first.data_ptr<double>() + C);
  for (double& s : shift) s = bn_shift(s);
  std::vector<double> s1, s2;
  reduce_per_channel(
      p.rows, C, p.channels_last,
      [&](BnRows rows, double* a, double* b) { kernels.bn_stats(p, kind, shift.data(), rows, a, b); }, s1, s2);
  const double count = static_cast<double>(p.rows) * p.row_len / C;
  const M* gamma = static_cast<const M*>(p.weight);
  const M* beta = static_cast<const M*>(p.bias);
  M* mean_out = static_cast<M*>(p.mean);
  M* var_out = static_cast<M*>(p.var);
  std::vector<M> a(C), b(C);
  for (int64_t c = 0; c < C; ++c) {
    double mean, var;
    moments_from_shifted_sums(count, s1[c], s2[c], shift[c], &mean, &var);
    mean_out[c] = static_cast<M>(mean);  // the centre of bn_fold_centred
    var_out[c] = static_cast<M>(var);
    bn_fold_centred<M>(gamma[c], beta[c], mean, mean_out[c], var_out[c], p.eps, &a[c], &b[c]);
  }
  const cpu::BnApplyCoefs coefs{mean_out, a.data(), b.data()};
  at::parallel_for(0, p.rows, row_grain(p.row_len),
                   [&](int64_t r0, int64_t r1) { kernels.bn_apply(p, kind, coefs, r0, r1); });
}

template <typename M>
void bn_backward_typed(const BnBackwardCall& call, ScalarKind kind) {
  const BnBackwardParams& p = call.params;
  const cpu::ResidualKernels& kernels = residual_kernels();
  const int64_t C = p.channels;
  std::vector<double> sum_g, sum_gx;
  reduce_per_channel(
      p.rows, C, p.channels_last,
      [&](BnRows rows, double* a, double* b) { kernels.bn_grad_sums(p, kind, rows, a, b); }, sum_g, sum_gx);
  const double count = static_cast<double>(p.rows) * p.row_len / C;
  const M* gamma = static_cast<const M*>(p.weight);
  const M* var = static_cast<const M*>(p.var);
  M* gw = static_cast<M*>(p.grad_weight);
  M* gb = static_cast<M*>(p.grad_bias);
  std::vector<M> k(C), c1(C), c0(C);
  for (int64_t c = 0; c < C; ++c) {
    bn_backward_coeffs<M>(gamma[c], var[c], p.eps, count, sum_g[c], sum_gx[c], &k[c], &c1[c], &c0[c], &gw[c]);
    gb[c] = static_cast<M>(sum_g[c]);
  }
  const cpu::BnGradCoefs coefs{k.data(), c1.data(), c0.data()};
  at::parallel_for(0, p.rows, row_grain(p.row_len),
                   [&](int64_t r0, int64_t r1) { kernels.bn_grad_apply(p, kind, coefs, r0, r1); });
}

// fn(acc) with acc a value of the accumulate type of the data (double for double, else float).
template <typename Fn>
void with_acc_type(ScalarKind kind, const Fn& fn) {
  if (kind == ScalarKind::f64)
    fn(double{});
  else
    fn(float{});
}

}  // namespace

void Cpu::epilogue(const char*, const EpilogueParams& p, const at::Tensor& x) {
  if (p.rows * p.row_len == 0) return;
  const ScalarKind kind = scalar_kind_of(x);
  const cpu::ResidualKernels& kernels = residual_kernels();
  at::parallel_for(0, p.rows, row_grain(p.row_len),
                   [&](int64_t r0, int64_t r1) { kernels.epilogue(p, kind, r0, r1); });
}

void Cpu::bn_forward(const BnForwardCall& c) {
  const ScalarKind kind = scalar_kind_of(c.x);
  with_acc_type(kind, [&](auto acc) { bn_forward_typed<decltype(acc)>(c, kind); });
}

void Cpu::bn_backward(const BnBackwardCall& c) {
  const ScalarKind kind = scalar_kind_of(c.x);
  with_acc_type(kind, [&](auto acc) { bn_backward_typed<decltype(acc)>(c, kind); });
}

TORCH_LIBRARY_IMPL(vision_ext, CPU, m) { register_residual_ops<Cpu>(m); }

}  // namespace vision_ext::residual
