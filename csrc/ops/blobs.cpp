// Schemas of the blob family (CPU: ops/cpu/blobs_kernel.cpp, CUDA: ops/cuda/blobs_kernel.cpp,
// contract: vision_ext/ops/blobs.py). The filter taps come from the caller (vision_ext.features
// builds scipy's Gaussian kernels), so one op serves any scale list.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(vision_ext, m) {
  // Scale-space peaks: (peaks (B, K, 3) float64 rows (y, x, sigma), counts (B,) int64), padded with
  // zeros, strongest first (ties: raster order of (y, x, scale)), not yet pruned.
  // sigmas: the response scales (LoG) or the Gaussians (DoG, one more than responses);
  // radii / taps: each filter scale's half kernels w[0..r], concatenated; norms: each response
  // scale's multiplier; exclude_border: (rows, columns).
  m.def(
      "blob_log(Tensor image, float[] sigmas, int[] radii, float[] smooth_taps, float[] second_taps, float[] norms, "
      "float? threshold, float? threshold_rel, int[] exclude_border) -> (Tensor, Tensor)");
  m.def(
      "blob_dog(Tensor image, float[] sigmas, int[] radii, float[] smooth_taps, float[] norms, float? threshold, "
      "float? threshold_rel, int[] exclude_border) -> (Tensor, Tensor)");
  // Determinant of Hessian (scikit-image's box filters on the integral image) at each sigma.
  m.def("blob_doh(Tensor image, float[] sigmas, float? threshold, float? threshold_rel) -> (Tensor, Tensor)");
  // One image's peaks (N, 3) with the overlapping ones removed, over `pairs` (P, 2) in that order
  // (scikit-image's), or over every close pair in index order when pairs is None.
  m.def("blob_prune(Tensor blobs, Tensor? pairs, float overlap) -> Tensor");
}
