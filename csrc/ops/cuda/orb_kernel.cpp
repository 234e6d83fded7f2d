// CUDA glue of the ORB family: the same checks and pyramid plan as the CPU (../orb_common.h), the
// torch-free launchers of csrc/kernels/cuda/orb.cu and the corner family's FAST kernel
// (vision_ext/corners_launch.h) on the current stream. Selection and ranking use deterministic
// ATen ops (nonzero, sorts of unique keys, stable sorts), in the CPU's total order, so both devices
// return the same keypoints and descriptors.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <vector>

#include "../orb_common.h"
#include "vision_ext/corners_launch.h"
#include "vision_ext/orb_launch.h"

namespace vision_ext {
namespace orb {
namespace {

// Stable sort of every tensor in `cols` by key (ascending or descending).
void reorder_by(const at::Tensor& key, bool descending, std::vector<at::Tensor*> cols) {
  const at::Tensor order = std::get<1>(key.sort(/*stable=*/true, /*dim=*/0, descending));
  for (at::Tensor* c : cols) *c = c->index_select(0, order);
}

// The CUDA backend of the ops in orb_common.h.
struct Cuda {
  using Guard = c10::cuda::CUDAGuard;

  static OrbResult orb(const Planes& img, const Plan& plan) {
    const auto opts = img.t.options();
    OrbResult r = empty_result(img.b, plan.n_features, opts);
    auto& [xy, level_out, angle_out, response_out, desc_out, counts] = r;
    cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
    const int nl = static_cast<int>(plan.levels.size());
    int usable = 0;
    while (usable < nl && level_has_room(plan.levels[usable], plan.border)) ++usable;
    std::vector<int64_t> offsets(std::max(usable, 1), 0), widths(std::max(usable, 1), 1);
    int64_t total = 0;
    for (int l = 0; l < usable; ++l) {
      offsets[l] = total;
      widths[l] = plan.levels[l].w;
      total += static_cast<int64_t>(plan.levels[l].w) * plan.levels[l].h;
    }
    const at::Tensor d_offsets = at::tensor(offsets, opts.dtype(at::kLong));
    const at::Tensor d_widths = at::tensor(widths, opts.dtype(at::kLong));
    const int b = plan.border;
    for (int64_t i = 0; i < img.b && usable > 0; ++i) {
      at::Tensor pyr = at::empty({total}, opts.dtype(at::kByte));
      pyr.narrow(0, 0, img.h * img.w).copy_(img.t[i].reshape({-1}));
      uint8_t* base = pyr.data_ptr<uint8_t>();
      std::vector<at::Tensor> X, Y, L, R, X0, Y0;
      for (int l = 0; l < usable; ++l) {
        const Level& lv = plan.levels[l];
        if (l > 0) {
          const Level& pv = plan.levels[l - 1];
          C10_CUDA_CHECK(launch_orb_resize(base + offsets[l - 1], pv.w, pv.h, base + offsets[l], lv.w, lv.h, stream));
        }
        if (lv.budget == 0) continue;
        const at::Tensor plane = pyr.narrow(0, offsets[l], static_cast<int64_t>(lv.w) * lv.h);
        at::Tensor corner = at::zeros_like(plane), score = at::zeros_like(plane), keep = at::zeros_like(plane);
        const FastParams fp{lv.h, lv.w, plan.fast_threshold, 16, 1};
        C10_CUDA_CHECK(launch_fast(plane.data_ptr<uint8_t>(), corner.data_ptr<uint8_t>(), score.data_ptr<uint8_t>(),
                                   keep.data_ptr<uint8_t>(), 1, fp, stream));
        at::Tensor idx = keep.nonzero().reshape({-1});
        at::Tensor y = idx.div(lv.w, "floor"), x = idx - y * lv.w;
        const at::Tensor inside = (x >= b) & (y >= b) & (x < lv.w - b) & (y < lv.h - b);
        idx = idx.masked_select(inside);
        x = x.masked_select(inside);
        y = y.masked_select(inside);
        at::Tensor fs = score.index_select(0, idx).to(at::kLong);
        // The FAST ranking: score descending, then raster (unique keys, so any sort is exact).
        reorder_by((255 - fs) * (static_cast<int64_t>(lv.w) * lv.h) + idx, false, {&x, &y, &fs});
        const int64_t cap = plan.harris ? 2 * static_cast<int64_t>(lv.budget) : lv.budget;
        const int64_t m = std::min<int64_t>(cap, x.size(0));
        x = x.narrow(0, 0, m).contiguous();
        y = y.narrow(0, 0, m).contiguous();
        at::Tensor resp = fs.narrow(0, 0, m).to(at::kFloat);
        if (plan.harris) {
          resp = at::empty({m}, opts.dtype(at::kFloat));
          C10_CUDA_CHECK(launch_orb_harris(plane.data_ptr<uint8_t>(), lv.w, lv.h, x.data_ptr<int64_t>(),
                                           y.data_ptr<int64_t>(), m, resp.data_ptr<float>(), stream));
          reorder_by(y * lv.w + x, false, {&x, &y, &resp});  // raster first, then a stable sort by score
          reorder_by(resp, true, {&x, &y, &resp});
        }
        const int64_t keepn = std::min<int64_t>(m, lv.budget);
        X.push_back(x.narrow(0, 0, keepn));
        Y.push_back(y.narrow(0, 0, keepn));
        R.push_back(resp.narrow(0, 0, keepn));
        L.push_back(at::full({keepn}, l, opts.dtype(at::kLong)));
        // (i + 0.5) * ratio - 0.5 in double, rounded to float: level0_coord's two roundings.
        X0.push_back(((X.back().to(at::kDouble) + 0.5) * lv.rx - 0.5).to(at::kFloat));
        Y0.push_back(((Y.back().to(at::kDouble) + 0.5) * lv.ry - 0.5).to(at::kFloat));
      }
      if (X.empty()) continue;
      at::Tensor x = at::cat(X), y = at::cat(Y), lvl = at::cat(L), resp = at::cat(R), x0 = at::cat(X0), y0 = at::cat(Y0);
      // The total order: response descending, then y, x, level; stable sorts from the last key.
      reorder_by(lvl, false, {&x, &y, &lvl, &resp, &x0, &y0});
      reorder_by(x0, false, {&x, &y, &lvl, &resp, &x0, &y0});
      reorder_by(y0, false, {&x, &y, &lvl, &resp, &x0, &y0});
      reorder_by(resp, true, {&x, &y, &lvl, &resp, &x0, &y0});
      const int64_t n = std::min<int64_t>(x.size(0), plan.n_features);
      x = x.narrow(0, 0, n).contiguous();
      y = y.narrow(0, 0, n).contiguous();
      lvl = lvl.narrow(0, 0, n).contiguous();
      at::Tensor angles = at::empty({n}, opts.dtype(at::kFloat));
      at::Tensor desc = at::empty({n, 32}, opts.dtype(at::kByte));
      C10_CUDA_CHECK(launch_orb_describe(base, d_offsets.data_ptr<int64_t>(), d_widths.data_ptr<int64_t>(),
                                         x.data_ptr<int64_t>(), y.data_ptr<int64_t>(), lvl.data_ptr<int64_t>(), n,
                                         plan.half_patch, angles.data_ptr<float>(), desc.data_ptr<uint8_t>(), stream));
      xy[i].narrow(0, 0, n).copy_(at::stack({x0.narrow(0, 0, n), y0.narrow(0, 0, n)}, 1));
      level_out[i].narrow(0, 0, n).copy_(lvl);
      angle_out[i].narrow(0, 0, n).copy_(angles);
      response_out[i].narrow(0, 0, n).copy_(resp.narrow(0, 0, n));
      desc_out[i].narrow(0, 0, n).copy_(desc);
      counts[i].fill_(n);
    }
    return r;
  }

