// CUDA kernels of the texture family (LBP, GLCM counts and properties, HOG). Torch-free: pointers,
// sizes, plain params. The per-element maths is vision_ext/texture.h's, shared with the CPU levels;
// HOG's atan2 / hypot are CUDA's, which may differ from glibc's in the last bit (docs/EXACTNESS.md).
#include <cuda_runtime.h>

#include <cstdint>

#include "vision_ext/cuda_grid.cuh"
#include "vision_ext/texture.h"
#include "vision_ext/texture_launch.h"

namespace vision_ext {
namespace {

using namespace vision_ext::texture;

constexpr int kThreads = 256;

__global__ void lbp_kernel(const double* __restrict__ padded, long long batch, LbpParams p, double* __restrict__ out) {
  const long long hw = static_cast<long long>(p.height) * p.width, plane = lbp_padded_plane(p);
  const long long pw = lbp_padded_width(p);
  VE_GRID_LOOP(idx, batch * hw) {
    const long long n = idx / hw;
    const int y = static_cast<int>((idx % hw) / p.width), x = static_cast<int>(idx % p.width);
    const double* origin = padded + n * plane + p.pad * pw + p.pad;
    const double c = origin[static_cast<long long>(y) * pw + x];
    double tex[kLbpMaxPoints];
    uint64_t bits = 0;
    for (int i = 0; i < p.points; ++i) {
      const double rr = static_cast<double>(y) + p.rp[i];
      const double lo = floor(rr), hi = ceil(rr), dr = rr - lo;
      const double xd = static_cast<double>(x);
      const double dc = (xd + p.cp[i]) - (xd + static_cast<double>(p.cp_lo[i]));
      const double* a = origin + static_cast<long long>(lo) * pw + x;
      const double* b = origin + static_cast<long long>(hi) * pw + x;
      tex[i] = lbp_bilinear(a[p.cp_lo[i]], a[p.cp_hi[i]], b[p.cp_lo[i]], b[p.cp_hi[i]], dr, dc);
      if (tex[i] - c >= 0.0) bits |= uint64_t(1) << i;
    }
    const double var = p.method == kLbpVar ? lbp_variance<double>(p.points, [&](int i) { return tex[i]; }) : 0.0;
    out[idx] = lbp_code(bits, p.points, p.method, var);
  }
}

template <typename S>
__global__ void glcm_count_kernel(const S* __restrict__ img, long long batch, int h, int w,
                                  const GlcmOffset* __restrict__ offs, int K, int L, int32_t* __restrict__ hist) {
  const long long hw = static_cast<long long>(h) * w;
  VE_GRID_LOOP(idx, batch * hw) {
    const long long n = idx / hw;
    const int r = static_cast<int>((idx % hw) / w), c = static_cast<int>(idx % w);
    const S* plane = img + n * hw;
    const int i = static_cast<int>(plane[static_cast<long long>(r) * w + c]);
    for (int k = 0; k < K; ++k) {
      const int rr = r + offs[k].dr, cc = c + offs[k].dc;
      if (rr < 0 || rr >= h || cc < 0 || cc >= w) continue;
      const int j = static_cast<int>(plane[static_cast<long long>(rr) * w + cc]);
      atomicAdd(hist + ((n * K + k) * L + i) * static_cast<long long>(L) + j, 1);
    }
  }
}

__global__ void glcm_finish_kernel(const int32_t* __restrict__ hist, long long batch, int K, int L,
                                   const long long* __restrict__ pairs, bool symmetric, bool normed,
                                   int32_t* __restrict__ out_i32, double* __restrict__ out_f64) {
  const long long LL = static_cast<long long>(L) * L;
  VE_GRID_LOOP(idx, batch * LL * K) {  // output order (n, i, j, k)
    const int k = static_cast<int>(idx % K);
    const long long ij = (idx / K) % LL, n = idx / (K * LL);
    const long long i = ij / L, j = ij % L;
    const int32_t* hp = hist + (n * K + k) * LL;
    const int32_t v = symmetric ? hp[i * L + j] + hp[j * L + i] : hp[i * L + j];
    if (normed) {
      const long long t = pairs[k] * (symmetric ? 2 : 1);
      out_f64[idx] = static_cast<double>(v) / (t == 0 ? 1.0 : static_cast<double>(t));
    } else {
      out_i32[idx] = v;
    }
  }
}

__device__ double block_sum(double v, double* shared) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) shared[threadIdx.x] += shared[threadIdx.x + s];
    __syncthreads();
  }
  const double r = shared[0];
  __syncthreads();
  return r;
}

