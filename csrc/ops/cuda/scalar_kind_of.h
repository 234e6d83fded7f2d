// at::ScalarType -> the torch-free ScalarKind of the CUDA launchers (shared by every CUDA op family).
#pragma once
#include <ATen/ATen.h>

#include "vision_ext/scalar_kind.h"

namespace vision_ext {

inline ScalarKind scalar_kind_of(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return ScalarKind::f32;
    case at::kDouble: return ScalarKind::f64;
    case at::kHalf: return ScalarKind::f16;
    case at::kBFloat16: return ScalarKind::bf16;
    default: TORCH_CHECK(false, "vision_ext: expected float32, float64, float16 or bfloat16 data, got ", t.scalar_type());
  }
  return ScalarKind::f32;
}

}  // namespace vision_ext
