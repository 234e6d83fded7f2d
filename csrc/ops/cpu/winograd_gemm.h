// The 36 GEMMs of a Winograd block, M[p] = V[p] . U[p], written for our layouts rather than
// handed to BLAS: U (C x K per plane) is the packed weight as is, so nothing is repacked per
// call, and V/M planes may sit at padded strides (see padded_plane) that a batched BLAS call
// would first copy to contiguous storage.
#pragma once
#include <cstdint>
#include <cstring>

#include "simd.h"

namespace vision_ext::cpu::winograd_gemm {

using Raw = F32x16::raw;

// Floats between planes: at least `n`, an odd number of 64-byte lines, so the 36 planes of one
// tile fall in different L1 sets instead of aliasing when n is a power of two.
inline int64_t padded_plane(int64_t n) {
  int64_t lines = (n + 15) / 16;
  if (lines % 2 == 0) ++lines;
  return lines * 16;
}

// R rows x (16 * NV) columns of m = v . u, accumulated in registers over the C inner products.
template <int R, int NV>
inline void register_tile(const float* v, int64_t C, const float* u, int64_t K, float* m) {
  Raw acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int i = 0; i < NV; ++i) acc[r][i] = Raw{};
  for (int64_t c = 0; c < C; ++c) {
    Raw b[NV];
    for (int i = 0; i < NV; ++i) std::memcpy(&b[i], u + c * K + 16 * i, sizeof(Raw));
    for (int r = 0; r < R; ++r) {
      const float a = v[r * C + c];
      for (int i = 0; i < NV; ++i) acc[r][i] += a * b[i];
    }
  }
  for (int r = 0; r < R; ++r)
    for (int i = 0; i < NV; ++i) std::memcpy(m + r * K + 16 * i, &acc[r][i], sizeof(Raw));
}

template <int NV>
inline void row_sweep(const float* v, int64_t rows, int64_t C, const float* u, int64_t K, float* m) {
  constexpr int kRows = 6;  // 6 x 4 accumulators + 4 weight vectors fit the 32 vector registers
  int64_t j = 0;
  for (; j + kRows <= rows; j += kRows) register_tile<kRows, NV>(v + j * C, C, u, K, m + j * K);
  switch (rows - j) {
    case 5: register_tile<5, NV>(v + j * C, C, u, K, m + j * K); break;
    case 4: register_tile<4, NV>(v + j * C, C, u, K, m + j * K); break;
    case 3: register_tile<3, NV>(v + j * C, C, u, K, m + j * K); break;
    case 2: register_tile<2, NV>(v + j * C, C, u, K, m + j * K); break;
    case 1: register_tile<1, NV>(v + j * C, C, u, K, m + j * K); break;
    default: break;
  }
}

// m (rows x K, row stride K) = v (rows x C, row stride C) . u (C x K, row stride K), columns
// [k0, k1) only; m and u point at column 0. Columns go 64, then 16 at a time, then singly.
inline void plane_gemm(const float* v, int64_t rows, int64_t C, const float* u, int64_t K, int64_t k0, int64_t k1,
                       float* m) {
  int64_t k = k0;
  for (; k + 64 <= k1; k += 64) row_sweep<4>(v, rows, C, u + k, K, m + k);
  for (; k + 16 <= k1; k += 16) row_sweep<1>(v, rows, C, u + k, K, m + k);
  for (; k < k1; ++k)
    for (int64_t j = 0; j < rows; ++j) {
      float s = 0.f;
      for (int64_t c = 0; c < C; ++c) s += v[j * C + c] * u[c * K + k];
      m[j * K + k] = s;
    }
}

}  // namespace vision_ext::cpu::winograd_gemm
