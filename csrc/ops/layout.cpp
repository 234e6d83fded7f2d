// Layout conversions the fused paths need (CPU implementation: cpu/layout_kernel.cpp).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(vision_ext, m) {
  // A copy of x in channels_last memory format (same values).
  m.def("_to_channels_last(Tensor x) -> Tensor");
}
