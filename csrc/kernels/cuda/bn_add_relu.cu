// Training batch norm + residual + ReLU on CUDA: reduce (fixed grid, fixed order: deterministic)
// -> per-channel finalize -> elementwise apply. The per-thread bodies, the grid's element
// coverage and the double workspace layout live in vision_ext/residual_body.h (host-tested);
// this file adds the shared-memory block sums and the launches.
#include <cstdint>

#include "vision_ext/residual_body.h"
#include "vision_ext/residual_launch.h"

namespace vision_ext {
namespace {

// Sum of two doubles over a 1-D block of kBnBlock threads; valid in every thread afterwards.
__device__ void block_sum2(double& a, double& b) {
  __shared__ double sa[kBnBlock], sb[kBnBlock];
  const int t = threadIdx.x;
  sa[t] = a;
  sb[t] = b;
  __syncthreads();
  for (int s = kBnBlock / 2; s > 0; s >>= 1) {
    if (t < s) {
      sa[t] += sa[t + s];
      sb[t] += sb[t + s];
    }
    __syncthreads();  // outside the branch: every thread reaches it
  }
  a = sa[0];
  b = sb[0];
}

template <typename Term>
__global__ void reduce_nchw(Term term, int64_t rows, int64_t row_len, int64_t channels, double* ws) {
  double a = 0.0, b = 0.0;
  bn_reduce_nchw_thread(term, rows, row_len, channels, blockIdx.x, blockIdx.y, threadIdx.x, &a, &b);
  block_sum2(a, b);
  if (threadIdx.x == 0) {
    ws[bn_partial_index(blockIdx.y, channels, blockIdx.x)] = a;
    ws[bn_partial_index(blockIdx.y, channels, blockIdx.x) + 1] = b;
  }
}

// A warp reads kBnTile adjacent channels of one pixel; the kBnRows warps are summed in order.
template <typename Term>
__global__ void reduce_nhwc(Term term, int64_t rows, int64_t channels, double* ws) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kBnTile + threadIdx.x;
  double a = 0.0, b = 0.0;
  bn_reduce_nhwc_thread(term, rows, channels, c, blockIdx.y, threadIdx.y, &a, &b);
  __shared__ double sa[kBnRows][kBnTile + 1], sb[kBnRows][kBnTile + 1];
  sa[threadIdx.y][threadIdx.x] = a;
  sb[threadIdx.y][threadIdx.x] = b;
  __syncthreads();
  if (threadIdx.y == 0 && c < channels) {
    for (int y = 1; y < kBnRows; ++y) {
      a += sa[y][threadIdx.x];
      b += sb[y][threadIdx.x];
    }
    ws[bn_partial_index(blockIdx.y, channels, c)] = a;
    ws[bn_partial_index(blockIdx.y, channels, c) + 1] = b;
  }
}

template <typename Term>
cudaError_t launch_reduce(const Term& term, int64_t rows, int64_t row_len, int64_t channels, bool channels_last,
                          double* ws, cudaStream_t stream) {
  if (channels_last) {
    const dim3 grid(static_cast<unsigned>((channels + kBnTile - 1) / kBnTile), kBnSplits);
    reduce_nhwc<<<grid, dim3(kBnTile, kBnRows), 0, stream>>>(term, rows, channels, ws);
  } else {
    const dim3 grid(static_cast<unsigned>(channels), kBnSplits);
    reduce_nchw<<<grid, kBnBlock, 0, stream>>>(term, rows, row_len, channels, ws);
  }
  return cudaGetLastError();
}

// Grid-stride loop of the calling thread over [0, items).
template <typename F>
__device__ void each_item(int64_t items, F f) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < items; i += step) f(i);
}

template <typename T>
using Acc = typename AccOf<T>::type;

template <typename T>
__global__ void finalize_stats(BnForwardParams p, double* ws) {
  each_item(p.channels, [&](int64_t c) { bn_finalize_stats_channel<Acc<T>, DeviceIO, T>(p, ws, c); });
}