__global__ void glcm_props_kernel(const double* __restrict__ m, long long count, int K, int L, GlcmPropList props,
                                  double* __restrict__ out) {
  __shared__ double shared[kThreads];
  const long long LL = static_cast<long long>(L) * L;
  for (long long mi = blockIdx.x; mi < count; mi += gridDim.x) {  // one matrix per block
  const double* P = m + mi * LL;
  double tot = 0, con = 0, dis = 0, hom = 0, sq = 0, plogp = 0, si = 0, sj = 0;
  for (long long e = threadIdx.x; e < LL; e += blockDim.x) {
    const double v = P[e], i = static_cast<double>(e / L), j = static_cast<double>(e % L), d = i - j;
    tot += v, con += v * d * d, dis += v * fabs(d), hom += v / (1.0 + d * d), sq += v * v;
    if (v > 0.0) plogp += v * log(v);
    si += i * v, sj += j * v;
  }
  GlcmSums s{};
  s.total = block_sum(tot, shared);
  s.contrast = block_sum(con, shared), s.dissimilarity = block_sum(dis, shared);
  s.homogeneity = block_sum(hom, shared), s.asm_ = block_sum(sq, shared), s.plogp = block_sum(plogp, shared);
  const double S = s.total == 0.0 ? 1.0 : s.total;
  s.mean_i = block_sum(si, shared) / S, s.mean_j = block_sum(sj, shared) / S;
  double vi = 0, vj = 0, cv = 0;
  for (long long e = threadIdx.x; e < LL; e += blockDim.x) {
    const double v = P[e], di = static_cast<double>(e / L) - s.mean_i, dj = static_cast<double>(e % L) - s.mean_j;
    vi += v * di * di, vj += v * dj * dj, cv += v * di * dj;
  }
  s.var_i = block_sum(vi, shared) / S, s.var_j = block_sum(vj, shared) / S, s.cov = block_sum(cv, shared) / S;
  if (threadIdx.x == 0) {
    const long long n = mi / K, k = mi % K;
    for (int j = 0; j < props.count; ++j) out[(n * props.count + j) * K + k] = glcm_prop(s, props.prop[j]);
  }
  }
}

// Per pixel of the cell area: the chosen channel's gradient, its bin and magnitude.
template <typename S>
__global__ void hog_pixels_kernel(const S* __restrict__ img, long long batch, HogParams p, uint8_t* __restrict__ bins,
                                  double* __restrict__ mags) {
  const int hc = p.cells_row * p.cell_rows, wc = p.cells_col * p.cell_cols;
  const long long area = static_cast<long long>(hc) * wc, plane = static_cast<long long>(p.height) * p.width;
  VE_GRID_LOOP(idx, batch * area) {
    const long long n = idx / area;
    const int y = static_cast<int>((idx % area) / wc), x = static_cast<int>(idx % wc);
    const bool inner_row = y >= 1 && y <= p.height - 2, inner_col = x >= 1 && x <= p.width - 2;
    using G = typename HogGradient<S>::type;
    G best_r = G(0), best_c = G(0), best_m = G(0);
    for (int ch = 0; ch < p.channels; ++ch) {
      const S* row = img + (n * p.channels + ch) * plane + static_cast<long long>(y) * p.width;
      const G r = inner_row ? G(G(row[x + p.width]) - G(row[x - p.width])) : G(0);
      const G c = inner_col ? G(G(row[x + 1]) - G(row[x - 1])) : G(0);
      const G m = hypot(r, c);
      if (ch == 0 || (best_m == best_m && (m != m || m > best_m))) best_r = r, best_c = c, best_m = m;
    }
    const double gr = static_cast<double>(best_r), gc = static_cast<double>(best_c);
    bins[idx] = gr == 0.0 && gc == gc ? uint8_t(0) : hog_bin(gr, gc, p.edges, p.orientations);
    mags[idx] = hog_hypot(gr, gc);
  }
}

