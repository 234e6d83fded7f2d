// Attention for small heads (CPU implementation: cpu/attention_kernel.cpp; vision_ext/ops/attention.py).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(vision_ext, m) {
  // softmax(q k^T * scale) v for q [B, H, N, d], k and v [B, H, M, d], fp32, head_dim d 8 or 16;
  // the output is [B, H, N, d] laid out as [B, N, H, d] (a transpose of a contiguous tensor), as ATen's.
  m.def("small_head_attention(Tensor q, Tensor k, Tensor v, float scale) -> Tensor");
}