  static MatchResult match(const DescSet& s1, const DescSet& s2, const MatchArgs& a) {
    cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
    const auto opts = s1.t.options();
    at::Tensor index = at::full({s1.b, s1.n}, -1, opts.dtype(at::kLong));
    at::Tensor distance = at::zeros({s1.b, s1.n}, opts.dtype(at::kInt));
    const at::Tensor c1 = s1.counts.cpu(), c2 = s2.counts.cpu();
    for (int64_t i = 0; i < s1.b; ++i) {
      const int64_t n1 = c1.data_ptr<int64_t>()[i], n2 = c2.data_ptr<int64_t>()[i];
      if (n1 == 0 || n2 == 0) continue;
      const at::Tensor q = s1.t[i].narrow(0, 0, n1).contiguous(), t = s2.t[i].narrow(0, 0, n2).contiguous();
      at::Tensor bd = at::empty({n1}, opts.dtype(at::kInt)), sd = at::empty({n1}, opts.dtype(at::kInt));
      at::Tensor bi = at::empty({n1}, opts.dtype(at::kLong));
      C10_CUDA_CHECK(launch_orb_hamming(q.data_ptr<uint8_t>(), n1, t.data_ptr<uint8_t>(), n2, bd.data_ptr<int32_t>(),
                                        bi.data_ptr<int64_t>(), sd.data_ptr<int32_t>(), stream));
      at::Tensor ok = bi >= 0;
      if (a.cross_check) {  // the train's own nearest query (first index on ties) must be this one
        at::Tensor rd = at::empty({n2}, opts.dtype(at::kInt)), rs = at::empty({n2}, opts.dtype(at::kInt));
        at::Tensor ri = at::empty({n2}, opts.dtype(at::kLong));
        C10_CUDA_CHECK(launch_orb_hamming(t.data_ptr<uint8_t>(), n2, q.data_ptr<uint8_t>(), n1,
                                          rd.data_ptr<int32_t>(), ri.data_ptr<int64_t>(), rs.data_ptr<int32_t>(),
                                          stream));
        ok = ok & ri.index_select(0, bi.clamp_min(0)).eq(at::arange(n1, opts.dtype(at::kLong)));
      }
      if (a.max_distance >= 0) ok = ok & (bd <= a.max_distance);
      if (a.max_ratio > 0)
        ok = ok & ((sd == INT32_MAX) | (bd.to(at::kDouble) < sd.to(at::kDouble) * a.max_ratio));
      index[i].narrow(0, 0, n1).copy_(at::where(ok, bi, at::full_like(bi, -1)));
      distance[i].narrow(0, 0, n1).copy_(at::where(ok, bd, at::zeros_like(bd)));
    }
    return {index, distance};
  }
};

}  // namespace
}  // namespace orb
}  // namespace vision_ext

TORCH_LIBRARY_IMPL(vision_ext, CUDA, m) { vision_ext::orb::register_orb_ops<vision_ext::orb::Cuda>(m); }
