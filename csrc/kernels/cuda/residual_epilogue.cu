// out = post(pre(x * scale[c] + shift[c]) + residual): one pass, 16-byte vector accesses when
// a row's length and every pointer allow it (epilogue_vectorizable); the per-pack body is
// vision_ext/residual_body.h's epilogue_pack, host-tested.
#include <cstdint>

#include "vision_ext/residual_body.h"
#include "vision_ext/residual_launch.h"

namespace vision_ext {
namespace {

template <typename T, int VEC>
__global__ void epilogue_kernel(EpilogueParams p, int64_t n_packs) {
  using M = typename AccOf<T>::type;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < n_packs; k += stride)
    epilogue_pack<M, DeviceIO, T, VEC>(p, k);
}

template <typename T>
cudaError_t launch_typed(const EpilogueParams& p, cudaStream_t stream) {
  constexpr int kVec = 16 / sizeof(T);
  const int64_t n = p.rows * p.row_len;
  if (n == 0) return cudaSuccess;
  const int block = 256;
  if (epilogue_vectorizable(p, sizeof(T))) {
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
