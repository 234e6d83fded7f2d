// Schemas of the region shape family (CPU: ops/cpu/shape_kernel.cpp, CUDA: ops/cuda/shape_kernel.cpp,
// contract: vision_ext/ops/shape.py, column layout: csrc/include/vision_ext/shape.h).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(vision_ext, m) {
  // Every labelled region of a (H, W) or (B, H, W) integer label image (0 = background), R regions
  // sorted by (image, label): regions (R, 2) int64 (image, label), bbox (R, 4) int64 (min_row,
  // min_col, max_row, max_col; max exclusive), values (R, 43) float64, hull (V, 2) float64 convex
  // hull vertices (row, col) clockwise on screen (rows down), hull_offsets (R + 1,) int64 into hull.
  m.def("shape_features(Tensor labels) -> (Tensor regions, Tensor bbox, Tensor values, Tensor hull, Tensor hull_offsets)");
}
