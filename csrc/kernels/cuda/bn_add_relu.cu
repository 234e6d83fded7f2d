// Training batch norm + residual + ReLU on CUDA. Per-channel sums use a fixed
// grid (channel tiles x kSplits) and a fixed reduction order, so results are
// deterministic; partial sums go through a double workspace:
//   [kSplits][C][2] partials, then [C][4] per-channel coefficients.
#include <cstdint>

#include "vision_ext/cuda_scalar.cuh"
#include "vision_ext/residual_launch.h"

namespace vision_ext {
namespace {

constexpr int kSplits = 32;
constexpr int kBlock = 256;

// --- per-element contributions to the two per-channel sums -------------------------------
template <typename T>
struct StatsTerm {  // (x - shift, (x - shift)^2), shift = the channel's first element
  const T* x;
  int64_t row_len;
  bool channels_last;
  __device__ void operator()(int64_t row, int64_t col, int64_t c, double* a, double* b) const {
    const double shift = to_acc(channels_last ? x[c] : x[c * row_len]);
    const double d = static_cast<double>(to_acc(x[row * row_len + col])) - shift;
    *a += d;
    *b += d * d;
  }
};

template <typename T>
struct GradTerm {  // (gm, gm * (x - mean)), gm the ReLU-masked output gradient
  const T* g;
  const T* x;
  const unsigned char* mask;
  const void* mean;
  int64_t row_len;
  __device__ void operator()(int64_t row, int64_t col, int64_t c, double* a, double* b) const {
    using acc_t = typename AccOf<T>::type;
    const int64_t i = row * row_len + col;
    const bool keep = mask == nullptr || mask_bit(mask, mask_row_bytes(row_len), row, col);
    const double gm = keep ? static_cast<double>(to_acc(g[i])) : 0.0;
    *a += gm;
    *b += gm * (static_cast<double>(to_acc(x[i])) - static_cast<double>(static_cast<const acc_t*>(mean)[c]));
  }
};

// Block-wide sum of two doubles; the result is valid in thread 0.
__device__ void block_sum2(double& a, double& b) {
  __shared__ double sa[kBlock], sb[kBlock];
  const int t = threadIdx.x + threadIdx.y * blockDim.x;
  sa[t] = a;
  sb[t] = b;
  __syncthreads();
  for (int s = kBlock / 2; s > 0; s >>= 1) {
    if (t < s) {
      sa[t] += sa[t + s];
      sb[t] += sb[t + s];
    }
    __syncthreads();
  }
  a = sa[0];
  b = sb[0];
}

// NCHW: block (channel c, split y) walks the channel's N*HW elements.
template <typename Term>
__global__ void reduce_nchw(Term term, int64_t rows, int64_t row_len, int64_t channels, double* partial) {
  const int64_t c = blockIdx.x;
  const int64_t per_channel = rows / channels * row_len;
  double a = 0.0, b = 0.0;
  for (int64_t k = static_cast<int64_t>(blockIdx.y) * kBlock + threadIdx.x; k < per_channel;
       k += static_cast<int64_t>(kSplits) * kBlock) {
    const int64_t n = k / row_len, col = k % row_len;
    term(n * channels + c, col, c, &a, &b);
  }
  block_sum2(a, b);
  if (threadIdx.x == 0) {
    partial[(blockIdx.y * channels + c) * 2] = a;
    partial[(blockIdx.y * channels + c) * 2 + 1] = b;
  }
}

// NHWC: block (32 channels, split y) of 32 x 8 threads; a warp reads 32 adjacent channels.
template <typename Term>
__global__ void reduce_nhwc(Term term, int64_t rows, int64_t channels, double* partial) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * 32 + threadIdx.x;
  double a = 0.0, b = 0.0;
  if (c < channels)
    for (int64_t r = static_cast<int64_t>(blockIdx.y) * 8 + threadIdx.y; r < rows; r += kSplits * 8)
      term(r, c, c, &a, &b);
  __shared__ double sa[8][33], sb[8][33];
  sa[threadIdx.y][threadIdx.x] = a;
  sb[threadIdx.y][threadIdx.x] = b;
  __syncthreads();
  if (threadIdx.y == 0 && c < channels) {
    for (int y = 1; y < 8; ++y) {
      a += sa[y][threadIdx.x];
      b += sb[y][threadIdx.x];
    }
    partial[(blockIdx.y * channels + c) * 2] = a;
    partial[(blockIdx.y * channels + c) * 2 + 1] = b;
  }
}

template <typename Term>
void launch_reduce(const Term& term, int64_t rows, int64_t row_len, int64_t channels, bool channels_last,
                   double* partial, cudaStream_t stream) {
  if (channels_last) {
    const dim3 grid(static_cast<unsigned>((channels + 31) / 32), kSplits);
    reduce_nhwc<<<grid, dim3(32, 8), 0, stream>>>(term, rows, channels, partial);
  } else {
    const dim3 grid(static_cast<unsigned>(channels), kSplits);
    reduce_nchw<<<grid, kBlock, 0, stream>>>(term, rows, row_len, channels, partial);
  }
}

// Sums a channel's kSplits partials in a fixed order.
__device__ void channel_sums(const double* partial, int64_t channels, int64_t c, double* a, double* b) {
  *a = 0.0;
  *b = 0.0;
  for (int s = 0; s < kSplits; ++s) {
    *a += partial[(s * channels + c) * 2];
    *b += partial[(s * channels + c) * 2 + 1];
  }
}

template <typename T>
__global__ void finalize_stats(BnForwardParams p, const double* partial, double* coef) {
  using acc_t = typename AccOf<T>::type;
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= p.channels) return;
  double s1, s2, mean, var;
  channel_sums(partial, p.channels, c, &s1, &s2);
  const T* x = static_cast<const T*>(p.x);
  const double shift = to_acc(p.channels_last ? x[c] : x[c * p.row_len]);
  moments_from_shifted_sums(static_cast<double>(p.rows) * p.row_len / p.channels, s1, s2, shift, &mean, &var);
  static_cast<acc_t*>(p.mean)[c] = static_cast<acc_t>(mean);
  static_cast<acc_t*>(p.var)[c] = static_cast<acc_t>(var);
  acc_t a, b;
  bn_scale_shift<acc_t>(static_cast<const acc_t*>(p.weight)[c], static_cast<const acc_t*>(p.bias)[c],
                        static_cast<acc_t>(mean), static_cast<acc_t>(var), p.eps, &a, &b);
  coef[c * 4] = a;
  coef[c * 4 + 1] = b;
}

