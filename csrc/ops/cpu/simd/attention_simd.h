// The per-level rows of the small-head attention kernel (attention_simd.cpp) behind
// ../attention_kernel.cpp: softmax(q k^T * scale) v for one head, a range of query rows. Torch-free.
#pragma once
#include <cstdint>

#include "../cpu_dispatch.h"

namespace vision_ext::cpu {

// Lanes per key block: a fixed width at every level, so every level sums in the same order.
constexpr int64_t kAttentionKeyBlock = 16;
// Query rows a level may take at once (attention_simd.cpp): the scratch holds this many rows of scores.
constexpr int kAttentionMaxRows = 2;

struct AttentionHead {
  const float* q;   // query row i at q + i * q_row, head_dim contiguous floats
  int64_t q_row;
  const float* kt;     // keys transposed: kt[d * ld + j] = k[j][d], zero for m <= j < mp
  const float* vt;     // values transposed the same way
  int64_t m, mp, ld;   // keys, keys rounded up to kAttentionKeyBlock, floats between panel rows (>= mp)
  float* out;       // output row i at out + i * out_row
  int64_t out_row;
  float scale;
};

struct AttentionKernels {
  // Rows [r0, r1) of one head with head_dim d (8 or 16); scores: kAttentionMaxRows * ld floats of scratch,
  // 64-byte aligned (row r at scores + r * ld).
  void (*rows)(const AttentionHead& h, int d, int64_t r0, int64_t r1, float* scores);
};

}  // namespace vision_ext::cpu

VE_CPU_KERNELS(AttentionKernels, attention)
