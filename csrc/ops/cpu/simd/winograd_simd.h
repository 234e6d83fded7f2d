// The per-level kernels of the CPU Winograd F(4x4,3x3) conv (winograd_simd.cpp) and the plain
// structs the glue (../winograd_kernel.cpp) hands them. Torch-free.
#pragma once
#include <cstdint>

#include "../cpu_dispatch.h"

namespace vision_ext::cpu {

// The conv's 4x4 output tiles, in (image, tile row, tile column) order, over an NHWC input.
struct WinogradTileGrid {
  int64_t n, h, w, c, th, tw, padding;
  int64_t tiles() const { return n * th * tw; }
};

struct WinogradEpilogue {
  const float* bias;      // [K] or null
  const float* residual;  // NHWC like the output, or null
  bool inner, outer;      // ReLU before / after the residual add
};

struct WinogradProblem {
  const float* x;      // NHWC input
  WinogradTileGrid g;
  const float* u;      // packed weight, 36 planes of C x K
  int64_t K, ho, wo;
  WinogradEpilogue e;
  const float* zeros;  // C zeros: the padding pixels
  float* out;          // NHWC output
};

// How the conv is cut into work items: item i is tile block i / slices, output-channel slice
// i % slices (k_slice channels each).
struct WinogradSplit {
  int64_t tiles_per_block, blocks, k_slice, slices;
};

// Floats between planes: at least `n`, an odd number of 64-byte lines, so the 36 planes of one
// tile fall in different L1 sets instead of aliasing when n is a power of two.
inline int64_t winograd_padded_plane(int64_t n) {
  int64_t lines = (n + 15) / 16;
  if (lines % 2 == 0) ++lines;
  return lines * 16;
}

// The weight gradient's problem: tiles over the output gradient's grid (g.th x g.tw per image), each
// with the 6x6 input tile the forward conv read for it.
struct WinogradGradProblem {
  const float* x;      // NHWC input
  WinogradTileGrid g;
  const float* dy;     // NHWC output gradient, K channels, ho x wo
  int64_t K, ho, wo;
  const float* zeros;  // max(C, K) zeros: pixels outside the input or the output gradient
};

struct WinogradKernels {
  // Work items [i0, i1) of `split`; v and m are one thread's workspaces of
  // 36 * winograd_padded_plane(tiles_per_block * C) and (... * K) floats.
  void (*run_items)(const WinogradProblem& p, const WinogradSplit& split, int64_t i0, int64_t i1, float* v,
                    float* m);
  // The weight gradient's transforms of tiles [t0, t0 + nt): row j of the 36 planes of v (j x C, plane
  // stride vs) is tile t0 + j's B^T d B, of d (j x K, stride ds) its A dy A^T.
  void (*weight_grad_transform)(const WinogradGradProblem& p, int64_t t0, int64_t nt, float* v, int64_t vs,
                                float* d, int64_t ds);
  // Rows [k0, k1) of one plane m (K x C) = (accumulate ? m : 0) + d^T v over nb tile rows.
  void (*weight_grad_plane)(const float* d, const float* v, int64_t K, int64_t C, int64_t nb, int64_t k0,
                            int64_t k1, bool accumulate, float* m);
  // dw (K, C, 3, 3), rows [k0, k1), from the sum of `parts` consecutive sets of those 36 planes.
  void (*weight_grad_output)(const float* m, int64_t parts, int64_t K, int64_t C, int64_t k0, int64_t k1,
                             float* dw);
};

}  // namespace vision_ext::cpu

VE_CPU_KERNELS(WinogradKernels, winograd)