// One thread per mask byte: 8 consecutive elements of one row.
template <typename T>
__global__ void apply_forward(BnForwardParams p, const double* coef) {
  using acc_t = typename AccOf<T>::type;
  const int64_t mbytes = mask_row_bytes(p.row_len), total = p.rows * mbytes;
  const T* x = static_cast<const T*>(p.x);
  const T* res = static_cast<const T*>(p.residual);
  T* out = static_cast<T*>(p.out);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < total; t += stride) {
    const int64_t row = t / mbytes, col0 = (t % mbytes) * 8;
    const int64_t end = p.row_len - col0 < 8 ? p.row_len - col0 : 8;
    unsigned bits = 0;
    for (int64_t k = 0; k < end; ++k) {
      const int64_t col = col0 + k, i = row * p.row_len + col;
      const int64_t c = channel_of(row, col, p.channels, p.channels_last);
      acc_t v = to_acc(x[i]) * static_cast<acc_t>(coef[c * 4]) + static_cast<acc_t>(coef[c * 4 + 1]);
      if (res) v += to_acc(res[i]);
      if (p.relu) v = relu_value(v);
      const T stored = from_acc<T>(v);
      out[i] = stored;
      bits |= (to_acc(stored) > acc_t(0) ? 1u : 0u) << k;
    }
    if (p.mask) p.mask[t] = static_cast<unsigned char>(bits);
  }
}

