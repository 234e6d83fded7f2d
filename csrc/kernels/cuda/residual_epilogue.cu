// out = post(pre(x * scale[c] + shift[c]) + residual): one pass, 16-byte vector
// accesses when a row's length and every pointer allow it.
#include <cstdint>

#include "vision_ext/cuda_scalar.cuh"
#include "vision_ext/residual_launch.h"

namespace vision_ext {
namespace {

template <typename T, int VEC>
struct alignas(sizeof(T) * VEC) Pack {
  T v[VEC];
};

template <typename T, int VEC>
__global__ void epilogue_kernel(EpilogueParams p, int64_t n_packs) {
  using acc_t = typename AccOf<T>::type;
  const auto* scale = static_cast<const acc_t*>(p.scale);
  const auto* shift = static_cast<const acc_t*>(p.shift);
  const auto* x = reinterpret_cast<const Pack<T, VEC>*>(p.x);
  const auto* res = reinterpret_cast<const Pack<T, VEC>*>(p.residual);
  auto* out = reinterpret_cast<Pack<T, VEC>*>(p.out);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < n_packs; k += stride) {
    const int64_t first = k * VEC;  // VEC divides row_len: a pack never straddles two rows
    const int64_t row = first / p.row_len, col = first % p.row_len;
    const Pack<T, VEC> xv = x[k];
    Pack<T, VEC> rv;
    if (res) rv = res[k];
    Pack<T, VEC> ov;
#pragma unroll
    for (int i = 0; i < VEC; ++i) {
      const int64_t c = channel_of(row, col + i, p.channels, p.channels_last);
      const acc_t s = scale ? scale[c] : acc_t(1), t = shift ? shift[c] : acc_t(0);
      const acc_t r = res ? to_acc(rv.v[i]) : acc_t(0);
      ov.v[i] = from_acc<T>(epilogue_value<acc_t>(to_acc(xv.v[i]), s, t, r, p.flags.inner_relu, p.flags.outer_relu));
    }
    out[k] = ov;
  }
}

bool aligned16(const void* ptr) { return ptr == nullptr || reinterpret_cast<uintptr_t>(ptr) % 16 == 0; }

template <typename T>
cudaError_t launch_typed(const EpilogueParams& p, cudaStream_t stream) {
  constexpr int kVec = 16 / sizeof(T);
  const int64_t n = p.rows * p.row_len;
  if (n == 0) return cudaSuccess;
  const int block = 256;
  if (p.row_len % kVec == 0 && aligned16(p.x) && aligned16(p.residual) && aligned16(p.out)) {
    epilogue_kernel<T, kVec><<<grid_for(n / kVec, block), block, 0, stream>>>(p, n / kVec);
  } else {
    epilogue_kernel<T, 1><<<grid_for(n, block), block, 0, stream>>>(p, n);
  }
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_residual_epilogue(const EpilogueParams& p, ScalarKind kind, cudaStream_t stream) {
  return with_scalar_kind(kind, [&](auto v) { return launch_typed<decltype(v)>(p, stream); });
}

}  // namespace vision_ext
