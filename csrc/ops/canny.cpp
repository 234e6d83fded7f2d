// Schema of the Canny edge detector (CPU: ops/cpu/canny_kernel.cpp, CUDA: ops/cuda/canny_kernel.cpp,
// contract: vision_ext/ops/canny.py).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(vision_ext, m) {
  // uint8 (H, W), (C, H, W) or (B, C, H, W) with C = 1 or 3 -> uint8 0/255 edges of shape
  // (H, W), (1, H, W) or (B, 1, H, W): cv2.Canny(image, low, high, aperture, l2_gradient).
  m.def("canny(Tensor image, float low, float high, int aperture, bool l2_gradient) -> Tensor");
}