template <typename T>
__global__ void finalize_grads(BnBackwardParams p, const double* partial, double* coef) {
  using acc_t = typename AccOf<T>::type;
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= p.channels) return;
  double sum_g, sum_gx;
  channel_sums(partial, p.channels, c, &sum_g, &sum_gx);
  acc_t k, c1, c0, gw;
  bn_backward_coeffs<acc_t>(static_cast<const acc_t*>(p.weight)[c], static_cast<const acc_t*>(p.var)[c], p.eps,
                            static_cast<double>(p.rows) * p.row_len / p.channels, sum_g, sum_gx, &k, &c1, &c0, &gw);
  static_cast<acc_t*>(p.grad_weight)[c] = gw;
  static_cast<acc_t*>(p.grad_bias)[c] = static_cast<acc_t>(sum_g);
  coef[c * 4] = k;
  coef[c * 4 + 1] = c1;
  coef[c * 4 + 2] = c0;
  coef[c * 4 + 3] = static_cast<const acc_t*>(p.mean)[c];
}

template <typename T>
__global__ void apply_backward(BnBackwardParams p, const double* coef) {
  using acc_t = typename AccOf<T>::type;
  const int64_t n = p.rows * p.row_len, mbytes = mask_row_bytes(p.row_len);
  const T* g = static_cast<const T*>(p.grad_out);
  const T* x = static_cast<const T*>(p.x);
  T* gx = static_cast<T*>(p.grad_x);
  T* gres = static_cast<T*>(p.grad_residual);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int64_t row = i / p.row_len, col = i % p.row_len;
    const int64_t c = channel_of(row, col, p.channels, p.channels_last);
    const bool keep = p.mask == nullptr || mask_bit(p.mask, mbytes, row, col);
    const acc_t gm = keep ? to_acc(g[i]) : acc_t(0);
    const acc_t centred = to_acc(x[i]) - static_cast<acc_t>(coef[c * 4 + 3]);
    gx[i] = from_acc<T>(gm * static_cast<acc_t>(coef[c * 4]) + centred * static_cast<acc_t>(coef[c * 4 + 1]) +
                        static_cast<acc_t>(coef[c * 4 + 2]));
    if (gres) gres[i] = from_acc<T>(gm);
  }
}

template <typename T>
cudaError_t forward_typed(const BnForwardParams& p, double* ws, cudaStream_t stream) {
  double* partial = ws;
  double* coef = ws + static_cast<int64_t>(kSplits) * p.channels * 2;
  launch_reduce(StatsTerm<T>{static_cast<const T*>(p.x), p.row_len, p.channels_last}, p.rows, p.row_len,
                p.channels, p.channels_last, partial, stream);
  finalize_stats<T><<<grid_for(p.channels, 128), 128, 0, stream>>>(p, partial, coef);
  apply_forward<T><<<grid_for(p.rows * mask_row_bytes(p.row_len), kBlock), kBlock, 0, stream>>>(p, coef);
  return cudaGetLastError();
}

template <typename T>
cudaError_t backward_typed(const BnBackwardParams& p, double* ws, cudaStream_t stream) {
  double* partial = ws;
  double* coef = ws + static_cast<int64_t>(kSplits) * p.channels * 2;
  launch_reduce(GradTerm<T>{static_cast<const T*>(p.grad_out), static_cast<const T*>(p.x), p.mask, p.mean, p.row_len},
                p.rows, p.row_len, p.channels, p.channels_last, partial, stream);
  finalize_grads<T><<<grid_for(p.channels, 128), 128, 0, stream>>>(p, partial, coef);
  apply_backward<T><<<grid_for(p.rows * p.row_len, kBlock), kBlock, 0, stream>>>(p, coef);
  return cudaGetLastError();
}

}  // namespace

size_t bn_workspace_bytes(int64_t channels) {
  return static_cast<size_t>(channels) * (kSplits * 2 + 4) * sizeof(double);
}

cudaError_t launch_bn_add_relu_forward(const BnForwardParams& p, ScalarKind kind, void* workspace,
                                       cudaStream_t stream) {
  if (p.rows * p.row_len == 0) return cudaSuccess;
  double* ws = static_cast<double*>(workspace);
  return with_scalar_kind(kind, [&](auto v) { return forward_typed<decltype(v)>(p, ws, stream); });
}

cudaError_t launch_bn_add_relu_backward(const BnBackwardParams& p, ScalarKind kind, void* workspace,
                                        cudaStream_t stream) {
  if (p.rows * p.row_len == 0) return cudaSuccess;
  double* ws = static_cast<double*>(workspace);
  return with_scalar_kind(kind, [&](auto v) { return backward_typed<decltype(v)>(p, ws, stream); });
}

}  // namespace vision_ext
