// CUDA kernels of the shape family: each thread walks the runs of one 64-pixel row segment (a run
// cut at a segment edge adds the same integer sums in two parts) and adds them with 64-bit integer
// atomics; a second kernel classifies border pixels one thread per pixel. The maths is
// vision_ext/shape.h's, shared with the CPU kernels.
#include <cstdint>

#include "vision_ext/cuda_grid.cuh"
#include "vision_ext/shape.h"
#include "vision_ext/shape_launch.h"

namespace vision_ext {
namespace {

constexpr int kSegment = 64;
constexpr int kThreads = 128;

// 128-bit add into (w[0] low, w[1] high) with atomics: the carry is exact whatever the order.
__device__ void atomic_add_words(unsigned long long* w, unsigned __int128 v) {
  const unsigned long long lo = static_cast<unsigned long long>(v), hi = static_cast<unsigned long long>(v >> 64);
  const unsigned long long old = atomicAdd(w, lo);
  const unsigned long long carry = old + lo < old ? 1ull : 0ull;
  if (hi + carry) atomicAdd(w + 1, hi + carry);
}

// The run [x, end) of one id starting at x, within [x, limit).
__device__ int run_end(const int32_t* row, int x, int limit) {
  const int32_t s = row[x];
  int e = x + 1;
  while (e < limit && row[e] == s) ++e;
  return e;
}

// Segment (blockIdx.x * blockDim.x + threadIdx.x) of every row: grid-stride over segments x rows.
template <typename F>
__device__ void for_each_run(const int32_t* ids, long long batch, int height, int width, F f) {
  const long long segs = (width + kSegment - 1) / kSegment;
  const long long total = segs * height * batch;
  VE_GRID_LOOP(t, total) {
    const long long line = t / segs;
    const int y = static_cast<int>(line % height);
    const int x0 = static_cast<int>(t % segs) * kSegment;
    const int x1 = x0 + kSegment < width ? x0 + kSegment : width;
    const int32_t* row = ids + line * width;
    for (int x = x0; x < x1;) {
      const int e = run_end(row, x, x1);
      if (row[x] != 0) f(row[x], y, x, e);
      x = e;
    }
  }
}

__global__ void run_sums_kernel(const int32_t* ids, long long batch, int height, int width, unsigned long long* moments,
                                int* box) {
  for_each_run(ids, batch, height, width, [&](int32_t s, int y, int x0, int x1) {
    unsigned __int128 p[4];
    shape::run_power_sums(static_cast<uint64_t>(x0), static_cast<uint64_t>(x1), p);
    unsigned long long* m = moments + static_cast<long long>(s) * shape::kMomentWords;
    for (int k = 0; k < shape::kMoments; ++k) atomic_add_words(m + 2 * k, shape::run_moment(p, y, k));
    int* b = box + 4 * static_cast<long long>(s);
    atomicMin(b, y);
    atomicMin(b + 1, x0);
    atomicMax(b + 2, y);
    atomicMax(b + 3, x1 - 1);
  });
}

__device__ int32_t id_at(const int32_t* plane, int height, int width, int y, int x) {
  return (y < 0 || y >= height || x < 0 || x >= width) ? 0 : plane[static_cast<long long>(y) * width + x];
}

// A region pixel with a 4-neighbour of another id (outside the image: 0).
__device__ bool is_border(const int32_t* plane, int height, int width, int y, int x, int32_t s) {
  return id_at(plane, height, width, y - 1, x) != s || id_at(plane, height, width, y + 1, x) != s ||
         id_at(plane, height, width, y, x - 1) != s || id_at(plane, height, width, y, x + 1) != s;
}

__device__ int border_of(const int32_t* plane, int height, int width, int y, int x, int32_t s) {
  return id_at(plane, height, width, y, x) == s && is_border(plane, height, width, y, x, s) ? 1 : 0;
}

__global__ void perimeter_kernel(const int32_t* ids, long long batch, int height, int width,
                                 unsigned long long* perimeter) {
  const long long hw = static_cast<long long>(height) * width, total = hw * batch;
  VE_GRID_LOOP(i, total) {
    const int32_t* plane = ids + (i / hw) * hw;
    const int y = static_cast<int>((i % hw) / width), x = static_cast<int>(i % width);
    const int32_t s = plane[static_cast<long long>(y) * width + x];
    if (s == 0 || !is_border(plane, height, width, y, x, s)) continue;
    const int n4 = border_of(plane, height, width, y - 1, x, s) + border_of(plane, height, width, y + 1, x, s) +
                   border_of(plane, height, width, y, x - 1, s) + border_of(plane, height, width, y, x + 1, s);
    const int nd = border_of(plane, height, width, y - 1, x - 1, s) + border_of(plane, height, width, y - 1, x + 1, s) +
                   border_of(plane, height, width, y + 1, x - 1, s) + border_of(plane, height, width, y + 1, x + 1, s);
    const int cls = shape::perimeter_class(n4, nd);
    if (cls >= 0) atomicAdd(perimeter + static_cast<long long>(s) * shape::kPerimeterClasses + cls, 1ull);
  }
}

__global__ void extents_kernel(const int32_t* ids, long long batch, int height, int width, const int* box,
                               const long long* row_offset, int* extents) {
  for_each_run(ids, batch, height, width, [&](int32_t s, int y, int x0, int x1) {
    int* e = extents + 2 * (row_offset[s] + y - box[4 * static_cast<long long>(s)]);
    atomicMin(e, x0);
    atomicMax(e + 1, x1 - 1);
  });
}

}  // namespace

cudaError_t launch_shape_sums(const int32_t* ids, long long batch, int height, int width,
                              unsigned long long* moments, unsigned long long* perimeter, int* box,
                              cudaStream_t stream) {
  if (batch == 0 || height == 0 || width == 0) return cudaSuccess;
  const long long segs = (width + kSegment - 1) / kSegment;
  run_sums_kernel<<<grid_for(segs * height * batch, kThreads), kThreads, 0, stream>>>(ids, batch, height, width, moments, box);
  perimeter_kernel<<<grid_for(static_cast<long long>(height) * width * batch, kThreads), kThreads, 0, stream>>>(
      ids, batch, height, width, perimeter);
  return cudaGetLastError();
}

cudaError_t launch_shape_extents(const int32_t* ids, long long batch, int height, int width, const int* box,
                                 const long long* row_offset, int* extents, cudaStream_t stream) {
  if (batch == 0 || height == 0 || width == 0) return cudaSuccess;
  const long long segs = (width + kSegment - 1) / kSegment;
  extents_kernel<<<grid_for(segs * height * batch, kThreads), kThreads, 0, stream>>>(ids, batch, height, width, box,
                                                                             row_offset, extents);
  return cudaGetLastError();
}

}  // namespace vision_ext