template <typename T>
__global__ void apply_forward(BnForwardParams p, const double* ws) {
  each_item(bn_forward_items(p), [&](int64_t t) { bn_forward_byte<Acc<T>, DeviceIO, T>(p, ws, t); });
}

template <typename T>
__global__ void finalize_grads(BnBackwardParams p, double* ws) {
  each_item(p.channels, [&](int64_t c) { bn_finalize_grads_channel<Acc<T>>(p, ws, c); });
}

template <typename T>
__global__ void apply_backward(BnBackwardParams p, const double* ws) {
  each_item(p.rows * p.row_len, [&](int64_t i) { bn_backward_item<Acc<T>, DeviceIO, T>(p, ws, i); });
}

// Every launch is checked, so a failed one is reported by the op that made it.
template <typename T>
cudaError_t forward_typed(const BnForwardParams& p, double* ws, cudaStream_t stream) {
  const BnStatsTerm<Acc<T>, DeviceIO, T> term{static_cast<const T*>(p.x), p.row_len, p.channels_last};
  cudaError_t err = launch_reduce(term, p.rows, p.row_len, p.channels, p.channels_last, ws, stream);
  if (err != cudaSuccess) return err;
  finalize_stats<T><<<grid_for(p.channels, 128), 128, 0, stream>>>(p, ws);
  if ((err = cudaGetLastError()) != cudaSuccess) return err;
  apply_forward<T><<<grid_for(bn_forward_items(p), kBnBlock), kBnBlock, 0, stream>>>(p, ws);
  return cudaGetLastError();
}

template <typename T>
cudaError_t backward_typed(const BnBackwardParams& p, double* ws, cudaStream_t stream) {
  if (p.rows * p.row_len == 0) {  // no elements: zero sums, as the CPU op returns
    const size_t bytes = static_cast<size_t>(p.channels) * sizeof(Acc<T>);
    const cudaError_t err = cudaMemsetAsync(p.grad_weight, 0, bytes, stream);
    return err == cudaSuccess ? cudaMemsetAsync(p.grad_bias, 0, bytes, stream) : err;
  }
  const BnGradTerm<Acc<T>, DeviceIO, T> term{static_cast<const T*>(p.grad_out), static_cast<const T*>(p.x), p.mask,
                                             static_cast<const Acc<T>*>(p.mean), p.row_len};
  cudaError_t err = launch_reduce(term, p.rows, p.row_len, p.channels, p.channels_last, ws, stream);
  if (err != cudaSuccess) return err;
  finalize_grads<T><<<grid_for(p.channels, 128), 128, 0, stream>>>(p, ws);
  if ((err = cudaGetLastError()) != cudaSuccess) return err;
  apply_backward<T><<<grid_for(p.rows * p.row_len, kBnBlock), kBnBlock, 0, stream>>>(p, ws);
  return cudaGetLastError();
}

}  // namespace

size_t bn_workspace_bytes(int64_t channels) {
  return static_cast<size_t>(bn_workspace_doubles(channels)) * sizeof(double);
}

cudaError_t launch_bn_add_relu_forward(const BnForwardParams& p, ScalarKind kind, void* workspace,
                                       cudaStream_t stream) {
  if (p.rows * p.row_len == 0) return cudaSuccess;  // the op rejects this; nothing to compute
  double* ws = static_cast<double*>(workspace);
  return with_scalar_kind(kind, [&](auto v) { return forward_typed<decltype(v)>(p, ws, stream); });
}

cudaError_t launch_bn_add_relu_backward(const BnBackwardParams& p, ScalarKind kind, void* workspace,
                                        cudaStream_t stream) {
  double* ws = static_cast<double*>(workspace);
  return with_scalar_kind(kind, [&](auto v) { return backward_typed<decltype(v)>(p, ws, stream); });
}

}  // namespace vision_ext
