// CUDA glue of find_contours: the same checks and levels as the CPU (../contours_common.h); per
// image a count kernel (segments per cell), an exclusive prefix sum (at::cumsum), and an emission
// kernel writing each cell's segments at its offset, so the device buffer is in the CPU's
// row-major cell order. The buffer is copied to the host, where the shared linker of
// ../contours_common.h assembles the contours (sequential, as scikit-image's order requires).
#include <ATen/ATen.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <cstring>
#include <vector>

#include "../contours_common.h"
#include "vision_ext/contours_launch.h"

namespace vision_ext {
namespace contours {
namespace {

struct Cuda {
  using Guard = c10::cuda::CUDAGuard;
  static constexpr HostMinMax host_min_max = nullptr;  // the values live on the GPU

  static std::vector<Segment> segments(const Planes& p, int64_t n, bool high) {
    cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
    const int64_t h = p.h, w = p.w, hw = h * w, cells = (h - 1) * (w - 1);
    const double* v = p.values.data_ptr<double>() + n * hw;
    const uint8_t* m = p.mask.defined() ? p.mask.data_ptr<uint8_t>() + n * hw : nullptr;
    at::Tensor counts = at::empty({cells}, p.values.options().dtype(at::kInt));
    C10_CUDA_CHECK(launch_contour_count(v, m, h, w, p.levels[n], counts.data_ptr<int32_t>(), stream));
    at::Tensor inclusive = at::cumsum(counts, 0, at::kLong);
    const int64_t total = inclusive[cells - 1].item<int64_t>();  // the one host read per image
    std::vector<Segment> out(total);
    if (total == 0) return out;
    at::Tensor offsets = inclusive - counts;
    const int64_t bytes = total * static_cast<int64_t>(sizeof(Segment));
    at::Tensor buf = at::empty({bytes}, p.values.options().dtype(at::kByte));
    C10_CUDA_CHECK(launch_contour_emit(v, m, h, w, p.levels[n], high, offsets.data_ptr<int64_t>(),
                                       reinterpret_cast<Segment*>(buf.data_ptr<uint8_t>()), stream));
    at::Tensor host = buf.cpu();
    std::memcpy(out.data(), host.data_ptr<uint8_t>(), bytes);
    return out;
  }
};

}  // namespace
}  // namespace contours
}  // namespace vision_ext

TORCH_LIBRARY_IMPL(vision_ext, CUDA, m) { vision_ext::contours::register_contour_ops<vision_ext::contours::Cuda>(m); }
