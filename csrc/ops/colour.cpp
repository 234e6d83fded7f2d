// Schemas of the colour feature family (CPU: ops/cpu/colour_kernel.cpp, CUDA: ops/cuda/colour_kernel.cpp,
// contract and autograd: vision_ext/ops/colour.py, per-value maths: vision_ext/colour.h).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(vision_ext, m) {
  // images (B, C, H, W) uint8 / float32 / float64; mask None, (H, W), (B, H, W) or (B, 1, H, W).
  // Per channel (joint=False): (B, sum(bins)) int64, channel c in columns [sum(bins[:c]), ...).
  // Joint: (B, prod(bins)) int64, channel 0 the slowest index (np.histogramdd's order).
  // edges: 0 = cv2.calcHist's rule, 1 = numpy's (see vision_ext/colour.h).
  m.def("color_histogram(Tensor images, int[] bins, float[] low, float[] high, Tensor? mask, bool joint, "
        "int edges) -> Tensor");
  // (B, C, 3): mean, mean((x - mean)^2), mean((x - mean)^3) per channel over the kept pixels; float64 for
  // float64 images, else float32 (sums in float64). No kept pixel: NaN.
  m.def("color_moments(Tensor images, Tensor? mask) -> Tensor");
  // Di Zenzo gradient: (magnitude, direction), each (B, H, W); float64 for float64 images, else float32.
  m.def("color_gradient(Tensor images, int ksize) -> (Tensor, Tensor)");
}
