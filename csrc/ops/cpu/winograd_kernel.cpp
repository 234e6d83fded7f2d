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
using vision_ext::winograd::check_weight_grad_call;
using vision_ext::winograd::conv_generic;
using vision_ext::winograd::weight_grad_generic;

// Blocks of 24 tiles keep a block's V and M in L2 next to U for up to 256 channels (measured
// best on Zen 4 for 64-256 channels); wider layers stream U from L3 anyway and want taller
// blocks to amortise it. When there are too few blocks to feed every thread (deep layers, small
// images), slicing the output channels gives each thread part of U instead of all of it; where U
// outweighs the tiles (K > tiles), the tiles stay in as few equal blocks as the cap allows and the
// threads take slices, so each streams its share of U once (32x512x4x4, 2 threads: 12% faster
// than a block per thread, each reading all of U).
WinogradSplit choose_split(int64_t tiles, int64_t C, int64_t K) {
  const int64_t threads = at::get_num_threads(), cap = C + K <= 512 ? 24 : 48;
  const auto split = [&](int64_t nb) {
    const int64_t blocks = (tiles + nb - 1) / nb;
    int64_t slices = 1;
    while (blocks * slices < 2 * threads && K / (2 * slices) >= 64 && K % (2 * slices * 64) == 0) slices *= 2;
    return WinogradSplit{nb, blocks, K / slices, slices};
  };
  const WinogradSplit per_thread = split(std::min<int64_t>(cap, (tiles + threads - 1) / threads));
  if (K <= tiles) return per_thread;
  const int64_t few = (tiles + cap - 1) / cap;
  const WinogradSplit shared = split((tiles + few - 1) / few);
  return shared.blocks * shared.slices >= threads ? shared : per_thread;
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

// The weight gradient, two ways. Many tiles per channel pair (the early, wide-image layers): the
// tiles go to `parts` contiguous ranges, one per thread, each summing blocks of 64 tiles into its
// own 36 planes of K x C, added in order at the end (the result depends on the thread count, as
// oneDNN's does, never on scheduling); the parts' planes are capped at 64 MiB in all. Few tiles
// (deep layers, small images), where one set of planes outweighs all the transformed tiles: every
// tile is transformed once into shared planes, and the threads split the 36 planes' output rows,
// each row summing every tile in order.
at::Tensor weight_grad(const at::Tensor& x, const at::Tensor& dy, int64_t padding) {
  const int64_t C = x.size(1), K = dy.size(1);
  const WinogradTileGrid g{x.size(0), x.size(2), x.size(3), C, (dy.size(2) + 3) / 4, (dy.size(3) + 3) / 4, padding};
  const int64_t tiles = g.tiles(), plane = K * C, block = std::min<int64_t>(64, tiles);
  const int64_t threads = at::get_num_threads();
  const std::vector<float> zeros(std::max(C, K), 0.f);
  const WinogradGradProblem p{x.data_ptr<float>(), g, dy.data_ptr<float>(), K, dy.size(2), dy.size(3), zeros.data()};
  const WinogradKernels& kernels = winograd_kernels();
  int64_t parts = 1;
  at::Tensor m;
  if (threads > 1 && tiles * (C + K) <= threads * plane) {
    m = at::empty({36, plane}, x.options());
    const int64_t vs = winograd_padded_plane(tiles * C), ds = winograd_padded_plane(tiles * K);
    const at::Tensor vt = at::empty({36 * vs}, x.options()), dt = at::empty({36 * ds}, x.options());
    float *v = vt.data_ptr<float>(), *d = dt.data_ptr<float>();
    at::parallel_for(0, tiles, 8, [&](int64_t t0, int64_t t1) {
      kernels.weight_grad_transform(p, t0, t1 - t0, v + t0 * C, vs, d + t0 * K, ds);
    });
    const int64_t rows = 48, slices = (K + rows - 1) / rows;  // a multiple of the 6-row register tile
    at::parallel_for(0, 36 * slices, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const int64_t q = i / slices, k0 = i % slices * rows;
        kernels.weight_grad_plane(d + q * ds, v + q * vs, K, C, tiles, k0, std::min(K, k0 + rows), false,
                                  m.data_ptr<float>() + q * plane);
      }
    });
  } else {
    const int64_t cap = (int64_t{64} << 20) / (4 * 36 * plane);
    parts = std::max<int64_t>(1, std::min({threads, (tiles + block - 1) / block, cap}));
    m = at::empty({parts, 36 * plane}, x.options());
    float* planes = m.data_ptr<float>();
    at::parallel_for(0, parts, 1, [&](int64_t j0, int64_t j1) {
      const int64_t vs = winograd_padded_plane(block * C), ds = winograd_padded_plane(block * K);
      std::vector<float> v(36 * vs), d(36 * ds);
      for (int64_t j = j0; j < j1; ++j) {
        float* mj = planes + j * 36 * plane;
        for (int64_t b0 = tiles * j / parts, end = tiles * (j + 1) / parts; b0 < end; b0 += block) {
          const int64_t nb = std::min(block, end - b0);
          const int64_t bvs = winograd_padded_plane(nb * C), bds = winograd_padded_plane(nb * K);
          kernels.weight_grad_transform(p, b0, nb, v.data(), bvs, d.data(), bds);
          for (int64_t q = 0; q < 36; ++q)
            kernels.weight_grad_plane(d.data() + q * bds, v.data() + q * bvs, K, C, nb, 0, K,
                                      b0 != tiles * j / parts, mj + q * plane);
        }
      }
    });
  }
  at::Tensor dw = at::empty({K, C, 3, 3}, x.options());
  const float* planes = m.data_ptr<float>();
  float* out = dw.data_ptr<float>();
  at::parallel_for(0, K, 8,
                   [&](int64_t k0, int64_t k1) { kernels.weight_grad_output(planes, parts, K, C, k0, k1, out); });
  return dw;
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

// dW of a 3x3 stride-1 conv: fp32 through the per-level kernels, other dtypes through ATen.
at::Tensor Cpu::conv3x3_winograd_weight_grad(const at::Tensor& x, const at::Tensor& grad_output, int64_t padding) {
  if (x.scalar_type() != at::kFloat || x.numel() == 0 || grad_output.numel() == 0)
    return weight_grad_generic(x, grad_output, padding);
  check_weight_grad_call(x, grad_output, padding);
  return weight_grad(channels_last_cpu(x), channels_last_cpu(grad_output), padding);
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
