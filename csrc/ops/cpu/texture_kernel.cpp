// CPU glue of the texture family: LBP, GLCM, graycoprops and HOG. Checks (../texture_common.h),
// buffers and threading here; the per-level kernels (simd/texture_simd.h) run inside the
// parallel loops. Block normalisation and the HOG drawing are a small share of the work and run
// the scalar maths of vision_ext/texture.h here.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "../texture_common.h"
#include "simd/texture_simd.h"
#include "work_sharing.h"

namespace vision_ext {
namespace texture {
namespace {

// Below this much work a thread hand-off costs more than it saves.
constexpr int64_t kGrain = 1;

int64_t rows_per_task(int64_t h, int64_t b) {
  const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
  const int64_t tasks = std::max<int64_t>(1, 4 * threads / std::max<int64_t>(1, b));
  return std::max<int64_t>(8, (h + tasks - 1) / tasks);
}

void lbp_cpu(const at::Tensor& padded, at::Tensor& out, const LbpParams& p) {
  const int64_t b = padded.size(0), h = p.height, plane = lbp_padded_plane(p), hw = h * p.width;
  const int64_t rows = rows_per_task(h, b), tiles = (h + rows - 1) / rows;
  const double* src = padded.data_ptr<double>();
  double* dst = out.data_ptr<double>();
  const auto kernel = cpu::texture_kernels().lbp_rows;
  cpu::parallel_chunks(0, b * tiles, kGrain, [&](int64_t i0, int64_t i1) {
    std::vector<double> tex(static_cast<size_t>(p.points) * 8 + 64);
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / tiles, y0 = (i % tiles) * rows, y1 = std::min(h, y0 + rows);
      kernel(p, src + n * plane, dst + n * hw, static_cast<int>(y0), static_cast<int>(y1), tex.data());
    }
  });
}

// One (image, offset) matrix: counts, then skimage's symmetric sum / normalisation, written into
// out[n, :, :, k] (the (distance, angle) axes flattened, stride K).
void glcm_cpu(const at::Tensor& img, int64_t h, int64_t w, const std::vector<GlcmOffset>& offs, int64_t levels,
              bool symmetric, bool normed, at::Tensor& out) {
  const int64_t b = img.size(0), K = static_cast<int64_t>(offs.size()), L = levels, hw = h * w;
  const bool u8 = img.scalar_type() == at::kByte;
  const auto& k = cpu::texture_kernels();
  cpu::parallel_chunks(0, b * K, kGrain, [&](int64_t i0, int64_t i1) {
    std::vector<int32_t> hist(static_cast<size_t>(L * L));
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / K, o = i % K;
      std::fill(hist.begin(), hist.end(), 0);
      if (u8)
        k.glcm_count_u8(img.data_ptr<uint8_t>() + n * hw, static_cast<int>(h), static_cast<int>(w), offs[o],
                        static_cast<int>(L), hist.data());
      else
        k.glcm_count_i32(img.data_ptr<int32_t>() + n * hw, static_cast<int>(h), static_cast<int>(w), offs[o],
                         static_cast<int>(L), hist.data());
      const int64_t pairs = glcm_pairs(h, w, offs[o]) * (symmetric ? 2 : 1);
      const double inv = pairs == 0 ? 1.0 : static_cast<double>(pairs);
      const int32_t* hp = hist.data();
      if (normed) {
        double* dst = out.data_ptr<double>() + n * L * L * K + o;
        for (int64_t r = 0; r < L; ++r)
          for (int64_t c = 0; c < L; ++c) {
            const double v = symmetric ? static_cast<double>(hp[r * L + c] + hp[c * L + r]) : hp[r * L + c];
            dst[(r * L + c) * K] = v / inv;
          }
      } else {
        int32_t* dst = out.data_ptr<int32_t>() + n * L * L * K + o;
        for (int64_t r = 0; r < L; ++r)
          for (int64_t c = 0; c < L; ++c) dst[(r * L + c) * K] = symmetric ? hp[r * L + c] + hp[c * L + r] : hp[r * L + c];
      }
    }
  });
}

void props_cpu(const at::Tensor& m, const std::vector<int64_t>& props, at::Tensor& out) {
  const int64_t N = m.size(0), K = m.size(1), L = m.size(2), np = static_cast<int64_t>(props.size());
  bool moments = false;
  for (int64_t pr : props) moments |= pr == kPropCorrelation;
  const double* src = m.data_ptr<double>();
  double* dst = out.data_ptr<double>();
  const auto kernel = cpu::texture_kernels().glcm_sums;
  cpu::parallel_chunks(0, N * K, kGrain, [&](int64_t i0, int64_t i1) {
    std::vector<double> scratch(static_cast<size_t>(4 * L + 16));
    for (int64_t i = i0; i < i1; ++i) {
      GlcmSums s;
      kernel(src + i * L * L, static_cast<int>(L), moments, &s, scratch.data());
      const int64_t n = i / K, k = i % K;
      for (int64_t j = 0; j < np; ++j) dst[(n * np + j) * K + k] = glcm_prop(s, static_cast<int>(props[j]));
    }
  });
}

cpu::HogEdgeDirections hog_directions(const HogParams& p) {
  cpu::HogEdgeDirections d{};
  for (int k = 0; k <= p.orientations; ++k) {
    const double a = static_cast<double>(p.edges[k]) * (3.141592653589793 / 180.0);
    d.cos_e[k] = std::cos(a), d.sin_e[k] = std::sin(a);
  }
  d.tol = 1e-9;
  return d;
}

// S: the image's type; O = skimage's float type of the outputs (float64 for uint8 images).
template <typename S, typename O = typename HogGradient<S>::type>
void hog_cpu_typed(const at::Tensor& img, const HogParams& p, at::Tensor& features, at::Tensor& vis, bool visualize) {
  const int64_t b = img.size(0), plane = static_cast<int64_t>(p.channels) * p.height * p.width;
  const int64_t nb = p.orientations, row_cells = static_cast<int64_t>(p.cells_col) * nb;
  std::vector<float> hist(static_cast<size_t>(b * p.cells_row * row_cells), 0.0f);
  const cpu::HogEdgeDirections dirs = hog_directions(p);
  const S* src = img.data_ptr<S>();
  const auto& k = cpu::texture_kernels();
  cpu::parallel_chunks(0, b * p.cells_row, kGrain, [&](int64_t i0, int64_t i1) {
    std::vector<double> scratch(static_cast<size_t>(4 * (p.width + 8) + 64));
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / p.cells_row, r = i % p.cells_row;
      float* h = hist.data() + i * row_cells;
      if constexpr (std::is_same_v<S, float>)
        k.hog_cells_f32(src + n * plane, p, dirs, static_cast<int>(r), h, scratch.data());
      else if constexpr (std::is_same_v<S, uint8_t>)
        k.hog_cells_u8(src + n * plane, p, dirs, static_cast<int>(r), h, scratch.data());
      else
        k.hog_cells_f64(src + n * plane, p, dirs, static_cast<int>(r), h, scratch.data());
    }
  });
  // Blocks: (cells block_rows x block_cols x orientations) gathered in skimage's order, normalised.
  const int64_t nblocks = b * p.blocks_row * p.blocks_col, per_block = p.block_rows * p.block_cols * nb;
  O* out = features.data_ptr<O>();
  cpu::parallel_chunks(0, nblocks, 64, [&](int64_t i0, int64_t i1) {
    std::vector<double> v(static_cast<size_t>(per_block));
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / (p.blocks_row * p.blocks_col), br = (i / p.blocks_col) % p.blocks_row,
                    bc = i % p.blocks_col;
      int64_t t = 0;
      for (int64_t r = 0; r < p.block_rows; ++r) {
        const float* h = hist.data() + ((n * p.cells_row + br + r) * p.cells_col + bc) * nb;
        for (int64_t c = 0; c < p.block_cols * nb; ++c) v[t++] = static_cast<double>(h[c]);
      }
      hog_normalize_block(v.data(), static_cast<int>(per_block), p.norm);
      for (int64_t j = 0; j < per_block; ++j) out[i * per_block + j] = static_cast<O>(v[j]);
    }
  });
  if (!visualize) return;
  const int radius = std::min(p.cell_rows, p.cell_cols) / 2 - 1;
  std::vector<double> dr(nb), dc(nb);
  for (int64_t o = 0; o < nb; ++o) {
    const double mid = 3.141592653589793 * (o + 0.5) / nb;
    dr[o] = radius * std::sin(mid), dc[o] = radius * std::cos(mid);
  }
  O* canvas = vis.data_ptr<O>();
  const int64_t hw = static_cast<int64_t>(p.height) * p.width;
  cpu::parallel_chunks(0, b * p.cells_row, kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / p.cells_row, r = i % p.cells_row;
      O* img_out = canvas + n * hw;
      for (int64_t c = 0; c < p.cells_col; ++c) {
        const float* h = hist.data() + (i * p.cells_col + c) * nb;
        const int cr = static_cast<int>(r * p.cell_rows + p.cell_rows / 2);
        const int cc = static_cast<int>(c * p.cell_cols + p.cell_cols / 2);
        for (int64_t o = 0; o < nb; ++o) {
          const HogLine l = hog_line(cr, cc, dr[o], dc[o]);
          const double v = h[o];
          draw_line(l.r0, l.c0, l.r1, l.c1, [&](long y, long x) {
            O& px = img_out[y * p.width + x];
            px = static_cast<O>(static_cast<double>(px) + v);
          });
        }
      }
    }
  });
}

