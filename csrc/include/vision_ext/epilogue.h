// The residual epilogue: out = post(pre(x * scale + shift) + residual).
// Shared per-element maths of the fused conv and eval-mode BN paths, plus the
// plain params struct the CPU loop and the CUDA kernel both read.
#pragma once
#include <cstdint>

#include "vision_ext/macros.h"

namespace vision_ext {

// Which ReLUs an epilogue applies (optional inputs are null pointers in EpilogueParams).
struct EpilogueFlags {
  bool inner_relu;  // ReLU before the residual add (the notes' BottleneckBlock)
  bool outer_relu;  // ReLU after the residual add
};

// A 4-D activation seen as `rows` runs of `row_len` contiguous elements:
// NCHW -> rows = N*C planes of H*W (channel = row % C); NHWC -> rows = N*H*W
// pixels of C (channel = column). Pointers are to the scalar type (x, residual,
// out) and to the accumulate type (scale, shift: float, or double for double x).
struct EpilogueParams {
  const void* x;
  const void* scale;
  const void* shift;
  const void* residual;
  void* out;
  int64_t rows;
  int64_t row_len;
  int64_t channels;
  bool channels_last;
  EpilogueFlags flags;
};

template <typename acc_t>
VE_HD acc_t relu_value(acc_t v) {
  return v < acc_t(0) ? acc_t(0) : v;  // as torch.relu: NaN and -0.0 pass through (a NaN must not turn into 0)
}

template <typename acc_t>
VE_HD acc_t epilogue_value(acc_t v, acc_t scale, acc_t shift, acc_t residual, bool inner_relu, bool outer_relu) {
  v = v * scale + shift;
  if (inner_relu) v = relu_value(v);
  v += residual;
  if (outer_relu) v = relu_value(v);
  return v;
}

VE_HD int64_t channel_of(int64_t row, int64_t col, int64_t channels, bool channels_last) {
  return channels_last ? col : row % channels;
}

}  // namespace vision_ext
