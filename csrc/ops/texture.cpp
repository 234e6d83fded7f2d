// Schemas of the texture family (CPU: ops/cpu/texture_kernel.cpp, CUDA: ops/cuda/texture_kernel.cpp,
// contract: vision_ext/ops/texture.py). The rules are scikit-image 0.26's (docs/EXACTNESS.md).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(vision_ext, m) {
  // (H, W) or (B, H, W) image of any real dtype -> float64 codes of the same shape.
  // method: 0 default, 1 ror, 2 uniform, 3 nri_uniform, 4 var.
  m.def("local_binary_pattern(Tensor image, int P, float R, int method) -> Tensor");
  // (H, W) or (B, H, W) integer image -> ([B,] levels, levels, len(distances), len(angles)):
  // int32 counts (skimage's uint32), float64 when normed. levels = -1: 256 (uint8 / int8 only).
  m.def("graycomatrix(Tensor image, float[] distances, float[] angles, int levels, bool symmetric, "
        "bool normed) -> Tensor");
  // (..., L, L, nd, na) matrices -> (..., len(props), nd, na) float64; prop indices in
  // vision_ext/ops/texture.py GLCM_PROPS.
  m.def("graycoprops(Tensor P, int[] props) -> Tensor");
  // (C, H, W) or (B, C, H, W) float32 / float64 -> (features ([B,] blocks_row, blocks_col,
  // block_rows, block_cols, orientations), hog image ([B,] H, W), empty unless visualize).
  // block_norm: 0 L1, 1 L1-sqrt, 2 L2, 3 L2-Hys.
  m.def("hog(Tensor image, int orientations, int[] pixels_per_cell, int[] cells_per_block, int block_norm, "
        "bool transform_sqrt, bool visualize) -> (Tensor, Tensor)");
}

// Not differentiable (comparisons, counts, hard orientation bins): autograd passes through, so the
// outputs never require grad (instead of carrying a grad_fn that fails on backward).
TORCH_LIBRARY_IMPL(vision_ext, Autograd, m) {
  for (const char* op : {"local_binary_pattern", "graycomatrix", "graycoprops", "hog"})
    m.impl(op, torch::CppFunction::makeFallthrough());
}
