// channels_last conversion of CPU activations (layout_kernel.cpp), shared by the ops that work in NHWC.
#pragma once
#include <ATen/ATen.h>

namespace vision_ext::cpu {

// x in channels_last memory format (x itself when it already is). fp32 NCHW goes through the
// per-level register transpose; ATen's generic strided copy moves about 1 GB/s here.
at::Tensor channels_last_cpu(const at::Tensor& x);

}  // namespace vision_ext::cpu
