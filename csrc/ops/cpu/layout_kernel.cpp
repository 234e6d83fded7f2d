// CPU channels_last conversion: the glue around the per-level transpose of simd/layout_simd.cpp.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>

#include "layout_cpu.h"
#include "simd/layout_simd.h"

namespace vision_ext::cpu {

at::Tensor channels_last_cpu(const at::Tensor& x) {
  if (x.is_contiguous(at::MemoryFormat::ChannelsLast)) return x;
  if (x.scalar_type() != at::kFloat || !x.is_contiguous() || x.dim() != 4)
    return x.contiguous(at::MemoryFormat::ChannelsLast);
  at::Tensor out = at::empty_like(x, at::MemoryFormat::ChannelsLast);
  const int64_t N = x.size(0), C = x.size(1), P = x.size(2) * x.size(3);
  constexpr int64_t kChannels = 16, kPixels = 256;  // a strip of 16 KiB in, 16 KiB out
  const int64_t cb = (C + kChannels - 1) / kChannels, pb = (P + kPixels - 1) / kPixels;
  const float* in = x.data_ptr<float>();
  float* o = out.data_ptr<float>();
  const LayoutKernels& kernels = layout_kernels();
  at::parallel_for(0, N * cb * pb, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / (cb * pb), c0 = i / pb % cb * kChannels, q0 = i % pb * kPixels;
      kernels.nchw_to_nhwc(in + n * C * P, o + n * C * P, C, P, c0, std::min(C, c0 + kChannels), q0,
                           std::min(P, q0 + kPixels));
    }
  });
  return out;
}

namespace {

at::Tensor to_channels_last_cpu(const at::Tensor& x) {
  TORCH_CHECK(x.dim() == 4, "vision_ext::_to_channels_last: expected a 4-D (N, C, H, W) tensor, got shape ",
              x.sizes());
  const at::Tensor out = channels_last_cpu(x);
  return out.is_same(x) ? x.clone(at::MemoryFormat::ChannelsLast) : out;  // an op never returns its input
}

}  // namespace
}  // namespace vision_ext::cpu

TORCH_LIBRARY_IMPL(vision_ext, CPU, m) { m.impl("_to_channels_last", &vision_ext::cpu::to_channels_last_cpu); }
