// The residual epilogue: out = post(pre(x * scale + shift) + residual).
// Shared per-element maths of the fused conv and eval-mode BN paths.
#pragma once
#include "vision_ext/macros.h"

namespace vision_ext {

// Which optional pieces an epilogue applies; one value is passed to kernels.
struct EpilogueFlags {
  bool has_scale;
  bool has_shift;
  bool has_residual;
  bool inner_relu;  // ReLU before the residual add (the notes' BottleneckBlock)
  bool outer_relu;  // ReLU after the residual add
};

VE_HD float relu(float v) { return v > 0.f ? v : 0.f; }

// v is the conv output in fp32; scale/shift the per-channel affine (1, 0 when absent).
VE_HD float epilogue_value(float v, float scale, float shift, float residual, const EpilogueFlags& f) {
  v = v * scale + shift;
  if (f.inner_relu) v = relu(v);
  v += residual;
  if (f.outer_relu) v = relu(v);
  return v;
}

}  // namespace vision_ext
