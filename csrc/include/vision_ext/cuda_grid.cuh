// Launch geometry shared by the CUDA kernels: how many blocks a 1-D launch gets, and the grid-stride
// loop that lets a capped grid cover any number of items with 64-bit indices.
#pragma once

namespace vision_ext {

// Blocks for `work` items of `block` threads: at least one, at most `max_blocks` (the grid-stride
// loops below cover the rest).
inline int grid_for(long long work, int block, int max_blocks = 65535 * 8) {
  long long g = (work + block - 1) / block;
  if (g < 1) g = 1;
  return static_cast<int>(g < max_blocks ? g : max_blocks);
}

// for (i = this thread's first item; i < n; i += the grid's threads), n evaluated once: a statement,
// so the body may `continue`.
#define VE_GRID_LOOP(i, n)                                                                                  \
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x, i##_end = (n); i < i##_end; \
       i += static_cast<long long>(gridDim.x) * blockDim.x)

}  // namespace vision_ext
