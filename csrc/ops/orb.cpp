// Schemas of the ORB family (CPU: ops/cpu/orb_kernel.cpp, CUDA: ops/cuda/orb_kernel.cpp,
// contract: vision_ext/ops/orb.py).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(vision_ext, m) {
  // uint8 (H, W) / (B, 1, H, W) -> (xy (B, K, 2) f32 level-0 pixels, level (B, K) int64,
  // angle (B, K) f32 degrees, response (B, K) f32, descriptors (B, K, 32) uint8, counts (B,) int64),
  // K = n_features, zero padded, best first.
  m.def(
      "orb(Tensor image, int n_features, float scale_factor, int n_levels, int edge_threshold, int fast_threshold, "
      "int patch_size, bool harris) -> (Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)");
  // Brute-force Hamming matching: for each descriptor of d1 its match in d2 (index (B, N1) int64,
  // -1 where none, distance (B, N1) int32).
  m.def(
      "match_descriptors(Tensor d1, Tensor d2, Tensor? counts1, Tensor? counts2, bool cross_check, float max_ratio, "
      "int max_distance) -> (Tensor, Tensor)");
}
