// Attention for small heads (head_dim 8 or 16, the U-Net's first stages), compiled once per level.
// ATen's flash kernel runs such heads as GEMMs of depth 8 through score tiles in memory; here one
// query row's scores stay in an L1 buffer: pass 1 takes q . k for 16 keys at a time (d broadcast
// FMAs over the transposed keys), in log2 units (q is pre-scaled by scale * log2(e)), pass 2 takes
// 2^(s - max) (exp2_nonpositive below) and accumulates p * v per head_dim lane; each row's lanes are
// then combined by halving (reduce_lanes). Sums run in 16 lanes
// whatever the level (simd/wide.h) and every FMA is mul_add, so avx2 and avx512 give the same bits
// (the default level, without FMA, rounds twice where they round once).
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

// 2^x for the softmax's x = s - max <= 0: x = n + f with n = round(x), f in [-0.5, 0.5], 2^f by a
// degree-5 polynomial fitted to 2^f's relative error (2.2e-7 at most, ~2 ulp, in fp32 Horner), 2^n
// put into the exponent. 12 operations per vector where gn_exp's e^x, accurate to ~1 ulp for any
// argument, takes ~16 (this kernel is CPU-only, and its scores need no clamp at the top). x below
// -126 (a padding key's -inf included) gives 2^-126, nothing next to the row's sum of at least 1;
// NaN passes through.
VE_WIDE W exp2_nonpositive(W x) {
  // lo > a ? lo : a, the max instruction (vec.h): NaN a passes through
  x = wide_map(W(-126.0f), x, [](auto lo, auto a) { return register_max(lo, a); });
  const W magic(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer, to nearest
  const W t = x + magic;
  const W n = t - magic;
  const W f = x - n;
  W p(1.3276466634124517e-3f);
  p = fma16(p, f, W(9.675541892647743e-3f));
  p = fma16(p, f, W(5.550713464617729e-2f));
  p = fma16(p, f, W(0.24022120237350464f));
  p = fma16(p, f, W(0.6931469440460205f));
  p = fma16(p, f, W(1.0000001192092896f));
  return times_pow2_of_rounded(p, t, n);
}

// a's 16 lanes combined by halving: op(lane i, lane i + 8), then i + 4, i + 2, i + 1. Every level
// makes the same operations (whole registers while the halves span registers), so the bits agree;
// a dozen operations where a lane-by-lane chain took 16 dependent ones and 16 extractions. op takes
// registers and scalars alike (+, or the max of max16). A template so that the branches for the
// other register widths are not compiled.
template <typename Lanes, typename Op>
VE_WIDE float reduce_lanes(Lanes a, Op op) {
  typename Lanes::reg r[Lanes::R];
  for (int i = 0; i < Lanes::R; ++i) r[i] = a.r[i];
  for (int n = Lanes::R; n > 1; n /= 2)
    for (int i = 0; i < n / 2; ++i) r[i] = op(r[i], r[i + n / 2]);
  using R8 = RawVec<float, 8>::type;
  using R4 = RawVec<float, 4>::type;
  R4 q;
  if constexpr (Lanes::L == 16) {
    const R8 h = op(__builtin_shufflevector(r[0], r[0], 0, 1, 2, 3, 4, 5, 6, 7),
                    __builtin_shufflevector(r[0], r[0], 8, 9, 10, 11, 12, 13, 14, 15));
    q = op(__builtin_shufflevector(h, h, 0, 1, 2, 3), __builtin_shufflevector(h, h, 4, 5, 6, 7));
  } else if constexpr (Lanes::L == 8) {
    q = op(__builtin_shufflevector(r[0], r[0], 0, 1, 2, 3), __builtin_shufflevector(r[0], r[0], 4, 5, 6, 7));
  } else {
    static_assert(Lanes::L == 4, "registers of 4, 8 or 16 floats");
    q = r[0];
  }
  return op(op(q[0], q[2]), op(q[1], q[3]));
}

VE_WIDE float sum_lanes(W a) {
  return reduce_lanes(a, [](auto x, auto y) { return x + y; });
}

VE_WIDE float max_lanes(W a) {  // exact, so the order gives the same value as any other
  return reduce_lanes(a, [](auto x, auto y) { return x > y ? x : y; });
}

// R query rows at a time, each with exactly the one-row operations (so any R gives the same bits):
// every K^T and V^T vector loaded feeds R rows, which halves the L2 traffic of the 64 KB panels
// at R = 2 where the level has the registers for R rows' accumulators.
template <int D, int R>
void rows_block(const AttentionHead& h, int64_t i, float* s) {
  constexpr int64_t B = kAttentionKeyBlock;
  const float ninf = -std::numeric_limits<float>::infinity();
  const float log2_scale = h.scale * 1.44269504088896341f;  // scores in log2 units: 2^s = e^(s ln 2)
  float qs[R][D];
  for (int r = 0; r < R; ++r)
    for (int d = 0; d < D; ++d) qs[r][d] = h.q[(i + r) * h.q_row + d] * log2_scale;
  // Pass 1: the scores of key block j for every row, stored, with each row's running max (exact, so
  // its order does not matter). Two blocks per iteration keep four independent FMA chains in flight;
  // the last block, if it holds padding keys, takes -inf there before its max.
  // (h's fields as locals: the score stores could alias a field read through the reference.)
  const float* const kt = h.kt;
  const float* const vt = h.vt;
  const int64_t mp = h.mp, ld = h.ld, full = h.m / B * B;  // blocks [0, full) hold no padding key
  W mx[R];
  for (int r = 0; r < R; ++r) mx[r] = W(ninf);
  const auto score_block = [&](int64_t j, bool take_max) {
    W acc[R];
    for (int r = 0; r < R; ++r) acc[r] = W(0.0f);
    for (int d = 0; d < D; ++d) {
      const W kv = W::load(kt + d * ld + j);
      for (int r = 0; r < R; ++r) acc[r] = fma16(W(qs[r][d]), kv, acc[r]);
    }
    for (int r = 0; r < R; ++r) {
      acc[r].store(s + r * ld + j);
      if (take_max) mx[r] = max16(mx[r], acc[r]);
    }
  };
  int64_t j = 0;
  for (; j + 2 * B <= full; j += 2 * B) {
    score_block(j, true);
    score_block(j + B, true);
  }
  for (; j < full; j += B) score_block(j, true);
  if (full < mp) {
    score_block(full, false);
    for (int r = 0; r < R; ++r) {
      float* sr = s + r * ld;
      for (int64_t jj = h.m; jj < mp; ++jj) sr[jj] = ninf;  // padding keys take no weight
      mx[r] = max16(mx[r], W::load(sr + full));
    }
  }
  W wm[R];
  for (int r = 0; r < R; ++r) wm[r] = W(max_lanes(mx[r]));
  // Pass 2: p = 2^(s - max), the rows' sums, and o += p v per head_dim lane.
  W sum[R], o[R][D];
  for (int r = 0; r < R; ++r) {
    sum[r] = W(0.0f);
    for (int d = 0; d < D; ++d) o[r][d] = W(0.0f);
  }
  for (int64_t j = 0; j < mp; j += B) {
    W p[R];
    for (int r = 0; r < R; ++r) {
      p[r] = exp2_nonpositive(W::load(s + r * ld + j) - wm[r]);
      sum[r] += p[r];
    }
    for (int d = 0; d < D; ++d) {
      const W vv = W::load(vt + d * ld + j);
      for (int r = 0; r < R; ++r) o[r][d] = fma16(p[r], vv, o[r][d]);
    }
  }
  for (int r = 0; r < R; ++r) {
    const float inv = 1.0f / sum_lanes(sum[r]);
    float* out = h.out + (i + r) * h.out_row;
    for (int d = 0; d < D; ++d) out[d] = sum_lanes(o[r][d]) * inv;
  }
}

// Rows per block: R rows' D accumulators of 16 lanes must fit the level's registers with room.
template <int D>
constexpr int kRowsAtOnce = W::R * D * kAttentionMaxRows <= kVectorRegisters / 2 ? kAttentionMaxRows : 1;

template <int D>
void rows_d(const AttentionHead& h, int64_t r0, int64_t r1, float* s) {
  constexpr int R = kRowsAtOnce<D>;
  int64_t i = r0;
  for (; i + R <= r1; i += R) rows_block<D, R>(h, i, s);
  for (; i < r1; ++i) rows_block<D, 1>(h, i, s);
}

void rows(const AttentionHead& h, int d, int64_t r0, int64_t r1, float* scores) {
  if (d == 8) return rows_d<8>(h, r0, r1, scores);
  return rows_d<16>(h, r0, r1, scores);
}

}  // namespace

extern const AttentionKernels attention = {&rows};

}  // namespace vision_ext::cpu::VE_CPU_NS
