// Schemas of the contour family (CPU: ops/cpu/contours_kernel.cpp, CUDA: ops/cuda/contours_kernel.cpp,
// contract: vision_ext/ops/contours.py).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(vision_ext, m) {
  // skimage.measure.find_contours over (H, W) or (B, H, W) images, concatenated: points (P, 2) (row, col),
  // contour_offsets (K + 1), image_offsets (B + 1) (see csrc/ops/contours_common.h find_contours_op).
  m.def("find_contours(Tensor image, float? level, bool fully_connected_high, bool positive_orientation_high, "
        "Tensor? mask) -> (Tensor, Tensor, Tensor)");
}
