// CUDA glue of the texture family: the same checks as the CPU (../texture_common.h), then the
// torch-free launchers of csrc/kernels/cuda/texture.cu on the current stream.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <cmath>
#include <vector>

#include "../texture_common.h"
#include "vision_ext/texture_launch.h"

namespace vision_ext {
namespace texture {
namespace {

// The CUDA backend of the ops in texture_common.h.
struct Cuda {
  using Guard = c10::cuda::CUDAGuard;

  static void lbp(const at::Tensor& padded, at::Tensor& out, const LbpParams& p) {
    C10_CUDA_CHECK(launch_lbp(padded.data_ptr<double>(), padded.size(0), p, out.data_ptr<double>(),
                              c10::cuda::getCurrentCUDAStream()));
  }

  static void glcm(const at::Tensor& img, int64_t h, int64_t w, const std::vector<GlcmOffset>& offs, int64_t levels,
                   bool symmetric, bool normed, at::Tensor& out) {
    cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
    const int64_t b = img.size(0), K = static_cast<int64_t>(offs.size());
    std::vector<int32_t> packed;
    std::vector<int64_t> pairs;
    for (const auto& o : offs) {
      packed.push_back(o.dr), packed.push_back(o.dc);
      pairs.push_back(glcm_pairs(h, w, o));
    }
    const auto dev = img.options();
    at::Tensor d_offs = at::tensor(packed, at::kInt).to(img.device());
    at::Tensor d_pairs = at::tensor(pairs, at::kLong).to(img.device());
    at::Tensor hist = at::zeros({b, K, levels, levels}, dev.dtype(at::kInt));
    C10_CUDA_CHECK(launch_glcm_count(img.data_ptr(), img.scalar_type() == at::kByte, b, static_cast<int>(h),
                                     static_cast<int>(w), reinterpret_cast<const GlcmOffset*>(d_offs.data_ptr<int32_t>()),
                                     static_cast<int>(K), static_cast<int>(levels), hist.data_ptr<int32_t>(), stream));
    C10_CUDA_CHECK(launch_glcm_finish(hist.data_ptr<int32_t>(), b, static_cast<int>(K), static_cast<int>(levels),
                                      reinterpret_cast<const long long*>(d_pairs.data_ptr<int64_t>()), symmetric,
                                      normed, normed ? nullptr : out.data_ptr<int32_t>(),
                                      normed ? out.data_ptr<double>() : nullptr, stream));
  }

  static void props(const at::Tensor& m, const std::vector<int64_t>& props, at::Tensor& out) {
    TORCH_CHECK(props.size() <= static_cast<size_t>(kGlcmMaxProps), "graycoprops: at most ", kGlcmMaxProps,
                " properties per call on CUDA, got ", props.size());
    GlcmPropList list{};
    list.count = static_cast<int>(props.size());
    for (size_t i = 0; i < props.size(); ++i) list.prop[i] = static_cast<int>(props[i]);
    C10_CUDA_CHECK(launch_glcm_props(m.data_ptr<double>(), m.size(0) * m.size(1), static_cast<int>(m.size(1)),
                                     static_cast<int>(m.size(2)), list, out.data_ptr<double>(),
                                     c10::cuda::getCurrentCUDAStream()));
  }

  static void hog(const at::Tensor& img, const HogParams& p, at::Tensor& features, at::Tensor& vis, bool visualize) {
    const int64_t b = img.size(0);
    const auto opts = img.options();
    const int64_t area = static_cast<int64_t>(p.cells_row) * p.cell_rows * p.cells_col * p.cell_cols;
    at::Tensor bins = at::empty({b * area}, opts.dtype(at::kByte));
    at::Tensor mags = at::empty({b * area}, opts.dtype(at::kDouble));
    at::Tensor hist = at::empty({b * p.cells_row * p.cells_col * p.orientations}, opts.dtype(at::kFloat));
    at::Tensor blocks = at::empty({features.numel()}, opts.dtype(at::kDouble));
    const int radius = std::min(p.cell_rows, p.cell_cols) / 2 - 1;
    std::vector<double> ldr(p.orientations), ldc(p.orientations);
    for (int o = 0; o < p.orientations; ++o) {
      const double mid = 3.141592653589793 * (o + 0.5) / p.orientations;
      ldr[o] = radius * std::sin(mid), ldc[o] = radius * std::cos(mid);
    }
    at::Tensor d_dr = at::tensor(ldr, at::kDouble).to(img.device());
    at::Tensor d_dc = at::tensor(ldc, at::kDouble).to(img.device());
    HogWorkspace ws{bins.data_ptr<uint8_t>(), mags.data_ptr<double>(), hist.data_ptr<float>(),
                    blocks.data_ptr<double>(), d_dr.data_ptr<double>(), d_dc.data_ptr<double>()};
    const int kind = img.scalar_type() == at::kByte ? 2 : (img.scalar_type() == at::kFloat ? 1 : 0);
    C10_CUDA_CHECK(launch_hog(img.data_ptr(), kind, b, p, ws, features.data_ptr(),
                              visualize ? vis.data_ptr() : nullptr, c10::cuda::getCurrentCUDAStream()));
  }
};

}  // namespace
}  // namespace texture
}  // namespace vision_ext

TORCH_LIBRARY_IMPL(vision_ext, CUDA, m) { vision_ext::texture::register_texture_ops<vision_ext::texture::Cuda>(m); }
