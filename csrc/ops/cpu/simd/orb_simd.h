// The per-level kernels of the CPU ORB family (orb_simd.cpp) and what the glue
// (../orb_kernel.cpp) hands them. Torch-free: the glue allocates every buffer.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../cpu_dispatch.h"

namespace vision_ext::cpu {

// Bytes of one ORB descriptor (256 bits).
constexpr int kOrbDescriptorBytes = 32;

// Scratch one describe call needs: the keypoint's neighbourhood copied (45 x 45 bytes and a tail,
// within kOrbDescribeCopyBytes), its horizontal sums (as many uint16), the smoothed patch (as many
// bytes) and the 2 x 256 rotated pattern offsets (int32); counted in int32.
constexpr int kOrbPatchSide = 2 * 19 + 1;  // kOrbBriefReach of vision_ext/orb.h
constexpr int kOrbDescribeCopyBytes = 2048;
inline size_t orb_describe_scratch_ints() {
  return static_cast<size_t>(kOrbDescribeCopyBytes) * (1 + 2 + 1) / 4 + 2 * 256;
}

struct OrbKernels {
  // Rows [y0, y1) of src (sw x sh) resized to dst (dw x dh), orb_resize_pixel's value. xtaps: the
  // i0 of orb_resize_tap for the dw columns, then their f (2 * dw ints); line: sw + 1 ints of scratch.
  void (*resize_rows)(const uint8_t* src, int sw, int sh, uint8_t* dst, int dw, int dh, int y0, int y1,
                      const int32_t* xtaps, int32_t* line);
  // Harris score (orb_harris_at) of n points (xs[i], ys[i]), each >= 4 pixels inside the plane.
  void (*harris_points)(const uint8_t* plane, int w, int h, const int32_t* xs, const int32_t* ys, int n, float* out);
  // Angle (degrees) and descriptor of n keypoints: centres[i] points at keypoint i's pixel, in a
  // plane of row stride strides[i], at least max(half_patch, kOrbMinBorder) inside it;
  // half_widths[v + half_patch] = orb_disc_half_width(half_patch, v); scratch:
  // orb_describe_scratch_ints() ints.
  void (*describe)(const uint8_t* const* centres, const int32_t* strides, int n, int half_patch,
                   const int32_t* half_widths, float* angles, uint8_t* desc, int32_t* scratch);
  // Hamming distances of queries q[0, nq) against trains t[0, nt) (32 bytes each): per query the
  // smallest distance and its first index, and the second smallest distance (INT32_MAX if nt < 2);
  // per train, col_d / col_i are lowered where a query is strictly closer (queries in order, so
  // the first closest query wins). Query i is numbered q_base + i in col_i.
  void (*hamming_block)(const uint8_t* q, int nq, const uint8_t* t, int nt, int q_base, int32_t* best_d,
                        int32_t* best_i, int32_t* second_d, int32_t* col_d, int32_t* col_i);
};

}  // namespace vision_ext::cpu

VE_CPU_KERNELS(OrbKernels, orb)
