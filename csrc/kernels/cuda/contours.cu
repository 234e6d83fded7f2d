// CUDA kernels of find_contours: one thread per marching-squares cell. Torch-free. The per-cell
// maths is vision_ext/contours.h's, shared with the CPU levels, so the segments are the same doubles.
#include <cuda_runtime.h>

#include <cstdint>

#include "vision_ext/cuda_grid.cuh"
#include "vision_ext/contours.h"
#include "vision_ext/contours_launch.h"

namespace vision_ext {
namespace {

using namespace vision_ext::contours;

constexpr int kThreads = 256;

__device__ uint8_t code_at(const double* v, const uint8_t* m, long long w, long long r, long long c, double level) {
  const long long i = r * w + c, j = i + w;
  auto bits = [&](long long k) { return pixel_bits(v[k], level, m ? m[k] : uint8_t(1)); };
  return cell_code(bits(i), bits(i + 1), bits(j), bits(j + 1));
}

__global__ void count_kernel(const double* v, const uint8_t* m, long long h, long long w, double level, int32_t* counts) {
  const long long cells = (h - 1) * (w - 1);
  VE_GRID_LOOP(i, cells) {
    const long long r = i / (w - 1), c = i % (w - 1);
    counts[i] = segments_of_code(code_at(v, m, w, r, c, level));
  }
}

__global__ void emit_kernel(const double* v, const uint8_t* m, long long h, long long w, double level, bool high,
                            const int64_t* offsets, Segment* out) {
  const long long cells = (h - 1) * (w - 1);
  VE_GRID_LOOP(i, cells) {
    const long long r = i / (w - 1), c = i % (w - 1);
    const uint8_t code = code_at(v, m, w, r, c, level);
    if (!code) continue;
    const long long k = r * w + c;
    cell_segments(code, r, c, v[k], v[k + 1], v[k + w], v[k + w + 1], level, high, h, w, out + offsets[i]);
  }
}

}  // namespace

cudaError_t launch_contour_count(const double* values, const uint8_t* mask, long long h, long long w, double level,
                                 int32_t* counts, cudaStream_t stream) {
  count_kernel<<<grid_for((h - 1) * (w - 1), kThreads), kThreads, 0, stream>>>(values, mask, h, w, level, counts);
  return cudaGetLastError();
}

cudaError_t launch_contour_emit(const double* values, const uint8_t* mask, long long h, long long w, double level,
                                bool fully_connected_high, const int64_t* offsets, contours::Segment* out,
                                cudaStream_t stream) {
  emit_kernel<<<grid_for((h - 1) * (w - 1), kThreads), kThreads, 0, stream>>>(values, mask, h, w, level, fully_connected_high,
                                                                      offsets, out);
  return cudaGetLastError();
}

}  // namespace vision_ext