// Per cell: skimage's float32 totals, pixels in row-major order.
__global__ void hog_cells_kernel(const uint8_t* __restrict__ bins, const double* __restrict__ mags, long long batch,
                                 HogParams p, float* __restrict__ hist) {
  const int wc = p.cells_col * p.cell_cols;
  const long long cells = static_cast<long long>(p.cells_row) * p.cells_col;
  const long long area = cells * p.cell_rows * p.cell_cols;
  VE_GRID_LOOP(idx, batch * cells) {
    const long long n = idx / cells;
    const int cr = static_cast<int>((idx % cells) / p.cells_col), cc = static_cast<int>(idx % p.cells_col);
    float acc[kHogMaxOrientations];
    for (int k = 0; k < p.orientations; ++k) acc[k] = 0.0f;
    const int y0 = hog_cell_start(cr, p.cell_rows), x0 = hog_cell_start(cc, p.cell_cols);
    for (int y = y0; y < y0 + p.cell_rows; ++y)
      for (int x = x0; x < x0 + p.cell_cols; ++x) {
        const long long o = n * area + static_cast<long long>(y) * wc + x;
        const uint8_t b = bins[o];
        if (b == kHogNoBin) continue;
        if (b == kHogAllBins) {
          for (int k = 0; k < p.orientations; ++k) acc[k] = hog_accumulate(acc[k], mags[o]);
        } else {
          acc[b] = hog_accumulate(acc[b], mags[o]);
        }
      }
    for (int k = 0; k < p.orientations; ++k) hist[idx * p.orientations + k] = hog_cell_value(acc[k], p.cell_rows, p.cell_cols);
  }
}

template <typename S>
__global__ void hog_blocks_kernel(const float* __restrict__ hist, long long batch, HogParams p,
                                  double* __restrict__ work, S* __restrict__ out) {
  const long long blocks = static_cast<long long>(p.blocks_row) * p.blocks_col;
  const int nb = p.orientations, per = p.block_rows * p.block_cols * nb;
  VE_GRID_LOOP(idx, batch * blocks) {
    const long long n = idx / blocks;
    const int br = static_cast<int>((idx % blocks) / p.blocks_col), bc = static_cast<int>(idx % p.blocks_col);
    double* v = work + idx * per;
    int t = 0;
    for (int r = 0; r < p.block_rows; ++r) {
      const float* h = hist + ((n * p.cells_row + br + r) * p.cells_col + bc) * static_cast<long long>(nb);
      for (int c = 0; c < p.block_cols * nb; ++c) v[t++] = static_cast<double>(h[c]);
    }
    hog_normalize_block(v, per, p.norm);
    for (int j = 0; j < per; ++j) out[idx * per + j] = static_cast<S>(v[j]);
  }
}

template <typename S>
__global__ void hog_draw_kernel(const float* __restrict__ hist, long long batch, HogParams p,
                                const double* __restrict__ ldr, const double* __restrict__ ldc, S* __restrict__ vis) {
  const long long cells = static_cast<long long>(p.cells_row) * p.cells_col;
  const long long hw = static_cast<long long>(p.height) * p.width;
  VE_GRID_LOOP(idx, batch * cells) {
    const long long n = idx / cells;
    const int r = static_cast<int>((idx % cells) / p.cells_col), c = static_cast<int>(idx % p.cells_col);
    const int cr = r * p.cell_rows + p.cell_rows / 2, cc = c * p.cell_cols + p.cell_cols / 2;
    S* canvas = vis + n * hw;
    for (int o = 0; o < p.orientations; ++o) {
      const HogLine l = hog_line(cr, cc, ldr[o], ldc[o]);
      const double v = hist[idx * p.orientations + o];
      draw_line(l.r0, l.c0, l.r1, l.c1, [&](long y, long x) {
        S& px = canvas[y * p.width + x];
        px = static_cast<S>(static_cast<double>(px) + v);
      });
    }
  }
}

