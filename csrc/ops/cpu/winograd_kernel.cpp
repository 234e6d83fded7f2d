// CPU Winograd F(4x4,3x3) conv with a fused bias/residual/ReLU epilogue (fp32, NHWC):
// input transform -> 36 batched GEMMs (ATen/MKL) -> output transform + epilogue.
// Transforms vectorise across channels, which NHWC keeps contiguous.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <vector>

#include "../winograd_generic.h"
#include "vision_ext/epilogue.h"

namespace vision_ext::cpu {
namespace {

using namespace vision_ext::winograd;

struct TileGrid {
  int64_t n, h, w, c, th, tw, padding;
  int64_t tiles() const { return n * th * tw; }
};

template <typename T>
T* scratch(int64_t n) {
  thread_local std::vector<T> buffer;
  if (static_cast<int64_t>(buffer.size()) < n) buffer.resize(n);
  return buffer.data();
}

// One 1-D transform applied lane-wise to `In` channel vectors, giving `Out` vectors.
template <int In, int Out, typename F>
inline void transform_vectors(F fn, const float* const* in, float* const* out, int64_t C) {
#pragma omp simd
  for (int64_t c = 0; c < C; ++c) {
    float a[In], b[Out];
    for (int i = 0; i < In; ++i) a[i] = in[i][c];
    fn(a, b);
    for (int i = 0; i < Out; ++i) out[i][c] = b[i];
  }
}

constexpr int64_t kTilesPerBlock = 64;  // a block's V and M stay in L2 between the three stages

// V[36][nb][C] = B^T d B for tiles t0 .. t0+nb (zeros outside the image).
void input_transform(const float* x, const TileGrid& g, int64_t t0, int64_t nb, const float* zeros, float* tmp,
                     float* v) {
  const int64_t C = g.c;
  const float* in[6];
  float* out[6];
  for (int64_t j = 0; j < nb; ++j) {
    const int64_t t = t0 + j, img = t / (g.th * g.tw), ty = t / g.tw % g.th, tx = t % g.tw;
    for (int col = 0; col < 6; ++col) {  // B^T d, one tile column at a time
      for (int row = 0; row < 6; ++row) {
        const int64_t y = ty * 4 - g.padding + row, xx = tx * 4 - g.padding + col;
        in[row] = (y >= 0 && y < g.h && xx >= 0 && xx < g.w) ? x + ((img * g.h + y) * g.w + xx) * C : zeros;
        out[row] = tmp + (row * 6 + col) * C;
      }
      transform_vectors<6, 6>(input_1d<float>, in, out, C);
    }
    for (int row = 0; row < 6; ++row) {  // (B^T d) B, into the 36 GEMM planes
      for (int k = 0; k < 6; ++k) {
        in[k] = tmp + (row * 6 + k) * C;
        out[k] = v + ((row * 6 + k) * nb + j) * C;
      }
      transform_vectors<6, 6>(input_1d<float>, in, out, C);
    }
  }
}

struct Epilogue {
  const float* bias;
  const float* residual;
  bool inner, outer;
};

// out = post(pre(A^T M A + bias) + residual) for tiles t0 .. t0+nb, into the NHWC output.
void output_transform(const float* m, const TileGrid& g, int64_t t0, int64_t nb, int64_t K, int64_t ho, int64_t wo,
                      const Epilogue& e, float* tmp, float* out) {
  float* rows = tmp + 24 * K;
  const float* in[6];
  float* o[6];
  for (int64_t j = 0; j < nb; ++j) {
    const int64_t t = t0 + j, img = t / (g.th * g.tw), ty = t / g.tw % g.th, tx = t % g.tw;
    for (int col = 0; col < 6; ++col) {  // A^T M per tile column
      for (int r = 0; r < 6; ++r) in[r] = m + ((r * 6 + col) * nb + j) * K;
      for (int r = 0; r < 4; ++r) o[r] = tmp + (r * 6 + col) * K;
      transform_vectors<6, 4>(output_1d<float>, in, o, K);
    }
    for (int r = 0; r < 4 && ty * 4 + r < ho; ++r) {  // (A^T M) A, then the epilogue per pixel
      for (int k = 0; k < 6; ++k) in[k] = tmp + (r * 6 + k) * K;
      for (int k = 0; k < 4; ++k) o[k] = rows + k * K;
      transform_vectors<6, 4>(output_1d<float>, in, o, K);
      for (int k = 0; k < 4 && tx * 4 + k < wo; ++k) {
        const int64_t off = ((img * ho + ty * 4 + r) * wo + tx * 4 + k) * K;
        const float* src = rows + k * K;
        const float* rr = e.residual ? e.residual + off : nullptr;
        float* dst = out + off;
#pragma omp simd
        for (int64_t c = 0; c < K; ++c)
          dst[c] = epilogue_value<float>(src[c], 1.f, e.bias ? e.bias[c] : 0.f, rr ? rr[c] : 0.f, e.inner, e.outer);
      }
    }
  }
}

at::Tensor conv3x3_winograd_cpu(const at::Tensor& x_in, const at::Tensor& packed, const std::optional<at::Tensor>& bias,
                                const std::optional<at::Tensor>& residual, int64_t padding, bool inner_relu,
                                bool outer_relu) {
  if (x_in.scalar_type() != at::kFloat || x_in.numel() == 0)
    return conv_generic(x_in, packed, bias, residual, padding, inner_relu, outer_relu);
  const auto [ho, wo] = check_call(x_in, packed, bias, residual, padding);
  const at::Tensor x = x_in.contiguous(at::MemoryFormat::ChannelsLast);
  const at::Tensor u = packed.contiguous();
  const int64_t C = x.size(1), K = u.size(2);
  const TileGrid g{x.size(0), x.size(2), x.size(3), C, (ho + 3) / 4, (wo + 3) / 4, padding};
  at::Tensor out = at::empty({g.n, K, ho, wo}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
  const at::Tensor b = bias ? bias->to(at::kFloat).contiguous() : at::Tensor();
  const at::Tensor r = residual ? residual->contiguous(at::MemoryFormat::ChannelsLast) : at::Tensor();
  const Epilogue e{b.defined() ? b.data_ptr<float>() : nullptr, r.defined() ? r.data_ptr<float>() : nullptr,
                   inner_relu, outer_relu};
  const std::vector<float> zeros(C, 0.f);
  const int64_t blocks = (g.tiles() + kTilesPerBlock - 1) / kTilesPerBlock;
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    float* tmp = scratch<float>(36 * std::max(C, K));
    at::Tensor v = at::empty({36, kTilesPerBlock, C}, x.options());
    at::Tensor m = at::empty({36, kTilesPerBlock, K}, x.options());
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t t0 = blk * kTilesPerBlock, nb = std::min(kTilesPerBlock, g.tiles() - t0);
      at::Tensor vb = nb == kTilesPerBlock ? v : v.narrow(1, 0, nb).contiguous();
      input_transform(x.data_ptr<float>(), g, t0, nb, zeros.data(), tmp, vb.data_ptr<float>());
      at::Tensor mb = nb == kTilesPerBlock ? m : at::empty({36, nb, K}, x.options());
      at::bmm_out(mb, vb, u);  // runs single-threaded inside this parallel region
      output_transform(mb.data_ptr<float>(), g, t0, nb, K, ho, wo, e, tmp, out.data_ptr<float>());
    }
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(vision_ext, CPU, m) { m.impl("conv3x3_winograd", &conv3x3_winograd_cpu); }

TORCH_LIBRARY_IMPL(vision_ext, CompositeExplicitAutograd, m) {
  m.impl("winograd_pack_weight", &vision_ext::winograd::pack_weight);
}

}  // namespace vision_ext::cpu
