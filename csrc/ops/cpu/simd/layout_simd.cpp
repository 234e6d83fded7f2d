// NCHW -> NHWC for fp32 activations, compiled once per level: blocks of kLanes x kLanes floats are
// transposed in registers by log2(kLanes) butterfly stages of two-vector shuffles.
#include <utility>

#include "isa.h"
#include "layout_simd.h"
#include "vec.h"

namespace vision_ext::cpu::VE_CPU_NS {
namespace {

constexpr int kLanes = FloatVec::kLanes;
using RawF = FloatVec::raw;
using RawI = typename RawVec<int32_t, kLanes>::type;

// Lane picks of one butterfly stage: swap the off-diagonal S x S blocks of every 2S x 2S block.
template <int S, int Shift, int... I>
constexpr RawI swap_mask(std::integer_sequence<int, I...>) {
  return RawI{(((I & S) ? kLanes + I - S : I) + Shift)...};
}

template <int S>
inline void swap_blocks(RawF* r) {
  constexpr auto lanes = std::make_integer_sequence<int, kLanes>{};
  constexpr RawI lo = swap_mask<S, 0>(lanes), hi = swap_mask<S, S>(lanes);  // hi: r_i's upper block, then r_j's
  for (int i = 0; i < kLanes; ++i) {
    if (i & S) continue;
    const RawF a = r[i], b = r[i + S];
    r[i] = __builtin_shuffle(a, b, lo);
    r[i + S] = __builtin_shuffle(a, b, hi);
  }
}

inline void transpose_block(const float* in, int64_t ldi, float* out, int64_t ldo) {
  RawF r[kLanes];
  for (int i = 0; i < kLanes; ++i) std::memcpy(&r[i], in + i * ldi, sizeof(RawF));
  if constexpr (kLanes >= 16) swap_blocks<8>(r);
  if constexpr (kLanes >= 8) swap_blocks<4>(r);
  swap_blocks<2>(r);
  swap_blocks<1>(r);
  for (int i = 0; i < kLanes; ++i) std::memcpy(out + i * ldo, &r[i], sizeof(RawF));
}

void nchw_to_nhwc(const float* in, float* out, int64_t C, int64_t P, int64_t c0, int64_t c1, int64_t q0,
                  int64_t q1) {
  int64_t c = c0;
  for (; c + kLanes <= c1; c += kLanes) {
    int64_t q = q0;
    for (; q + kLanes <= q1; q += kLanes) transpose_block(in + c * P + q, P, out + q * C + c, C);
    for (; q < q1; ++q)
      for (int64_t cc = c; cc < c + kLanes; ++cc) out[q * C + cc] = in[cc * P + q];
  }
  for (; c < c1; ++c)
    for (int64_t q = q0; q < q1; ++q) out[q * C + c] = in[c * P + q];
}

}  // namespace

extern const LayoutKernels layout = {&nchw_to_nhwc};

}  // namespace vision_ext::cpu::VE_CPU_NS