// The CPU backend of the ops in texture_common.h.
struct Cpu {
  struct Guard {
    explicit Guard(const at::Device&) {}
  };

  static void lbp(const at::Tensor& padded, at::Tensor& out, const LbpParams& p) { lbp_cpu(padded, out, p); }

  static void glcm(const at::Tensor& img, int64_t h, int64_t w, const std::vector<GlcmOffset>& offs, int64_t levels,
                   bool symmetric, bool normed, at::Tensor& out) {
    glcm_cpu(img, h, w, offs, levels, symmetric, normed, out);
  }

  static void props(const at::Tensor& m, const std::vector<int64_t>& props, at::Tensor& out) {
    props_cpu(m, props, out);
  }

  static void hog(const at::Tensor& img, const HogParams& p, at::Tensor& features, at::Tensor& vis, bool visualize) {
    if (img.scalar_type() == at::kFloat)
      hog_cpu_typed<float>(img, p, features, vis, visualize);
    else if (img.scalar_type() == at::kByte)
      hog_cpu_typed<uint8_t>(img, p, features, vis, visualize);
    else
      hog_cpu_typed<double>(img, p, features, vis, visualize);
  }
};

}  // namespace
}  // namespace texture
}  // namespace vision_ext

TORCH_LIBRARY_IMPL(vision_ext, CPU, m) { vision_ext::texture::register_texture_ops<vision_ext::texture::Cpu>(m); }
