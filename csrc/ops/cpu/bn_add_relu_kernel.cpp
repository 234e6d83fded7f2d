// CPU: training batch norm + residual add + ReLU, forward and backward.
// Statistics and gradient sums accumulate in double; per-channel reductions use a
// fixed partition (channels for NCHW, 64 row chunks for NHWC), so results do not
// depend on the thread count.
#include <ATen/ATen.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <cstring>
#include <vector>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "../residual_prepare.h"
#include "vision_ext/batch_norm.h"

namespace vision_ext::cpu {
namespace {

using residual::RowLayout;

// Sums two per-channel quantities over all elements: row_acc(r, a, b) adds row r's
// contributions to a/b, indexed by column for NHWC and at [0] for NCHW.
template <typename RowAcc>
void reduce_per_channel(const RowLayout& l, const RowAcc& row_acc, std::vector<double>& a, std::vector<double>& b) {
  const int64_t C = l.channels;
  a.assign(C, 0.0);
  b.assign(C, 0.0);
  if (!l.channels_last) {
    const int64_t n = l.rows / C;
    at::parallel_for(0, C, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c)
        for (int64_t i = 0; i < n; ++i) row_acc(i * C + c, &a[c], &b[c]);
    });
    return;
  }
  const int64_t chunks = std::min<int64_t>(64, std::max<int64_t>(1, l.rows));
  std::vector<double> pa(chunks * C, 0.0), pb(chunks * C, 0.0);
  at::parallel_for(0, chunks, 1, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k) {
      const int64_t r0 = l.rows * k / chunks, r1 = l.rows * (k + 1) / chunks;
      for (int64_t r = r0; r < r1; ++r) row_acc(r, &pa[k * C], &pb[k * C]);
    }
  });
  for (int64_t k = 0; k < chunks; ++k)
    for (int64_t c = 0; c < C; ++c) {
      a[c] += pa[k * C + c];
      b[c] += pb[k * C + c];
    }
}

// Packs (out > 0) of one row into mask bytes, compared in the data's own precision (a float cast
// would round a tiny positive float64 output to 0 and drop its gradient).
template <typename scalar_t>
void pack_mask_row(const scalar_t* out, int64_t len, unsigned char* mask) {
  using acc_t = at::opmath_type<scalar_t>;
  for (int64_t byte = 0; byte * 8 < len; ++byte) {
    unsigned bits = 0;
    const int64_t end = std::min<int64_t>(8, len - byte * 8);
    for (int64_t k = 0; k < end; ++k) bits |= (static_cast<acc_t>(out[byte * 8 + k]) > acc_t(0) ? 1u : 0u) << k;
    mask[byte] = static_cast<unsigned char>(bits);
  }
}

template <typename scalar_t>
void bn_forward_cpu(const BnForwardParams& p) {
  using acc_t = at::opmath_type<scalar_t>;
  const RowLayout l{p.rows, p.row_len, p.channels, p.channels_last};
  const auto* x = static_cast<const scalar_t*>(p.x);
  const auto* res = static_cast<const scalar_t*>(p.residual);
  const auto* gamma = static_cast<const acc_t*>(p.weight);
  const auto* beta = static_cast<const acc_t*>(p.bias);
  auto* out = static_cast<scalar_t*>(p.out);
  auto* mean = static_cast<acc_t*>(p.mean);
  auto* var = static_cast<acc_t*>(p.var);
  const int64_t C = p.channels, L = p.row_len;

  // Shift each channel by its first element so the one-pass variance stays well conditioned.
  std::vector<double> shift(C);
  for (int64_t c = 0; c < C; ++c)
    shift[c] = static_cast<double>(p.channels_last ? x[c] : x[c * L]);
  std::vector<double> s1, s2;
  reduce_per_channel(
      l,
      [&](int64_t r, double* a, double* b) {
        const scalar_t* xr = x + r * L;
        if (!p.channels_last) {
          const double sh = shift[r % C];
          double sa = 0.0, sb = 0.0;
#pragma omp simd reduction(+ : sa, sb)
          for (int64_t j = 0; j < L; ++j) {
            const double d = static_cast<double>(xr[j]) - sh;
            sa += d;
            sb += d * d;
          }
          *a += sa;
          *b += sb;
        } else {
#pragma omp simd
          for (int64_t j = 0; j < L; ++j) {
            const double d = static_cast<double>(xr[j]) - shift[j];
            a[j] += d;
            b[j] += d * d;
          }
        }
      },
      s1, s2);
  const double count = static_cast<double>(p.rows) * L / C;
  std::vector<acc_t> A(C), B(C);
  for (int64_t c = 0; c < C; ++c) {
    double m, v;
    moments_from_shifted_sums(count, s1[c], s2[c], shift[c], &m, &v);
    mean[c] = static_cast<acc_t>(m);
    var[c] = static_cast<acc_t>(v);
    bn_scale_shift<acc_t>(gamma[c], beta[c], mean[c], var[c], p.eps, &A[c], &B[c]);
  }
  const int64_t mbytes = mask_row_bytes(L);
  at::parallel_for(0, p.rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, L)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const scalar_t* xr = x + r * L;
      const scalar_t* rr = res ? res + r * L : nullptr;
      scalar_t* orow = out + r * L;
      const int64_t c0 = p.channels_last ? 0 : r % C;
      const int64_t cstep = p.channels_last ? 1 : 0;
#pragma omp simd
      for (int64_t j = 0; j < L; ++j) {
        const int64_t c = c0 + cstep * j;
        acc_t v = static_cast<acc_t>(xr[j]) * A[c] + B[c];
        if (rr) v += static_cast<acc_t>(rr[j]);
        orow[j] = static_cast<scalar_t>(p.relu ? relu_value(v) : v);
      }
      if (p.mask) pack_mask_row(orow, L, p.mask + r * mbytes);
    }
  });
}

