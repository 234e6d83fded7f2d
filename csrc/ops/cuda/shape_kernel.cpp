// CUDA glue of the shape family: the checks and host finish of ../shape_common.h around the integer
// sums of csrc/kernels/cuda/shape.cu (on the current stream). The sums are exact and the convex
// hulls and float64 features are computed on the host from them, so CUDA returns the CPU's bits.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <climits>
#include <utility>

#include "../shape_common.h"
#include "vision_ext/shape_launch.h"

namespace vision_ext {
namespace shape {
namespace {

struct Cuda {
  using Guard = c10::cuda::CUDAGuard;

  static std::pair<int64_t, int64_t> label_range(const at::Tensor& lab) {
    const auto mm = at::aminmax(lab);
    return {std::get<0>(mm).item<int64_t>(), std::get<1>(mm).item<int64_t>()};
  }

  static at::Tensor int32_labels(const at::Tensor& lab) { return lab.to(at::kInt).contiguous(); }

  static Sums sums(const IdPlanes& ids) {
    const auto opts = ids.ids.options();
    Sums s{at::zeros({ids.slots, kMomentWords}, opts.dtype(at::kLong)),
           at::zeros({ids.slots, kPerimeterClasses}, opts.dtype(at::kLong)),
           at::tensor({kBoxEmptyMin, kBoxEmptyMin, kBoxEmptyMax, kBoxEmptyMax}, opts.dtype(at::kInt))
               .repeat({ids.slots, 1})
               .contiguous()};
    C10_CUDA_CHECK(launch_shape_sums(ids.ids.data_ptr<int32_t>(), ids.b, static_cast<int>(ids.h),
                                     static_cast<int>(ids.w),
                                     reinterpret_cast<unsigned long long*>(s.moments.data_ptr<int64_t>()),
                                     reinterpret_cast<unsigned long long*>(s.perimeter.data_ptr<int64_t>()),
                                     s.box.data_ptr<int32_t>(), c10::cuda::getCurrentCUDAStream()));
    return s;
  }

  static at::Tensor extents(const IdPlanes& ids, const at::Tensor& box, const at::Tensor& row_offset, int64_t rows) {
    at::Tensor ext = at::tensor({kBoxEmptyMin, kBoxEmptyMax}, ids.ids.options().dtype(at::kInt))
                         .repeat({rows, 1})
                         .contiguous();
    if (rows == 0) return ext;
    C10_CUDA_CHECK(launch_shape_extents(ids.ids.data_ptr<int32_t>(), ids.b, static_cast<int>(ids.h),
                                        static_cast<int>(ids.w), box.data_ptr<int32_t>(),
                                        reinterpret_cast<const long long*>(row_offset.data_ptr<int64_t>()),
                                        ext.data_ptr<int32_t>(), c10::cuda::getCurrentCUDAStream()));
    return ext;
  }
};

}  // namespace
}  // namespace shape
}  // namespace vision_ext

TORCH_LIBRARY_IMPL(vision_ext, CUDA, m) { vision_ext::shape::register_shape_ops<vision_ext::shape::Cuda>(m); }
