// Attention for small heads (head_dim 8 or 16, the U-Net's first stages), compiled once per level.
// ATen's flash kernel runs such heads as GEMMs of depth 8 through score tiles in memory; here one
// query row's scores stay in an L1 buffer: pass 1 takes q . k for 16 keys at a time (d broadcast
// FMAs over the transposed keys), pass 2 takes exp(s - max) (vision_ext/group_norm.h's gn_exp) and
// accumulates p * v per head_dim lane. Sums run in 16 lanes whatever the level (simd/wide.h), so
// avx2 and avx512 give the same bits.
#include <cmath>
#include <cstdint>
#include <limits>

#include "attention_simd.h"
#include "exp_ops.h"
#include "isa.h"
#include "vec.h"
#include "wide.h"

namespace vision_ext::cpu::VE_CPU_NS {
namespace {

using W = Wide<float, kAttentionKeyBlock>;
using V = Vec<float, W::L>;

VE_WIDE W fma16(W a, W b, W c) {
  return each_register(a, b, c, [](V x, V y, V z) { return mul_add(x, y, z); });
}

VE_WIDE W max16(W a, W b) {
  return wide_map(a, b, [](auto x, auto y) { return x > y ? x : y; });
}

inline float sum_lanes(W a) {
  float s = 0.0f;
  for (int i = 0; i < W::kLanes; ++i) s += a.get(i);  // fixed order: the same bits at every level
  return s;
}

template <int D>
void rows_d(const AttentionHead& h, int64_t r0, int64_t r1, float* s) {
  constexpr int64_t B = kAttentionKeyBlock;
  const float ninf = -std::numeric_limits<float>::infinity();
  for (int64_t i = r0; i < r1; ++i) {
    const float* qi = h.q + i * h.q_row;
    W q[D];
    for (int d = 0; d < D; ++d) q[d] = W(qi[d] * h.scale);
    for (int64_t j = 0; j < h.mp; j += B) {
      W acc = W(0.0f);
      for (int d = 0; d < D; ++d) acc = fma16(q[d], W::load(h.kt + d * h.mp + j), acc);
      acc.store(s + j);
    }
    for (int64_t j = h.m; j < h.mp; ++j) s[j] = ninf;  // padding keys take no weight
    W mx(ninf);
    for (int64_t j = 0; j < h.mp; j += B) mx = max16(mx, W::load(s + j));
    float m = mx.get(0);
    for (int l = 1; l < W::kLanes; ++l) m = mx.get(l) > m ? mx.get(l) : m;
    const W wm(m);
    W sum(0.0f), o[D];
    for (int d = 0; d < D; ++d) o[d] = W(0.0f);
    for (int64_t j = 0; j < h.mp; j += B) {
      const W p = vision_ext::gn_exp(W::load(s + j) - wm);
      sum += p;
      for (int d = 0; d < D; ++d) o[d] = fma16(p, W::load(h.vt + d * h.mp + j), o[d]);
    }
    const float inv = 1.0f / sum_lanes(sum);
    float* out = h.out + i * h.out_row;
    for (int d = 0; d < D; ++d) out[d] = sum_lanes(o[d]) * inv;
  }
}

void rows(const AttentionHead& h, int d, int64_t r0, int64_t r1, float* scores) {
  if (d == 8) return rows_d<8>(h, r0, r1, scores);
  return rows_d<16>(h, r0, r1, scores);
}

}  // namespace

extern const AttentionKernels attention = {&rows};

}  // namespace vision_ext::cpu::VE_CPU_NS
