// CUDA glue of the blob family: the same checks as the CPU (../blobs_common.h), then per image
// the scale space streamed through the torch-free launchers of csrc/kernels/cuda/blobs.cu (three
// response planes alive at a time). Each scale's maxima are compacted on the device (nonzero);
// the candidates and the stack's range come to the host once per image, where the CPU's code
// applies the thresholds and prunes.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <limits>
#include <vector>

#include "../blobs_common.h"
#include "vision_ext/blobs_launch.h"

namespace vision_ext {
namespace blobs {
namespace {

struct Cuda {
  using Guard = c10::cuda::CUDAGuard;

  static std::vector<PlaneScan> scan(const Planes& img, const ScaleSpace& s, Kind kind) {
    const bool dog = kind == Kind::dog, doh = kind == Kind::doh;
    std::vector<PlaneScan> out(img.b);
    if (img.h == 0 || img.w == 0) return out;
    cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
    const auto opts = img.t.options();
    const at::Tensor smooth = doh ? at::Tensor() : at::tensor(s.smooth, at::kDouble).to(opts.device());
    const at::Tensor second = kind != Kind::log ? at::Tensor() : at::tensor(s.second, at::kDouble).to(opts.device());
    const int h = static_cast<int>(img.h), w = static_cast<int>(img.w);
    const int64_t scales = s.scales();
    // No host read while streaming, so the scan keeps only what the fixed threshold rejects.
    const double thr = s.lower_bound(-std::numeric_limits<double>::infinity());
    at::Tensor a = at::empty({img.h, img.w}, opts), b = at::empty({dog ? 2 : 1, img.h, img.w}, opts);
    at::Tensor ring = at::empty({3, img.h, img.w}, opts);
    at::Tensor flags = at::empty({img.h, img.w}, opts.dtype(at::kByte));
    auto taps = [&](const at::Tensor& t, int64_t f) { return t.data_ptr<double>() + s.offsets[f]; };
    for (int64_t n = 0; n < img.b; ++n) {
      const double* src = img.t.data_ptr<double>() + n * img.h * img.w;
      auto plane = [&](int64_t i) { return ring[i % 3].data_ptr<double>(); };
      auto gauss = [&](int64_t f) { return b[f % 2].data_ptr<double>(); };
      auto gaussian = [&](int64_t f, double* g, double* response) {
        C10_CUDA_CHECK(launch_blob_column_pass(src, h, w, taps(smooth, f), nullptr, s.radii[f], a.data_ptr<double>(),
                                               nullptr, stream));
        C10_CUDA_CHECK(launch_blob_row_gauss(a.data_ptr<double>(), h, w, taps(smooth, f), s.radii[f],
                                             response ? gauss(f - 1) : nullptr, response ? s.norms[f - 1] : 0.0, g,
                                             response, stream));
      };
      std::vector<at::Tensor> idx, val, lo, hi;
      auto maxima = [&](int64_t i) {
        C10_CUDA_CHECK(launch_blob_maxima(i >= 1 ? plane(i - 1) : nullptr, plane(i),
                                          i + 1 < scales ? plane(i + 1) : nullptr, h, w, s.exclude_y, s.exclude_x,
                                          thr, flags.data_ptr<uint8_t>(), stream));
        at::Tensor pix = flags.reshape({-1}).nonzero().reshape({-1});
        val.push_back(ring[i % 3].reshape({-1}).index_select(0, pix));
        idx.push_back(pix * scales + i);
      };
      if (dog) gaussian(0, gauss(0), nullptr);
      if (doh) C10_CUDA_CHECK(launch_blob_integral_image(src, h, w, a.data_ptr<double>(), stream));
      for (int64_t i = 0; i < scales; ++i) {
        if (doh) {
          C10_CUDA_CHECK(launch_blob_doh(a.data_ptr<double>(), h, w, doh_boxes(s.sigmas[i]), plane(i), stream));
        } else if (dog) {
          gaussian(i + 1, gauss(i + 1), plane(i));
        } else {
          C10_CUDA_CHECK(launch_blob_column_pass(src, h, w, taps(smooth, i), taps(second, i), s.radii[i],
                                                 a.data_ptr<double>(), b[0].data_ptr<double>(), stream));
          C10_CUDA_CHECK(launch_blob_row_log(a.data_ptr<double>(), b[0].data_ptr<double>(), h, w, taps(smooth, i),
                                             taps(second, i), s.radii[i], s.norms[i], plane(i), stream));
        }
        auto range = at::aminmax(ring[i % 3]);
        lo.push_back(std::get<0>(range).reshape({1}));
        hi.push_back(std::get<1>(range).reshape({1}));
        if (i >= 1) maxima(i - 1);
      }
      maxima(scales - 1);
      const at::Tensor all_idx = at::cat(idx).cpu(), all_val = at::cat(val).cpu();
      PlaneScan& scan = out[n];
      scan.lo = at::cat(lo).min().item<double>();
      scan.hi = at::cat(hi).max().item<double>();
      const int64_t* pi = all_idx.data_ptr<int64_t>();
      const double* pv = all_val.data_ptr<double>();
      scan.candidates.reserve(all_idx.numel());
      for (int64_t k = 0; k < all_idx.numel(); ++k) scan.candidates.push_back({pv[k], pi[k]});
    }
    return out;
  }
};

}  // namespace
}  // namespace blobs
}  // namespace vision_ext

TORCH_LIBRARY_IMPL(vision_ext, CUDA, m) { vision_ext::blobs::register_blob_ops<vision_ext::blobs::Cuda>(m); }