// 0/1 keep-flags of the 8 elements a mask byte covers, so a row decodes with vector selects.
struct MaskLut {
  unsigned char keep[256][8];
  MaskLut() {
    for (int b = 0; b < 256; ++b)
      for (int k = 0; k < 8; ++k) keep[b][k] = (b >> k) & 1;
  }
};

// gm[j] = g[j] where the forward's output was positive (mask bit set), else 0.
template <typename scalar_t, typename acc_t>
void masked_grad_row(const scalar_t* g, const unsigned char* mask, int64_t len, acc_t* gm) {
  static const MaskLut lut;
  if (!mask) {
#pragma omp simd
    for (int64_t j = 0; j < len; ++j) gm[j] = static_cast<acc_t>(g[j]);
    return;
  }
  int64_t start_byte = 0;
#ifdef __AVX512F__
  if constexpr (std::is_same_v<scalar_t, float>) {
    // Two mask bytes are one AVX-512 lane mask: a zero-masking load applies them directly.
    for (; start_byte * 8 + 16 <= len; start_byte += 2) {
      uint16_t bits;
      std::memcpy(&bits, mask + start_byte, 2);
      _mm512_storeu_ps(gm + start_byte * 8, _mm512_maskz_loadu_ps(bits, g + start_byte * 8));
    }
  }
#endif
  const int64_t full = len / 8;
  for (int64_t b = start_byte; b < full; ++b) {
    const unsigned char* keep = lut.keep[mask[b]];
#pragma omp simd
    for (int k = 0; k < 8; ++k) gm[b * 8 + k] = keep[k] ? static_cast<acc_t>(g[b * 8 + k]) : acc_t(0);
  }
  for (int64_t j = full * 8; j < len; ++j)
    gm[j] = lut.keep[mask[full]][j - full * 8] ? static_cast<acc_t>(g[j]) : acc_t(0);
}

template <typename acc_t>
acc_t* row_buffer(int64_t len) {
  thread_local std::vector<acc_t> buffer;
  if (static_cast<int64_t>(buffer.size()) < len) buffer.resize(len);
  return buffer.data();
}

