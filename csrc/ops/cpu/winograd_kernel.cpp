// CPU Winograd F(4x4,3x3) conv with a fused bias/residual/ReLU epilogue (fp32, NHWC), and its
// weight packing: the glue. Checks, layout, workspace and threads here; the transforms and GEMMs
// are the per-level kernels of simd/winograd_simd.cpp, the weight transform that of
// simd/residual_simd.cpp (runtime CPU dispatch, cpu_dispatch.h).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <vector>

#include "../winograd_generic.h"
#include "layout_cpu.h"
#include "residual_cpu.h"
#include "simd/residual_simd.h"
#include "simd/winograd_simd.h"

namespace vision_ext::cpu {
namespace {

using vision_ext::winograd::check_call;
using vision_ext::winograd::conv_generic;

// Blocks of 24 tiles keep a block's V and M in L2 next to U for up to 256 channels (measured
// best on Zen 4 for 64-256 channels); wider layers stream U from L3 anyway and want taller
// blocks to amortise it. When there are too few blocks to feed every thread (deep layers, small
// images), slicing the output channels gives each thread part of U instead of all of it.
WinogradSplit choose_split(int64_t tiles, int64_t C, int64_t K) {
  const int64_t threads = at::get_num_threads();
  const int64_t nb = std::min<int64_t>(C + K <= 512 ? 24 : 48, (tiles + threads - 1) / threads);
  const int64_t blocks = (tiles + nb - 1) / nb;
  int64_t slices = 1;
  while (blocks * slices < 2 * threads && K / (2 * slices) >= 64 && K % (2 * slices * 64) == 0) slices *= 2;
  return {nb, blocks, K / slices, slices};
}

void run(const WinogradProblem& p, const WinogradSplit& s) {
  const WinogradKernels& kernels = winograd_kernels();
  const int64_t vsize = 36 * winograd_padded_plane(s.tiles_per_block * p.g.c);
  const int64_t msize = 36 * winograd_padded_plane(s.tiles_per_block * p.K);
  at::parallel_for(0, s.blocks * s.slices, 1, [&](int64_t i0, int64_t i1) {
    std::vector<float> v(vsize), m(msize);
    kernels.run_items(p, s, i0, i1, v.data(), m.data());
  });
}

}  // namespace
}  // namespace vision_ext::cpu

namespace vision_ext::residual {

using namespace vision_ext::cpu;

at::Tensor Cpu::conv3x3_winograd(const at::Tensor& x_in, const at::Tensor& packed,
                                 const std::optional<at::Tensor>& bias, const std::optional<at::Tensor>& residual,
                                 int64_t padding, bool inner_relu, bool outer_relu) {
  if (x_in.scalar_type() != at::kFloat || x_in.numel() == 0)
    return conv_generic(x_in, packed, bias, residual, padding, inner_relu, outer_relu);
  const auto [ho, wo] = check_call(x_in, packed, bias, residual, padding);
  const at::Tensor x = channels_last_cpu(x_in);
  const at::Tensor u = packed.contiguous();
  const int64_t C = x.size(1), K = u.size(2);
  const WinogradTileGrid g{x.size(0), x.size(2), x.size(3), C, (ho + 3) / 4, (wo + 3) / 4, padding};
  at::Tensor out = at::empty({g.n, K, ho, wo}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
  const at::Tensor b = bias ? bias->to(at::kFloat).contiguous() : at::Tensor();
  const at::Tensor r = residual ? channels_last_cpu(*residual) : at::Tensor();
  const WinogradEpilogue e{b.defined() ? b.data_ptr<float>() : nullptr, r.defined() ? r.data_ptr<float>() : nullptr,
                   inner_relu, outer_relu};
  const std::vector<float> zeros(C, 0.f);
  run({x.data_ptr<float>(), g, u.data_ptr<float>(), K, ho, wo, e, zeros.data(), out.data_ptr<float>()},
      choose_split(g.tiles(), C, K));
  return out;
}

// U[q][c][k] = (G w[k][c] G^T)[q] in float64, written straight into the packed layout: fast
// enough to repack the weights on every training step (the generic ATen path builds
// (C_out, C_in, 6, 6) temporaries). Half-precision weights take that path.
at::Tensor Cpu::winograd_pack_weight(const at::Tensor& w) {
  if (w.scalar_type() != at::kFloat && w.scalar_type() != at::kDouble) return winograd::pack_weight(w);
  winograd::check_weight(w);
  const int64_t K = w.size(0), C = w.size(1);
  at::Tensor u = at::empty({36, C, K}, w.options().memory_format(at::MemoryFormat::Contiguous));
  const ScalarKind kind = w.scalar_type() == at::kDouble ? ScalarKind::f64 : ScalarKind::f32;
  const ResidualKernels& kernels = residual_kernels();
  const void* src = w.data_ptr();
  const int64_t* st = w.strides().data();
  void* out = u.data_ptr();
  at::parallel_for(0, C, 1, [&](int64_t c0, int64_t c1) { kernels.winograd_pack(src, st, C, K, c0, c1, kind, out); });
  return u;
}

}  // namespace vision_ext::residual

// Every other device packs through ATen (the CPU and CUDA backends register their own).
TORCH_LIBRARY_IMPL(vision_ext, CompositeExplicitAutograd, m) {
  m.impl("winograd_pack_weight", &vision_ext::winograd::pack_weight);
}
