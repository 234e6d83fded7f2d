// CPU Winograd F(4x4,3x3) conv with a fused bias/residual/ReLU epilogue (fp32, NHWC), compiled
// once per level: input transform -> 36 GEMMs on the packed weight -> output transform +
// epilogue. Each 2-D tile transform runs in registers on a vector of channels at once (NHWC
// keeps them contiguous). The GEMM's register tile is sized to the level's register file.
#include "isa.h"
#include "vec.h"
#include "winograd_simd.h"
#include "vision_ext/epilogue.h"
#include "vision_ext/winograd.h"

namespace vision_ext::cpu::VE_CPU_NS {
namespace {

using vision_ext::epilogue_value;
using vision_ext::winograd::grad_output_2d;
using vision_ext::winograd::grad_weight_2d;
using vision_ext::winograd::input_2d;
using vision_ext::winograd::output_2d;

constexpr int kLanes = FloatVec::kLanes;

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// ---- GEMM: m = a . b for one of the 36 planes --------------------------------------------------
// Forward: m (tiles x K) = V (tiles x C) . U (C x K), summed over input channels. Weight gradient:
// m (K x C) = D^T (D is tiles x K) . V (tiles x C), summed over tiles. One register tile serves both;
// a's layout is a template parameter so the forward's unit stride stays a compile-time constant
// (a runtime stride measured ~7% slower). Every element sums its inner index in order at every
// level, so avx2 and avx512 agree bitwise.
struct GemmOperands {
  const float* a;
  int64_t a_ld;  // a[r * a_ld + i] (row-major a), or a[i * a_ld + r] (kTransposedA)
  const float* b;
  int64_t b_inner;  // b[i * b_inner + column]
  int64_t inner;    // the summed length
  float* m;
  int64_t m_row;    // m[r * m_row + column]
  bool accumulate;  // add to m instead of overwriting it
};

// The register tile: kRows rows x kCols vectors of accumulators, plus kCols b vectors and one
// broadcast, must fit the register file (AVX-512: 6 x 4 + 4 + 1 = 29 of 32 zmm; AVX2 and the base
// level: 6 x 2 + 2 + 1 = 15 of 16).
constexpr int kRows = 6;
constexpr int kCols = kVectorRegisters >= 32 ? 4 : 2;

// Element (r, i) of a, by its layout.
template <bool kTransposedA>
inline float a_at(const GemmOperands& g, int64_t r, int64_t i) {
  return kTransposedA ? g.a[i * g.a_ld + r] : g.a[r * g.a_ld + i];
}

// R rows x (kLanes * NV) columns of m, accumulated in registers over the inner index.
template <bool kTransposedA, int R, int NV>
inline void register_tile(const GemmOperands& g) {
  FloatVec acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int i = 0; i < NV; ++i)
      acc[r][i] = g.accumulate ? FloatVec::load(g.m + r * g.m_row + kLanes * i) : FloatVec(0.f);
  for (int64_t c = 0; c < g.inner; ++c) {
    FloatVec b[NV];
    for (int i = 0; i < NV; ++i) b[i] = FloatVec::load(g.b + c * g.b_inner + kLanes * i);
    for (int r = 0; r < R; ++r) {
      const FloatVec a(a_at<kTransposedA>(g, r, c));
      for (int i = 0; i < NV; ++i) acc[r][i] = mul_add(a, b[i], acc[r][i]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int i = 0; i < NV; ++i) acc[r][i].store(g.m + r * g.m_row + kLanes * i);
}

template <bool kTransposedA, int NV>
inline void row_sweep(GemmOperands g, int64_t rows) {
  const int64_t a_step = kTransposedA ? kRows : kRows * g.a_ld;
  for (; rows >= kRows; rows -= kRows, g.a += a_step, g.m += kRows * g.m_row)
    register_tile<kTransposedA, kRows, NV>(g);
  switch (rows) {
    case 5: register_tile<kTransposedA, 5, NV>(g); break;
    case 4: register_tile<kTransposedA, 4, NV>(g); break;
    case 3: register_tile<kTransposedA, 3, NV>(g); break;
    case 2: register_tile<kTransposedA, 2, NV>(g); break;
    case 1: register_tile<kTransposedA, 1, NV>(g); break;
    default: break;
  }
}

// Columns [c0, c1) of m's `rows` rows (m and b point at column 0): a full register tile, then one
// vector, then singly.
template <bool kTransposedA>
void gemm_columns(const GemmOperands& g, int64_t rows, int64_t c0, int64_t c1) {
  const auto at = [&](int64_t c) {
    GemmOperands s = g;
    s.b += c;
    s.m += c;
    return s;
  };
  int64_t c = c0;
  for (; c + kCols * kLanes <= c1; c += kCols * kLanes) row_sweep<kTransposedA, kCols>(at(c), rows);
  for (; c + kLanes <= c1; c += kLanes) row_sweep<kTransposedA, 1>(at(c), rows);
  for (; c < c1; ++c)
    for (int64_t r = 0; r < rows; ++r) {
      float s = g.accumulate ? g.m[r * g.m_row + c] : 0.f;
      for (int64_t i = 0; i < g.inner; ++i) s = mul_add(a_at<kTransposedA>(g, r, i), g.b[i * g.b_inner + c], s);
      g.m[r * g.m_row + c] = s;
    }
}

// m (rows x K) = v (rows x C) . u (C x K), columns [k0, k1) only; m and u point at column 0.
inline void plane_gemm(const float* v, int64_t rows, int64_t C, const float* u, int64_t K, int64_t k0, int64_t k1,
                       float* m) {
  gemm_columns<false>({v, C, u, K, C, m, K, false}, rows, k0, k1);
}

// ---- transforms ---------------------------------------------------------------------------------
struct TilePosition {
  int64_t img, ty, tx;
};
inline TilePosition position(const WinogradTileGrid& g, int64_t t) {
  return {t / (g.th * g.tw), t / g.tw % g.th, t % g.tw};
}

// The 36 input pixels (NHWC channel vectors) of tile t; `zeros` stands in outside the image.
void tile_sources(const float* x, const WinogradTileGrid& g, const float* zeros, int64_t t, const float** src) {
  const TilePosition at = position(g, t);
  for (int row = 0; row < 6; ++row) {
    const int64_t y = at.ty * 4 - g.padding + row;
    for (int col = 0; col < 6; ++col) {
      const int64_t xx = at.tx * 4 - g.padding + col;
      src[row * 6 + col] =
          (y >= 0 && y < g.h && xx >= 0 && xx < g.w) ? x + ((at.img * g.h + y) * g.w + xx) * g.c : zeros;
    }
  }
}

// V[q][c .. c+lanes) = (B^T d B)[q] for one tile's channel group.
template <typename T>
inline void input_lanes(const float* const* src, int64_t c, float* v, int64_t plane_stride) {
  T d[36], o[36];
  for (int i = 0; i < 36; ++i) d[i] = load_lanes(src[i] + c, T{});
  input_2d(d, o);
  for (int i = 0; i < 36; ++i) store_lanes(o[i], v + i * plane_stride + c);
}

// One tile's 36 planes at v[q * plane_stride], for all channels.
void input_transform_one(const float* x, const WinogradTileGrid& g, const float* zeros, int64_t t, float* v,
                         int64_t plane_stride) {
  const float* src[36];
  tile_sources(x, g, zeros, t, src);
  int64_t c = 0;
  for (; c + kLanes <= g.c; c += kLanes) input_lanes<FloatVec>(src, c, v, plane_stride);
  for (; c < g.c; ++c) input_lanes<float>(src, c, v, plane_stride);
}

struct OutputTile {
  int64_t base;        // NHWC offset of the tile's top-left output pixel
  int64_t rows, cols;  // valid rows/cols of the 4x4 tile (fewer at the bottom/right edge)
  int64_t row_stride;  // wo * K
};

// out = post(pre(A^T M A + bias) + residual) for one tile's channel group at c; m points at that
// group's first plane.
template <typename T>
inline void output_lanes(const float* m, int64_t plane_stride, int64_t c, const OutputTile& o, int64_t K,
                         const WinogradEpilogue& e, float* out) {
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

// Output channels [k0, k1) of tile t from its 36 planes at m[q * plane_stride] (m holds k0 at 0).
void output_transform_one(const WinogradProblem& p, const float* m, int64_t plane_stride, int64_t t, int64_t k0,
                          int64_t k1) {
  const TilePosition at = position(p.g, t);
  const OutputTile o{((at.img * p.ho + at.ty * 4) * p.wo + at.tx * 4) * p.K, min64(4, p.ho - at.ty * 4),
                     min64(4, p.wo - at.tx * 4), p.wo * p.K};
  int64_t c = k0;
  for (; c + kLanes <= k1; c += kLanes) output_lanes<FloatVec>(m + (c - k0), plane_stride, c, o, p.K, p.e, p.out);
  for (; c < k1; ++c) output_lanes<float>(m + (c - k0), plane_stride, c, o, p.K, p.e, p.out);
}

void run_items(const WinogradProblem& p, const WinogradSplit& s, int64_t i0, int64_t i1, float* v, float* m) {
  const int64_t C = p.g.c, K = p.K, nb_max = s.tiles_per_block;
  int64_t transformed = -1;  // the block whose V is in `v`
  for (int64_t item = i0; item < i1; ++item) {
    const int64_t blk = item / s.slices, k0 = item % s.slices * s.k_slice, k1 = k0 + s.k_slice;
    const int64_t t0 = blk * nb_max, nb = min64(nb_max, p.g.tiles() - t0);
    const int64_t vs = winograd_padded_plane(nb * C), ms = winograd_padded_plane(nb * K);
    if (transformed != blk)
      for (int64_t j = 0; j < nb; ++j) input_transform_one(p.x, p.g, p.zeros, t0 + j, v + j * C, vs);
    transformed = blk;
    for (int64_t q = 0; q < 36; ++q) plane_gemm(v + q * vs, nb, C, p.u + q * C * K, K, k0, k1, m + q * ms);
    for (int64_t j = 0; j < nb; ++j) output_transform_one(p, m + j * K + k0, ms, t0 + j, k0, k1);
  }
}

// ---- weight gradient: M[q] (K x C) = sum over tiles of D[q]^T . V[q], then dW = G^T M G -----------
// Rows [k0, k1) of m (K x C) = (accumulate ? m : 0) + d^T . v for one plane: d is nb x K, v is nb x C
// (tile-major rows). The forward's register tile with output channels as rows (broadcast from D)
// and input channels as columns (vectors of V).
void weight_grad_plane(const float* d, const float* v, int64_t K, int64_t C, int64_t nb, int64_t k0, int64_t k1,
                       bool accumulate, float* m) {
  gemm_columns<true>({d + k0, K, v, C, nb, m + k0 * C, C, accumulate}, k1 - k0, 0, C);
}

// The 16 output-gradient pixels (NHWC channel vectors) of tile t; `zeros` past the output's edge.
void grad_sources(const WinogradGradProblem& p, int64_t t, const float** src) {
  const TilePosition at = position(p.g, t);
  for (int row = 0; row < 4; ++row) {
    const int64_t y = at.ty * 4 + row;
    for (int col = 0; col < 4; ++col) {
      const int64_t xx = at.tx * 4 + col;
      src[row * 4 + col] = (y < p.ho && xx < p.wo) ? p.dy + ((at.img * p.ho + y) * p.wo + xx) * p.K : p.zeros;
    }
  }
}

// D[q][k .. k+lanes) = (A dy A^T)[q] for one tile's channel group.
template <typename T>
inline void grad_lanes(const float* const* src, int64_t k, float* d, int64_t plane_stride) {
  T g[16], o[36];
  for (int i = 0; i < 16; ++i) g[i] = load_lanes(src[i] + k, T{});
  grad_output_2d(g, o);
  for (int i = 0; i < 36; ++i) store_lanes(o[i], d + i * plane_stride + k);
}

void grad_transform_one(const WinogradGradProblem& p, int64_t t, float* d, int64_t plane_stride) {
  const float* src[16];
  grad_sources(p, t, src);
  int64_t k = 0;
  for (; k + kLanes <= p.K; k += kLanes) grad_lanes<FloatVec>(src, k, d, plane_stride);
  for (; k < p.K; ++k) grad_lanes<float>(src, k, d, plane_stride);
}

// Tiles [t0, t0 + nt) as rows 0 .. nt of the transformed planes: v (36 planes of nt x C, plane stride vs)
// and d (nt x K, stride ds).
void weight_grad_transform(const WinogradGradProblem& p, int64_t t0, int64_t nt, float* v, int64_t vs, float* d,
                           int64_t ds) {
  for (int64_t j = 0; j < nt; ++j) {
    input_transform_one(p.x, p.g, p.zeros, t0 + j, v + j * p.g.c, vs);
    grad_transform_one(p, t0 + j, d + j * p.K, ds);
  }
}

// dw[k][c] (3x3 taps) = G^T (sum over the parts of M[q][k][c]) G for output channels [k0, k1).
template <typename T>
inline void grad_output_lanes(const float* m, int64_t parts, int64_t part_stride, int64_t plane, float* taps) {
  T mm[36], g[9];
  for (int q = 0; q < 36; ++q) {
    T s = load_lanes(m + q * plane, T{});
    for (int64_t j = 1; j < parts; ++j) s = s + load_lanes(m + j * part_stride + q * plane, T{});
    mm[q] = s;
  }
  grad_weight_2d(mm, g);
  for (int i = 0; i < 9; ++i) store_lanes(g[i], taps + i * kLanes);
}

void weight_grad_output(const float* m, int64_t parts, int64_t K, int64_t C, int64_t k0, int64_t k1, float* dw) {
  const int64_t plane = K * C, part_stride = 36 * plane;
  float taps[9 * kLanes];
  for (int64_t k = k0; k < k1; ++k) {
    int64_t c = 0;
    for (; c + kLanes <= C; c += kLanes) {
      grad_output_lanes<FloatVec>(m + k * C + c, parts, part_stride, plane, taps);
      for (int l = 0; l < kLanes; ++l)
        for (int i = 0; i < 9; ++i) dw[(k * C + c + l) * 9 + i] = taps[i * kLanes + l];
    }
    for (; c < C; ++c) {
      grad_output_lanes<float>(m + k * C + c, parts, part_stride, plane, taps);
      for (int i = 0; i < 9; ++i) dw[(k * C + c) * 9 + i] = taps[i * kLanes];
    }
  }
}

}  // namespace

extern const WinogradKernels winograd = {&run_items, &weight_grad_transform, &weight_grad_plane,
                                         &weight_grad_output};

}  // namespace vision_ext::cpu::VE_CPU_NS