template <typename scalar_t>
void bn_backward_cpu(const BnBackwardParams& p) {
  using acc_t = at::opmath_type<scalar_t>;
  const RowLayout l{p.rows, p.row_len, p.channels, p.channels_last};
  const auto* g = static_cast<const scalar_t*>(p.grad_out);
  const auto* x = static_cast<const scalar_t*>(p.x);
  const auto* gamma = static_cast<const acc_t*>(p.weight);
  const auto* mean = static_cast<const acc_t*>(p.mean);
  const auto* var = static_cast<const acc_t*>(p.var);
  auto* gx = static_cast<scalar_t*>(p.grad_x);
  auto* gres = static_cast<scalar_t*>(p.grad_residual);
  const int64_t C = p.channels, L = p.row_len, mbytes = mask_row_bytes(L);
  auto mask_of = [&](int64_t r) { return p.mask ? p.mask + r * mbytes : nullptr; };

  std::vector<double> sum_g, sum_gx;
  reduce_per_channel(
      l,
      [&](int64_t r, double* a, double* b) {
        acc_t* gm = row_buffer<acc_t>(L);
        masked_grad_row(g + r * L, mask_of(r), L, gm);
        const scalar_t* xr = x + r * L;
        if (!p.channels_last) {
          const acc_t m = mean[r % C];
          acc_t sa = 0, sb = 0;  // one plane in acc_t, planes summed in double
#pragma omp simd reduction(+ : sa, sb)
          for (int64_t j = 0; j < L; ++j) {
            sa += gm[j];
            sb += gm[j] * (static_cast<acc_t>(xr[j]) - m);
          }
          *a += sa;
          *b += sb;
        } else {
#pragma omp simd
          for (int64_t j = 0; j < L; ++j) {
            a[j] += gm[j];
            b[j] += gm[j] * (static_cast<acc_t>(xr[j]) - mean[j]);
          }
        }
      },
      sum_g, sum_gx);
  const double count = static_cast<double>(p.rows) * L / C;
  std::vector<acc_t> K(C), C1(C), C0(C);
  auto* gw = static_cast<acc_t*>(p.grad_weight);
  auto* gb = static_cast<acc_t*>(p.grad_bias);
  for (int64_t c = 0; c < C; ++c) {
    bn_backward_coeffs<acc_t>(gamma[c], var[c], p.eps, count, sum_g[c], sum_gx[c], &K[c], &C1[c], &C0[c], &gw[c]);
    gb[c] = static_cast<acc_t>(sum_g[c]);
  }
  at::parallel_for(0, p.rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, L)), [&](int64_t r0, int64_t r1) {
    acc_t* gm = row_buffer<acc_t>(L);
    for (int64_t r = r0; r < r1; ++r) {
      masked_grad_row(g + r * L, mask_of(r), L, gm);
      const scalar_t* xr = x + r * L;
      scalar_t* out = gx + r * L;
      if (!p.channels_last) {
        const int64_t c = r % C;
        const acc_t k = K[c], c1 = C1[c], c0 = C0[c], m = mean[c];
#pragma omp simd
        for (int64_t j = 0; j < L; ++j)
          out[j] = static_cast<scalar_t>(gm[j] * k + (static_cast<acc_t>(xr[j]) - m) * c1 + c0);
      } else {
#pragma omp simd
        for (int64_t j = 0; j < L; ++j)
          out[j] = static_cast<scalar_t>(gm[j] * K[j] + (static_cast<acc_t>(xr[j]) - mean[j]) * C1[j] + C0[j]);
      }
      if (gres) {
#pragma omp simd
        for (int64_t j = 0; j < L; ++j) gres[r * L + j] = static_cast<scalar_t>(gm[j]);
      }
    }
  });
}

}  // namespace

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> bn_add_relu_cpu(const at::Tensor& x,
                                                                           const at::Tensor& weight,
                                                                           const at::Tensor& bias,
                                                                           const std::optional<at::Tensor>& residual,
                                                                           double eps, bool relu) {
  auto c = residual::prepare_bn_forward(x, weight, bias, residual, eps, relu);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, c.x.scalar_type(), "bn_add_relu_cpu",
                                  [&] { bn_forward_cpu<scalar_t>(c.params); });
  return {c.out, c.mean, c.var, c.mask};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> bn_add_relu_backward_cpu(
    const at::Tensor& grad_out, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& mean,
    const at::Tensor& var, const at::Tensor& mask, double eps, bool has_residual) {
  auto c = residual::prepare_bn_backward(grad_out, x, weight, mean, var, mask, eps, has_residual);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, c.x.scalar_type(), "bn_add_relu_backward_cpu",
                                  [&] { bn_backward_cpu<scalar_t>(c.params); });
  return {c.grad_x, c.grad_weight.to(weight.scalar_type()), c.grad_bias.to(weight.scalar_type()), c.grad_residual};
}

TORCH_LIBRARY_IMPL(vision_ext, CPU, m) {
  m.impl("bn_add_relu", &bn_add_relu_cpu);
  m.impl("_bn_add_relu_backward", &bn_add_relu_backward_cpu);
}

}  // namespace vision_ext::cpu
