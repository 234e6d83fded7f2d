// NCHW -> NHWC for fp32 activations entering the Winograd path. ATen's generic strided copy
// moves about 1 GB/s here; transposing 16x16 blocks in registers runs at memory speed.
#pragma once
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "simd.h"

namespace vision_ext::cpu {
namespace layout_detail {

using Raw = F32x16::raw;
typedef int Mask __attribute__((vector_size(64)));

// One butterfly stage: swap the off-diagonal s x s blocks of every 2s x 2s block.
template <int S>
inline void swap_blocks(Raw* r) {
  constexpr Mask lo = {0 & S ? 16 + 0 - S : 0, 1 & S ? 16 + 1 - S : 1, 2 & S ? 16 + 2 - S : 2, 3 & S ? 16 + 3 - S : 3,
                       4 & S ? 16 + 4 - S : 4, 5 & S ? 16 + 5 - S : 5, 6 & S ? 16 + 6 - S : 6, 7 & S ? 16 + 7 - S : 7,
                       8 & S ? 16 + 8 - S : 8, 9 & S ? 16 + 9 - S : 9, 10 & S ? 16 + 10 - S : 10,
                       11 & S ? 16 + 11 - S : 11, 12 & S ? 16 + 12 - S : 12, 13 & S ? 16 + 13 - S : 13,
                       14 & S ? 16 + 14 - S : 14, 15 & S ? 16 + 15 - S : 15};
  constexpr Mask hi = lo + S;  // the same picks shifted: r_i's upper block, then r_j's own
  for (int i = 0; i < 16; ++i) {
    if (i & S) continue;
    const Raw a = r[i], b = r[i + S];
    r[i] = __builtin_shuffle(a, b, lo);
    r[i + S] = __builtin_shuffle(a, b, hi);
  }
}

// out (16 x 16, row stride ldo) = transpose of in (16 x 16, row stride ldi).
inline void transpose16(const float* in, int64_t ldi, float* out, int64_t ldo) {
  Raw r[16];
  for (int i = 0; i < 16; ++i) std::memcpy(&r[i], in + i * ldi, sizeof(Raw));
  swap_blocks<8>(r);
  swap_blocks<4>(r);
  swap_blocks<2>(r);
  swap_blocks<1>(r);
  for (int i = 0; i < 16; ++i) std::memcpy(out + i * ldo, &r[i], sizeof(Raw));
}

// out[p][c] = in[c][p] for c in [c0, c0+16) (or fewer at the edge), p in [p0, p1).
inline void transpose_strip(const float* in, float* out, int64_t C, int64_t P, int64_t c0, int64_t p0, int64_t p1) {
  int64_t p = p0;
  if (c0 + 16 <= C)
    for (; p + 16 <= p1; p += 16) transpose16(in + c0 * P + p, P, out + p * C + c0, C);
  for (; p < p1; ++p)
    for (int64_t c = c0; c < std::min(C, c0 + 16); ++c) out[p * C + c] = in[c * P + p];
}

}  // namespace layout_detail

// x in channels_last memory format (a no-op when it already is).
inline at::Tensor channels_last_cpu(const at::Tensor& x) {
  if (x.is_contiguous(at::MemoryFormat::ChannelsLast)) return x;
  if (x.scalar_type() != at::kFloat || !x.is_contiguous() || x.dim() != 4)
    return x.contiguous(at::MemoryFormat::ChannelsLast);
  at::Tensor out = at::empty_like(x, at::MemoryFormat::ChannelsLast);
  const int64_t N = x.size(0), C = x.size(1), P = x.size(2) * x.size(3), cb = (C + 15) / 16;
  const float* in = x.data_ptr<float>();
  float* o = out.data_ptr<float>();
  constexpr int64_t kPixels = 256;  // a strip of 16 channels x 256 pixels: 16 KiB in, 16 KiB out
  const int64_t pb = (P + kPixels - 1) / kPixels;
  at::parallel_for(0, N * cb * pb, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / (cb * pb), c0 = i / pb % cb * 16, p0 = i % pb * kPixels;
      layout_detail::transpose_strip(in + n * C * P, o + n * C * P, C, P, c0, p0, std::min(P, p0 + kPixels));
    }
  });
  return out;
}

}  // namespace vision_ext::cpu
