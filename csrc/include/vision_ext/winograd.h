// Winograd F(4x4, 3x3) transforms (Lavin & Gray 2016, interpolation points 0, +-1, +-2, inf).
// A 3x3 stride-1 convolution over a 6x6 input tile gives a 4x4 output tile with 36
// multiplies per channel pair instead of 144: Y = A^T [(G g G^T) . (B^T d B)] A.
// These are the 1-D factors; 2-D transforms apply them to rows, then columns.
//
// The weight gradient uses the same points, transposed: the conv is the bilinear form
// sum_q (A dy)_q (G g)_q (B^T d)_q summed with dy, so d/dg = G^T [(A dy) . (B^T d)]. Per 4x4 tile
// of the output gradient dy and its 6x6 input tile d, dW = G^T [(A dy A^T) . (B^T d B)] G,
// summed over tiles: 36 multiplies per channel pair and tile instead of 144.
#pragma once
#include "vision_ext/macros.h"

namespace vision_ext::winograd {

constexpr int kTile = 6;  // input tile edge
constexpr int kOut = 4;   // output tile edge

// o = B^T d
template <typename T>
VE_HD void input_1d(const T* d, T* o) {
  o[0] = T(4) * d[0] - T(5) * d[2] + d[4];
  o[1] = -T(4) * d[1] - T(4) * d[2] + d[3] + d[4];
  o[2] = T(4) * d[1] - T(4) * d[2] - d[3] + d[4];
  o[3] = -T(2) * d[1] - d[2] + T(2) * d[3] + d[4];
  o[4] = T(2) * d[1] - d[2] - T(2) * d[3] + d[4];
  o[5] = T(4) * d[1] - T(5) * d[3] + d[5];
}

// u = G g
template <typename T>
VE_HD void weight_1d(const T* g, T* u) {
  u[0] = g[0] / T(4);
  u[1] = -(g[0] + g[1] + g[2]) / T(6);
  u[2] = -(g[0] - g[1] + g[2]) / T(6);
  u[3] = g[0] / T(24) + g[1] / T(12) + g[2] / T(6);
  u[4] = g[0] / T(24) - g[1] / T(12) + g[2] / T(6);
  u[5] = g[2];
}

// y = A^T m
template <typename T>
VE_HD void output_1d(const T* m, T* y) {
  const T s12 = m[1] + m[2], d12 = m[1] - m[2], s34 = m[3] + m[4], d34 = m[3] - m[4];
  y[0] = m[0] + s12 + s34;
  y[1] = d12 + T(2) * d34;
  y[2] = s12 + T(4) * s34;
  y[3] = d12 + T(8) * d34 + m[5];
}

// o = A dy: the output transform's transpose (4 gradient values -> 6 points).
template <typename T>
VE_HD void grad_output_1d(const T* dy, T* o) {
  const T s02 = dy[0] + dy[2], s13 = dy[1] + dy[3];
  o[0] = dy[0];
  o[1] = s02 + s13;
  o[2] = s02 - s13;
  o[3] = dy[0] + T(2) * dy[1] + T(4) * dy[2] + T(8) * dy[3];
  o[4] = dy[0] - T(2) * dy[1] + T(4) * dy[2] - T(8) * dy[3];
  o[5] = dy[3];
}

// g = G^T m: the weight transform's transpose (6 points -> 3 kernel taps).
template <typename T>
VE_HD void grad_weight_1d(const T* m, T* g) {
  const T s12 = m[1] + m[2], d12 = m[1] - m[2], s34 = m[3] + m[4], d34 = m[3] - m[4];
  g[0] = m[0] / T(4) - s12 / T(6) + s34 / T(24);
  g[1] = d34 / T(12) - d12 / T(6);
  g[2] = s34 / T(6) - s12 / T(6) + m[5];
}

// Every 2-D transform is separable: the 1-D factor on each column of the In x In tile (row-major),
// then on each row of the Out x In intermediate, giving Out x Out (row-major).
template <int In, int Out, typename T, typename Fn1d>
VE_HD void separable_2d(Fn1d fn_1d, const T* in, T* out) {
  T tmp[Out * In], col[In], res[Out];
  for (int x = 0; x < In; ++x) {
    for (int r = 0; r < In; ++r) col[r] = in[r * In + x];
    fn_1d(col, res);
    for (int r = 0; r < Out; ++r) tmp[r * In + x] = res[r];
  }
  for (int r = 0; r < Out; ++r) fn_1d(tmp + r * In, out + r * Out);
}

// 6x6 tile d -> B^T d B.
template <typename T>
VE_HD void input_2d(const T* d, T* v) {
  separable_2d<kTile, kTile>([](const T* a, T* b) { input_1d(a, b); }, d, v);
}

// 6x6 transformed product m -> 4x4 output tile A^T m A.
template <typename T>
VE_HD void output_2d(const T* m, T* y) {
  separable_2d<kTile, kOut>([](const T* a, T* b) { output_1d(a, b); }, m, y);
}

// 3x3 kernel g -> 6x6 G g G^T.
template <typename T>
VE_HD void weight_2d(const T* g, T* u) {
  separable_2d<3, kTile>([](const T* a, T* b) { weight_1d(a, b); }, g, u);
}

// 4x4 output-gradient tile -> 6x6 A dy A^T.
template <typename T>
VE_HD void grad_output_2d(const T* dy, T* o) {
  separable_2d<kOut, kTile>([](const T* a, T* b) { grad_output_1d(a, b); }, dy, o);
}

// 6x6 summed product m -> 3x3 weight gradient G^T m G.
template <typename T>
VE_HD void grad_weight_2d(const T* m, T* g) {
  separable_2d<kTile, 3>([](const T* a, T* b) { grad_weight_1d(a, b); }, m, g);
}

}  // namespace vision_ext::winograd
