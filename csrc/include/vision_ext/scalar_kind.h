// The element types our CUDA kernels are built for, named without torch so the torch-free
// launchers (csrc/kernels/cuda) can take them; the glue maps at::ScalarType onto them.
#pragma once

namespace vision_ext {

enum class ScalarKind { f32, f64, f16, bf16 };

}  // namespace vision_ext