template <typename S, typename O = typename HogGradient<S>::type>
cudaError_t hog_typed(const S* img, long long batch, const HogParams& p, const HogWorkspace& ws, O* features, O* vis,
                      cudaStream_t stream) {
  const long long area = static_cast<long long>(p.cells_row) * p.cell_rows * p.cells_col * p.cell_cols;
  const long long cells = static_cast<long long>(p.cells_row) * p.cells_col;
  const long long blocks = static_cast<long long>(p.blocks_row) * p.blocks_col;
  hog_pixels_kernel<S><<<grid_for(batch * area, kThreads), kThreads, 0, stream>>>(img, batch, p, ws.bins, ws.mags);
  hog_cells_kernel<<<grid_for(batch * cells, kThreads), kThreads, 0, stream>>>(ws.bins, ws.mags, batch, p, ws.hist);
  hog_blocks_kernel<O><<<grid_for(batch * blocks, kThreads), kThreads, 0, stream>>>(ws.hist, batch, p, ws.blocks, features);
  if (vis != nullptr)
    hog_draw_kernel<O><<<grid_for(batch * cells, kThreads), kThreads, 0, stream>>>(ws.hist, batch, p, ws.line_dr, ws.line_dc,
                                                                          vis);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_lbp(const double* padded, long long batch, const LbpParams& p, double* out, cudaStream_t stream) {
  const long long n = batch * p.height * static_cast<long long>(p.width);
  lbp_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(padded, batch, p, out);
  return cudaGetLastError();
}

cudaError_t launch_glcm_count(const void* img, bool is_u8, long long batch, int height, int width,
                              const GlcmOffset* offsets, int K, int levels, int32_t* hist, cudaStream_t stream) {
  const long long n = batch * height * static_cast<long long>(width);
  if (is_u8)
    glcm_count_kernel<uint8_t><<<grid_for(n, kThreads), kThreads, 0, stream>>>(static_cast<const uint8_t*>(img), batch, height,
                                                                       width, offsets, K, levels, hist);
  else
    glcm_count_kernel<int32_t><<<grid_for(n, kThreads), kThreads, 0, stream>>>(static_cast<const int32_t*>(img), batch, height,
                                                                       width, offsets, K, levels, hist);
  return cudaGetLastError();
}

cudaError_t launch_glcm_finish(const int32_t* hist, long long batch, int K, int levels, const long long* pairs,
                               bool symmetric, bool normed, int32_t* out_i32, double* out_f64, cudaStream_t stream) {
  const long long n = batch * K * static_cast<long long>(levels) * levels;
  glcm_finish_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(hist, batch, K, levels, pairs, symmetric, normed, out_i32,
                                                             out_f64);
  return cudaGetLastError();
}

cudaError_t launch_glcm_props(const double* m, long long count, int K, int levels, const GlcmPropList& props,
                              double* out, cudaStream_t stream) {
  const unsigned grid = static_cast<unsigned>(count < 65535 ? count : 65535);
  glcm_props_kernel<<<grid, kThreads, 0, stream>>>(m, count, K, levels, props, out);
  return cudaGetLastError();
}

cudaError_t launch_hog(const void* img, int kind, long long batch, const HogParams& p, const HogWorkspace& ws,
                       void* features, void* vis, cudaStream_t stream) {
  if (kind == 2)
    return hog_typed(static_cast<const uint8_t*>(img), batch, p, ws, static_cast<double*>(features),
                     static_cast<double*>(vis), stream);
  if (kind == 1)
    return hog_typed(static_cast<const float*>(img), batch, p, ws, static_cast<float*>(features),
                     static_cast<float*>(vis), stream);
  return hog_typed(static_cast<const double*>(img), batch, p, ws, static_cast<double*>(features),
                   static_cast<double*>(vis), stream);
}

}  // namespace vision_ext
