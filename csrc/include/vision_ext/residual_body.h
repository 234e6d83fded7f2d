// Per-thread bodies of the residual family's CUDA kernels (csrc/kernels/cuda/residual_epilogue.cu,
// bn_add_relu.cu). CUDA-free and VE_HD: the kernels are loops around these bodies, and
// tests/cpp/test_residual_headers.cpp runs the same bodies on the host, so the index maths,
// vector-path conditions, mask packing, reduction coverage and workspace layout are tested
// without a GPU. Only the in-block shared-memory sums stay in the .cu files.
// IO: static `M load(const T*, int64_t)` and `void store(T*, int64_t, M)`, M the accumulate type.
#pragma once
#include <stdint.h>

#include "vision_ext/batch_norm.h"
#include "vision_ext/epilogue.h"
#include "vision_ext/macros.h"

namespace vision_ext {

// ---- residual epilogue ----------------------------------------------------------------------
template <typename T, int VEC>
struct alignas(sizeof(T) * VEC) Pack {
  T v[VEC];
};

// 16-byte packs need every data pointer 16-byte aligned (a sliced tensor keeps its storage
// offset, so its data pointer may not be) and row_len a multiple of the pack, so that a pack
// never straddles two rows (the channel of an NCHW pack comes from its one row).
inline bool epilogue_vectorizable(const EpilogueParams& p, int64_t elem_bytes) {
  const auto aligned = [](const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; };
  return p.row_len % (16 / elem_bytes) == 0 && aligned(p.x) && aligned(p.out) &&
         (p.residual == nullptr || aligned(p.residual));
}

// Pack k (elements k*VEC .. k*VEC+VEC-1); out may alias x: a pack is read before it is written.
template <typename M, typename IO, typename T, int VEC>
VE_HD void epilogue_pack(const EpilogueParams& p, int64_t k) {
  using P = Pack<T, VEC>;
  const auto* scale = static_cast<const M*>(p.scale);
  const auto* shift = static_cast<const M*>(p.shift);
  const P xv = static_cast<const P*>(p.x)[k];
  P rv = xv;  // overwritten when there is a residual; never read otherwise
  if (p.residual) rv = static_cast<const P*>(p.residual)[k];
  const int64_t first = k * VEC, row = first / p.row_len, col = first % p.row_len;
  P ov;
  for (int i = 0; i < VEC; ++i) {
    const int64_t c = channel_of(row, col + i, p.channels, p.channels_last);
    const M s = scale ? scale[c] : M(1), t = shift ? shift[c] : M(0);
    const M r = p.residual ? IO::load(rv.v, i) : M(0);
    IO::store(ov.v, i, epilogue_value<M>(IO::load(xv.v, i), s, t, r, p.flags.inner_relu, p.flags.outer_relu));
  }
  static_cast<P*>(p.out)[k] = ov;
}

// ---- batch norm + add + ReLU ------------------------------------------------------------------
// Per-channel sums use a fixed grid and order (deterministic): NCHW blocks (channel, split) of
// kBnBlock threads; NHWC blocks (kBnTile channels, split) of kBnTile x kBnRows threads.
constexpr int kBnSplits = 32;
constexpr int kBnBlock = 256;
constexpr int kBnTile = 32;
constexpr int kBnRows = 8;

// Workspace of doubles: [kBnSplits][C][2] partial sums, then [C][4] per-channel coefficients.
VE_HD int64_t bn_partial_index(int64_t split, int64_t channels, int64_t c) { return (split * channels + c) * 2; }
VE_HD int64_t bn_coef_offset(int64_t channels) { return static_cast<int64_t>(kBnSplits) * channels * 2; }
VE_HD int64_t bn_workspace_doubles(int64_t channels) { return bn_coef_offset(channels) + channels * 4; }
VE_HD double bn_count(int64_t rows, int64_t row_len, int64_t channels) {
  return static_cast<double>(rows) * static_cast<double>(row_len) / static_cast<double>(channels);
}

// Forward sums (x - shift, (x - shift)^2) with shift the channel's first element, as the CPU.
template <typename M, typename IO, typename T>
struct BnStatsTerm {
  const T* x;
  int64_t row_len;
  bool channels_last;
  VE_HD double shift(int64_t c) const { return bn_shift(IO::load(x, channels_last ? c : c * row_len)); }
  VE_HD void operator()(int64_t row, int64_t col, int64_t c, double* a, double* b) const {
    const double d = static_cast<double>(IO::load(x, row * row_len + col)) - shift(c);
    *a += d;
    *b += d * d;
  }
};

// Backward sums (gm, gm * (x - mean)), gm the output gradient where the forward's mask bit is set.
template <typename M, typename IO, typename T>
struct BnGradTerm {
  const T* g;
  const T* x;
  const unsigned char* mask;
  const M* mean;
  int64_t row_len;
  VE_HD void operator()(int64_t row, int64_t col, int64_t c, double* a, double* b) const {
    const int64_t i = row * row_len + col;
    const bool keep = mask == nullptr || mask_bit(mask, mask_row_bytes(row_len), row, col);
    const double gm = keep ? static_cast<double>(IO::load(g, i)) : 0.0;
    *a += gm;
    *b += gm * (static_cast<double>(IO::load(x, i)) - static_cast<double>(mean[c]));
  }
};

// Thread `tid` of NCHW block (c, split): the channel's N*HW elements k = split*kBnBlock + tid + j*kBnSplits*kBnBlock.
template <typename Term>
VE_HD void bn_reduce_nchw_thread(const Term& term, int64_t rows, int64_t row_len, int64_t channels, int64_t c,
                                 int64_t split, int64_t tid, double* a, double* b) {
  const int64_t per_channel = rows / channels * row_len;
  for (int64_t k = split * kBnBlock + tid; k < per_channel; k += static_cast<int64_t>(kBnSplits) * kBnBlock)
    term(k / row_len * channels + c, k % row_len, c, a, b);
}

// Thread (c, ty) of NHWC block (c / kBnTile, split): rows r = split*kBnRows + ty + j*kBnSplits*kBnRows.
template <typename Term>
VE_HD void bn_reduce_nhwc_thread(const Term& term, int64_t rows, int64_t channels, int64_t c, int64_t split,
                                 int64_t ty, double* a, double* b) {
  if (c >= channels) return;
  for (int64_t r = split * kBnRows + ty; r < rows; r += static_cast<int64_t>(kBnSplits) * kBnRows)
    term(r, c, c, a, b);
}

// A channel's two sums: its kBnSplits partials added in a fixed order.
VE_HD void bn_channel_sums(const double* ws, int64_t channels, int64_t c, double* a, double* b) {
  *a = 0.0;
  *b = 0.0;
  for (int s = 0; s < kBnSplits; ++s) {
    *a += ws[bn_partial_index(s, channels, c)];
    *b += ws[bn_partial_index(s, channels, c) + 1];
  }
}

// Channel c: batch mean and biased variance (outputs), and the folded scale/shift into coef.
template <typename M, typename IO, typename T>
VE_HD void bn_finalize_stats_channel(const BnForwardParams& p, double* ws, int64_t c) {
  double s1, s2, mean, var;
  bn_channel_sums(ws, p.channels, c, &s1, &s2);
  const BnStatsTerm<M, IO, T> term{static_cast<const T*>(p.x), p.row_len, p.channels_last};
  moments_from_shifted_sums(bn_count(p.rows, p.row_len, p.channels), s1, s2, term.shift(c), &mean, &var);
  const M centre = static_cast<M>(mean);
  static_cast<M*>(p.mean)[c] = centre;
  static_cast<M*>(p.var)[c] = static_cast<M>(var);
  M a, b;
  bn_fold_centred<M>(static_cast<const M*>(p.weight)[c], static_cast<const M*>(p.bias)[c], mean, centre,
                     static_cast<M>(var), p.eps, &a, &b);
  double* coef = ws + bn_coef_offset(p.channels) + c * 4;
  coef[0] = a;
  coef[1] = b;
  coef[2] = centre;
}

// One mask byte t: the (up to) 8 consecutive elements of one row it covers, bit k = element k,
// set where the stored output is > 0 (what the CPU packs and both backwards read).
VE_HD int64_t bn_forward_items(const BnForwardParams& p) { return p.rows * mask_row_bytes(p.row_len); }

template <typename M, typename IO, typename T>
VE_HD void bn_forward_byte(const BnForwardParams& p, const double* ws, int64_t t) {
  const double* coef = ws + bn_coef_offset(p.channels);
  const int64_t mbytes = mask_row_bytes(p.row_len), row = t / mbytes, col0 = t % mbytes * 8;
  const int64_t end = p.row_len - col0 < 8 ? p.row_len - col0 : 8;
  const auto* x = static_cast<const T*>(p.x);
  const auto* res = static_cast<const T*>(p.residual);
  auto* out = static_cast<T*>(p.out);
  unsigned bits = 0;
  for (int64_t k = 0; k < end; ++k) {
    const int64_t col = col0 + k, i = row * p.row_len + col;
    const int64_t c = channel_of(row, col, p.channels, p.channels_last);
    const M r = res ? IO::load(res, i) : M(0);
    IO::store(out, i, bn_output<M>(IO::load(x, i), static_cast<M>(coef[c * 4 + 2]), static_cast<M>(coef[c * 4]),
                                   static_cast<M>(coef[c * 4 + 1]), r, res != nullptr, p.relu));
    bits |= (IO::load(out, i) > M(0) ? 1u : 0u) << k;  // the rounded value decides, as on the CPU
  }
  if (p.mask) p.mask[t] = static_cast<unsigned char>(bits);
}

// Channel c: grad_weight, grad_bias (outputs) and the grad_x coefficients (k, c1, c0, mean) into coef.
template <typename M>
VE_HD void bn_finalize_grads_channel(const BnBackwardParams& p, double* ws, int64_t c) {
  double sum_g, sum_gx;
  bn_channel_sums(ws, p.channels, c, &sum_g, &sum_gx);
  M k, c1, c0, gw;
  bn_backward_coeffs<M>(static_cast<const M*>(p.weight)[c], static_cast<const M*>(p.var)[c], p.eps,
                        bn_count(p.rows, p.row_len, p.channels), sum_g, sum_gx, &k, &c1, &c0, &gw);
  static_cast<M*>(p.grad_weight)[c] = gw;
  static_cast<M*>(p.grad_bias)[c] = static_cast<M>(sum_g);
  double* coef = ws + bn_coef_offset(p.channels) + c * 4;
  coef[0] = k;
  coef[1] = c1;
  coef[2] = c0;
  coef[3] = static_cast<const M*>(p.mean)[c];
}

// Element i: grad_x = gm*k + (x - mean)*c1 + c0 (x - mean first: see bn_backward_coeffs), grad_residual = gm.
template <typename M, typename IO, typename T>
VE_HD void bn_backward_item(const BnBackwardParams& p, const double* ws, int64_t i) {
  const double* coef = ws + bn_coef_offset(p.channels);
  const int64_t row = i / p.row_len, col = i % p.row_len;
  const int64_t c = channel_of(row, col, p.channels, p.channels_last);
  const bool keep = p.mask == nullptr || mask_bit(p.mask, mask_row_bytes(p.row_len), row, col);
  const M gm = keep ? IO::load(static_cast<const T*>(p.grad_out), i) : M(0);
  const M centred = IO::load(static_cast<const T*>(p.x), i) - static_cast<M>(coef[c * 4 + 3]);
  IO::store(static_cast<T*>(p.grad_x), i,
            bn_grad_input<M>(gm, centred, static_cast<M>(coef[c * 4]), static_cast<M>(coef[c * 4 + 1]),
                             static_cast<M>(coef[c * 4 + 2])));
  if (p.grad_residual) IO::store(static_cast<T*>(p.grad_residual), i, gm);
}

}  // namespace vision_ext

#ifdef __CUDACC__
#include "vision_ext/cuda_scalar.cuh"

namespace vision_ext {
// IO of the CUDA kernels: loads and stores through cuda_scalar.cuh's accumulate type.
struct DeviceIO {
  template <typename T>
  __device__ static auto load(const T* p, int64_t i) {
    return to_acc(p[i]);
  }
  template <typename T, typename M>
  __device__ static void store(T* p, int64_t i, M v) {
    p[i] = from_acc<T>(v);
  }
};
}  // namespace vision_ext
#endif
