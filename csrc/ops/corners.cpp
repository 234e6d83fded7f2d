// Schemas of the corner and keypoint family (CPU: ops/cpu/corners_kernel.cpp,
// CUDA: ops/cuda/corners_kernel.cpp, contract: vision_ext/ops/corners.py).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(vision_ext, m) {
  // Responses keep the image's shape; float32 out for uint8/float32 in, float64 for float64.
  m.def("harris_response(Tensor image, int block_size, int ksize, float k, int border) -> Tensor");
  m.def("min_eigen_response(Tensor image, int block_size, int ksize, int border) -> Tensor");
  // Keypoints: (xy (B, K, 2) float32, scores (B, K), counts (B,) int64), padded with zeros.
  m.def("fast(Tensor image, int threshold, bool nonmax, int pattern, int max_keypoints) -> (Tensor, Tensor, Tensor)");
  m.def(
      "good_features_to_track(Tensor image, int max_corners, float quality_level, float min_distance, "
      "int block_size, int gradient_size, bool use_harris, float k, Tensor? mask) -> (Tensor, Tensor, Tensor)");
}
