// CPU Winograd F(4x4,3x3) conv with a fused bias/residual/ReLU epilogue (fp32, NHWC):
// input transform -> 36 GEMMs on the packed weight (winograd_gemm.h) -> output transform +
// epilogue. Each 2-D tile transform runs in registers on 16 channels at once (NHWC keeps them
// contiguous); blocks of tiles are sized so a block's V and M stay in L2.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <vector>

#include "../winograd_generic.h"
#include "channels_last_cpu.h"
#include "simd.h"
#include "winograd_gemm.h"
#include "vision_ext/epilogue.h"

namespace vision_ext::cpu {
namespace {

using namespace vision_ext::winograd;

struct TileGrid {
  int64_t n, h, w, c, th, tw, padding;
  int64_t tiles() const { return n * th * tw; }
  struct Position {
    int64_t img, ty, tx;
  };
  Position position(int64_t t) const { return {t / (th * tw), t / tw % th, t % tw}; }
};

// The 36 input pixels (NHWC channel vectors) of tile t; `zeros` stands in outside the image.
void tile_sources(const float* x, const TileGrid& g, int64_t t, const float* zeros, const float** src) {
  const auto [img, ty, tx] = g.position(t);
  for (int row = 0; row < 6; ++row) {
    const int64_t y = ty * 4 - g.padding + row;
    for (int col = 0; col < 6; ++col) {
      const int64_t xx = tx * 4 - g.padding + col;
      src[row * 6 + col] = (y >= 0 && y < g.h && xx >= 0 && xx < g.w) ? x + ((img * g.h + y) * g.w + xx) * g.c : zeros;
    }
  }
}

// V[p][j][c .. c+lanes) = (B^T d B)[p] for one tile's channel group.
template <typename T>
inline void input_lanes(const float* const* src, int64_t c, float* v, int64_t plane_stride) {
  T d[36], o[36];
  for (int i = 0; i < 36; ++i) d[i] = load_lanes(src[i] + c, T{});
  input_2d(d, o);
  for (int i = 0; i < 36; ++i) store_lanes(o[i], v + i * plane_stride + c);
}

// One tile's 36 planes at v[p * plane_stride], for all channels.
void input_transform_one(const float* x, const TileGrid& g, int64_t t, const float* zeros, float* v,
                         int64_t plane_stride) {
  const float* src[36];
  tile_sources(x, g, t, zeros, src);
  int64_t c = 0;
  for (; c + F32x16::kLanes <= g.c; c += F32x16::kLanes) input_lanes<F32x16>(src, c, v, plane_stride);
  for (; c < g.c; ++c) input_lanes<float>(src, c, v, plane_stride);
}

struct Epilogue {
  const float* bias;
  const float* residual;
  bool inner, outer;
};

struct OutputTile {
  int64_t base;    // NHWC offset of the tile's top-left output pixel
  int64_t rows;    // valid rows/cols of the 4x4 tile (fewer at the bottom/right edge)
  int64_t cols;
  int64_t row_stride;  // wo * K
};

// out = post(pre(A^T M A + bias) + residual) for one tile's channel group at c;
// m points at that group's first plane.
template <typename T>
inline void output_lanes(const float* m, int64_t plane_stride, int64_t c, const OutputTile& o, int64_t K,
                         const Epilogue& e, float* out) {
  T mm[36], y[16];
  for (int i = 0; i < 36; ++i) mm[i] = load_lanes(m + i * plane_stride, T{});
  output_2d(mm, y);
  const T bias = e.bias ? load_lanes(e.bias + c, T{}) : T(0.f);
  for (int64_t r = 0; r < o.rows; ++r)
    for (int64_t k = 0; k < o.cols; ++k) {
      const int64_t off = o.base + r * o.row_stride + k * K + c;
      const T res = e.residual ? load_lanes(e.residual + off, T{}) : T(0.f);
      store_lanes(epilogue_value<T>(y[r * 4 + k], T(1.f), bias, res, e.inner, e.outer), out + off);
    }
}

// Output channels [k0, k1) of tile t from its 36 planes at m[p * plane_stride] (m holds k0 at 0).
void output_transform_one(const float* m, int64_t plane_stride, const TileGrid& g, int64_t t, int64_t K, int64_t k0,
                          int64_t k1, int64_t ho, int64_t wo, const Epilogue& e, float* out) {
  const auto [img, ty, tx] = g.position(t);
  const OutputTile o{((img * ho + ty * 4) * wo + tx * 4) * K, std::min<int64_t>(4, ho - ty * 4),
                     std::min<int64_t>(4, wo - tx * 4), wo * K};
  int64_t c = k0;
  for (; c + F32x16::kLanes <= k1; c += F32x16::kLanes)
    output_lanes<F32x16>(m + (c - k0), plane_stride, c, o, K, e, out);
  for (; c < k1; ++c) output_lanes<float>(m + (c - k0), plane_stride, c, o, K, e, out);
}

struct Problem {
  const float* x;
  TileGrid g;
  int64_t K, ho, wo;
  Epilogue e;
  const float* zeros;
  float* out;
};

// How the conv is cut into work items: blocks of tiles times slices of output channels.
struct Split {
  int64_t tiles_per_block, blocks, k_slice, slices;
};

// Blocks of 24 tiles keep a block's V and M in L2 next to U for up to 256 channels (measured
// best on Zen 4 for 64-256 channels); wider layers stream U from L3 anyway and want taller
// blocks to amortise it. When there are too few blocks to feed every thread (deep layers, small
// images), slicing the output channels gives each thread part of U instead of all of it.
Split choose_split(int64_t tiles, int64_t C, int64_t K) {
  const int64_t threads = at::get_num_threads();
  const int64_t nb = std::min<int64_t>(C + K <= 512 ? 24 : 48, (tiles + threads - 1) / threads);
  const int64_t blocks = (tiles + nb - 1) / nb;
  int64_t slices = 1;
  while (blocks * slices < 2 * threads && K / (2 * slices) >= 64 && K % (2 * slices * 64) == 0) slices *= 2;
  return {nb, blocks, K / slices, slices};
}

void run(const Problem& p, const float* u, const Split& s) {
  const int64_t C = p.g.c, K = p.K, nb_max = s.tiles_per_block;
  at::parallel_for(0, s.blocks * s.slices, 1, [&](int64_t i0, int64_t i1) {
    std::vector<float> v(36 * winograd_gemm::padded_plane(nb_max * C)), m(36 * winograd_gemm::padded_plane(nb_max * K));
    int64_t transformed = -1;  // block whose V is in `v`
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t blk = item / s.slices, k0 = item % s.slices * s.k_slice, k1 = k0 + s.k_slice;
      const int64_t t0 = blk * nb_max, nb = std::min(nb_max, p.g.tiles() - t0);
      const int64_t vs = winograd_gemm::padded_plane(nb * C), ms = winograd_gemm::padded_plane(nb * K);
      if (transformed != blk)
        for (int64_t j = 0; j < nb; ++j) input_transform_one(p.x, p.g, t0 + j, p.zeros, v.data() + j * C, vs);
      transformed = blk;
      for (int64_t q = 0; q < 36; ++q)
        winograd_gemm::plane_gemm(v.data() + q * vs, nb, C, u + q * C * K, K, k0, k1, m.data() + q * ms);
      for (int64_t j = 0; j < nb; ++j)
        output_transform_one(m.data() + j * K + k0, ms, p.g, t0 + j, K, k0, k1, p.ho, p.wo, p.e, p.out);
    }
  });
}

at::Tensor conv3x3_winograd_cpu(const at::Tensor& x_in, const at::Tensor& packed, const std::optional<at::Tensor>& bias,
                                const std::optional<at::Tensor>& residual, int64_t padding, bool inner_relu,
                                bool outer_relu) {
  if (x_in.scalar_type() != at::kFloat || x_in.numel() == 0)
    return conv_generic(x_in, packed, bias, residual, padding, inner_relu, outer_relu);
  const auto [ho, wo] = check_call(x_in, packed, bias, residual, padding);
  const at::Tensor x = channels_last_cpu(x_in);
  const at::Tensor u = packed.contiguous();
  const int64_t C = x.size(1), K = u.size(2);
  const TileGrid g{x.size(0), x.size(2), x.size(3), C, (ho + 3) / 4, (wo + 3) / 4, padding};
  at::Tensor out = at::empty({g.n, K, ho, wo}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
  const at::Tensor b = bias ? bias->to(at::kFloat).contiguous() : at::Tensor();
  const at::Tensor r = residual ? channels_last_cpu(*residual) : at::Tensor();
  const Epilogue e{b.defined() ? b.data_ptr<float>() : nullptr, r.defined() ? r.data_ptr<float>() : nullptr,
                   inner_relu, outer_relu};
  const std::vector<float> zeros(C, 0.f);
  run({x.data_ptr<float>(), g, K, ho, wo, e, zeros.data(), out.data_ptr<float>()}, u.data_ptr<float>(),
      choose_split(g.tiles(), C, K));
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(vision_ext, CPU, m) { m.impl("conv3x3_winograd", &conv3x3_winograd_cpu); }

TORCH_LIBRARY_IMPL(vision_ext, CompositeExplicitAutograd, m) {
  m.impl("winograd_pack_weight", &vision_ext::winograd::pack_weight);
}

}  // namespace vision_ext::cpu
