// CPU kernels of the blob family, compiled once per level: the separable Gaussian / second
// derivative passes of the LoG and DoG scale spaces, the box-filter determinant of Hessian (DoH)
// and the 3x3x3 scale-space maxima. Every sum
// is the one of vision_ext/blobs.h (centre_tap, then pair_tap from the outermost pair in), on a
// block of kBlock vectors at once so the additions of independent outputs overlap; there is no
// mul_add, so every level gives the same bits (and those of scipy.ndimage for the same taps).
#include <cstdint>
#include <cstring>

#include "blobs_simd.h"
#include "isa.h"
#include "vec.h"
#include "vision_ext/blobs.h"

namespace vision_ext::cpu::VE_CPU_NS {
namespace {

using blobs::centre_tap;
using blobs::pair_tap;
using V = DoubleVec;
constexpr int L = V::kLanes;
// Independent vectors per step: two sums each plus their loads fit the level's registers.
constexpr int kBlock = kVectorRegisters >= 32 ? 4 : 2;

// One output column block [x, x + n * lanes) of the column pass, T a vector or double.
template <class T, int N, bool Two>
inline void column_block(const double* src, std::ptrdiff_t w, const int32_t* rows, std::ptrdiff_t x, const double* wa,
                         const double* wb, int r, double* outa, double* outb) {
  constexpr int S = sizeof(T) / sizeof(double);
  T a[N], b[N];
  const double* c = src + rows[0] * w + x;
  for (int i = 0; i < N; ++i) {
    const T v = load_lanes(c + i * S, T{});
    a[i] = centre_tap(v, wa[0]);
    if constexpr (Two) b[i] = centre_tap(v, wb[0]);
  }
  for (int j = r; j >= 1; --j) {
    const double* lo = src + rows[-j] * w + x;
    const double* hi = src + rows[j] * w + x;
    for (int i = 0; i < N; ++i) {
      const T below = load_lanes(lo + i * S, T{}), above = load_lanes(hi + i * S, T{});
      a[i] = pair_tap(a[i], below, above, wa[j]);
      if constexpr (Two) b[i] = pair_tap(b[i], below, above, wb[j]);
    }
  }
  for (int i = 0; i < N; ++i) {
    store_lanes(a[i], outa + x + i * S);
    if constexpr (Two) store_lanes(b[i], outb + x + i * S);
  }
}

// Columns per strip: the 2r + 1 input rows of a strip (up to ~400 rows of 512 bytes) stay in L2
// while the strip's output rows are computed, instead of streaming whole rows from memory.
constexpr std::ptrdiff_t kStrip = 64;

template <bool Two>
void column_rows(const double* src, int w, int y0, int y1, const int32_t* ymap, const double* wa, const double* wb,
                 int r, double* outa, double* outb) {
  const std::ptrdiff_t W = w;
  for (std::ptrdiff_t xs = 0; xs < W; xs += kStrip) {
    const std::ptrdiff_t xe = xs + kStrip < W ? xs + kStrip : W;
    for (int y = y0; y < y1; ++y) {
      const int32_t* rows = ymap + y + r;  // rows[k]: the row standing for y + k
      double* oa = outa + y * W;
      double* ob = Two ? outb + y * W : nullptr;
      std::ptrdiff_t x = xs;
      for (; x + kBlock * L <= xe; x += kBlock * L) column_block<V, kBlock, Two>(src, W, rows, x, wa, wb, r, oa, ob);
      for (; x + L <= xe; x += L) column_block<V, 1, Two>(src, W, rows, x, wa, wb, r, oa, ob);
      for (; x < xe; ++x) column_block<double, 1, Two>(src, W, rows, x, wa, wb, r, oa, ob);
    }
  }
}

void column_pass(const double* src, int /*height*/, int w, int y0, int y1, const int32_t* ymap, const double* wa,
                 const double* wb, int r, double* outa, double* outb) {
  if (wb)
    column_rows<true>(src, w, y0, y1, ymap, wa, wb, r, outa, outb);
  else
    column_rows<false>(src, w, y0, y1, ymap, wa, wb, r, outa, outb);
}

// A row with r reflected samples on each side: pad[k] = row[xmap[k]].
inline void pad_row(const double* row, int w, const int32_t* xmap, int r, double* pad) {
  const int n = w + 2 * r;
  for (int k = 0; k < n; ++k) pad[k] = row[xmap[k]];
}

// Row correlation of the padded row p (centre of output x at p[x]) for outputs [x, x + N * lanes).
template <class T, int N>
inline void row_sums(const double* p, std::ptrdiff_t x, const double* w, int r, T* acc) {
  constexpr int S = sizeof(T) / sizeof(double);
  for (int i = 0; i < N; ++i) acc[i] = centre_tap(load_lanes(p + x + i * S, T{}), w[0]);
  for (int j = r; j >= 1; --j)
    for (int i = 0; i < N; ++i)
      acc[i] = pair_tap(acc[i], load_lanes(p + x + i * S - j, T{}), load_lanes(p + x + i * S + j, T{}), w[j]);
}

template <class T, int N>
inline void log_block(const double* pa, const double* pb, std::ptrdiff_t x, const double* wg, const double* wd2, int r,
                      double norm, double* out) {
  constexpr int S = sizeof(T) / sizeof(double);
  T dyy[N], dxx[N];
  row_sums<T, N>(pb, x, wg, r, dyy);
  row_sums<T, N>(pa, x, wd2, r, dxx);
  for (int i = 0; i < N; ++i) store_lanes(blobs::log_response(dyy[i], dxx[i], norm), out + x + i * S);
}

void row_log(const double* a, const double* b, int w, int rows, const int32_t* xmap, const double* wg,
             const double* wd2, int r, double norm, double* out, double* scratch) {
  const std::ptrdiff_t W = w;
  double* pa = scratch;
  double* pb = scratch + W + 2 * r + 8;
  for (int y = 0; y < rows; ++y) {
    pad_row(a + y * W, w, xmap, r, pa);
    pad_row(b + y * W, w, xmap, r, pb);
    const double* ca = pa + r;
    const double* cb = pb + r;
    double* o = out + y * W;
    std::ptrdiff_t x = 0;
    for (; x + kBlock * L <= W; x += kBlock * L) log_block<V, kBlock>(ca, cb, x, wg, wd2, r, norm, o);
    for (; x + L <= W; x += L) log_block<V, 1>(ca, cb, x, wg, wd2, r, norm, o);
    for (; x < W; ++x) log_block<double, 1>(ca, cb, x, wg, wd2, r, norm, o);
  }
}

template <class T, int N>
inline void gauss_block(const double* pa, std::ptrdiff_t x, const double* wg, int r, const double* previous,
                        double norm, double* g, double* dog) {
  constexpr int S = sizeof(T) / sizeof(double);
  T acc[N];
  row_sums<T, N>(pa, x, wg, r, acc);
  for (int i = 0; i < N; ++i) {
    store_lanes(acc[i], g + x + i * S);
    if (previous)
      store_lanes(blobs::dog_response(load_lanes(previous + x + i * S, T{}), acc[i], norm), dog + x + i * S);
  }
}

void row_gauss(const double* a, int w, int rows, const int32_t* xmap, const double* wg, int r, const double* previous,
               double norm, double* g, double* dog, double* scratch) {
  const std::ptrdiff_t W = w;
  for (int y = 0; y < rows; ++y) {
    pad_row(a + y * W, w, xmap, r, scratch);
    const double* c = scratch + r;
    const double* prev = previous ? previous + y * W : nullptr;
    double* gy = g + y * W;
    double* dy = dog ? dog + y * W : nullptr;
    std::ptrdiff_t x = 0;
    for (; x + kBlock * L <= W; x += kBlock * L) gauss_block<V, kBlock>(c, x, wg, r, prev, norm, gy, dy);
    for (; x + L <= W; x += L) gauss_block<V, 1>(c, x, wg, r, prev, norm, gy, dy);
    for (; x < W; ++x) gauss_block<double, 1>(c, x, wg, r, prev, norm, gy, dy);
  }
}

// ---- scale-space maxima ---------------------------------------------------------------------------
// The rows of the 3x3x3 block of row y (rows past the plane or the stack are the edge's own:
// scipy's 'nearest', which repeats a sample already in the block, so they are simply left out).
struct Block {
  const double* rows[9];
  int n = 0;
};

inline Block block_rows(const double* lo, const double* mid, const double* hi, int h, std::ptrdiff_t w, int y) {
  Block b;
  const double* planes[3] = {lo, mid, hi};
  for (const double* p : planes) {
    if (!p) continue;
    for (int yy = y > 0 ? y - 1 : y; yy <= (y + 1 < h ? y + 1 : y); ++yy) b.rows[b.n++] = p + yy * w;
  }
  return b;
}

inline bool is_peak(const Block& b, const double* centre, std::ptrdiff_t x, std::ptrdiff_t w, double thr) {
  const double v = centre[x];
  if (!(v > thr)) return false;
  const std::ptrdiff_t x0 = x > 0 ? x - 1 : x, x1 = x + 1 < w ? x + 1 : x;
  for (int k = 0; k < b.n; ++k)
    for (std::ptrdiff_t xx = x0; xx <= x1; ++xx)
      if (b.rows[k][xx] > v) return false;
  return true;
}

int row_maxima(const double* lo, const double* mid, const double* hi, int h, int w, int y, int x0, int x1, double thr,
               int32_t* cols) {
  const std::ptrdiff_t W = w;
  const Block b = block_rows(lo, mid, hi, h, W, y);
  const double* centre = mid + y * W;
  int count = 0;
  std::ptrdiff_t x = x0;
  // Scalar up to column 1 (column 0 has no left neighbour), vectors while x + L < W, scalar tail.
  for (; x < x1 && x < 1; ++x)
    if (is_peak(b, centre, x, W, thr)) cols[count++] = static_cast<int32_t>(x);
  const V t(thr);
  for (; x + L <= x1 && x + L < W; x += L) {
    const V v = V::load(centre + x);
    V m = V::load(b.rows[0] + x);
    for (int k = 0; k < b.n; ++k) {
      const double* row = b.rows[k] + x;
      m = vmax(m, vmax(V::load(row - 1), vmax(V::load(row), V::load(row + 1))));
    }
    const auto hit = (v.v > t.v) & (v.v >= m.v);  // all-ones lanes where x + i is a candidate
    for (int i = 0; i < L; ++i)
      if (hit[i]) cols[count++] = static_cast<int32_t>(x + i);
  }
  for (; x < x1; ++x)
    if (is_peak(b, centre, x, W, thr)) cols[count++] = static_cast<int32_t>(x);
  return count;
}

void min_max(const double* p, long long n, double* lo, double* hi) {
  long long i = 0;
  double mn = p[0], mx = p[0];
  if (n >= L) {
    V vmn = V::load(p), vmx = vmn;
    for (i = L; i + L <= n; i += L) {
      const V v = V::load(p + i);
      vmn = vmin(vmn, v);
      vmx = vmax(vmx, v);
    }
    double a[L], b[L];
    vmn.store(a);
    vmx.store(b);
    for (int k = 0; k < L; ++k) {
      mn = a[k] < mn ? a[k] : mn;
      mx = b[k] > mx ? b[k] : mx;
    }
  }
  for (; i < n; ++i) {
    mn = p[i] < mn ? p[i] : mn;
    mx = p[i] > mx ? p[i] : mx;
  }
  *lo = mn;
  *hi = mx;
}

// ---- determinant of Hessian ---------------------------------------------------------------------
void integral_image(const double* src, int h, int w, double* out) {
  const std::ptrdiff_t W = w;
  std::memcpy(out, src, sizeof(double) * W);
  for (int y = 1; y < h; ++y) {  // down the columns, a vector of columns at a time
    const double* up = out + (y - 1) * W;
    const double* in = src + y * W;
    double* o = out + y * W;
    std::ptrdiff_t x = 0;
    for (; x + L <= W; x += L) (V::load(up + x) + V::load(in + x)).store(o + x);
    for (; x < W; ++x) o[x] = up[x] + in[x];
  }
  for (int y = 0; y < h; ++y) {  // then along the rows (a serial dependency per row)
    double* o = out + y * W;
    for (std::ptrdiff_t x = 1; x < W; ++x) o[x] = o[x - 1] + o[x];
  }
}

inline int clip(long long v, int hi) { return static_cast<int>(v < 0 ? 0 : (v > hi ? hi : v)); }

void row_doh(const double* ii, int h, int w, int y, const blobs::DohBoxes& b, double* out) {
  const std::ptrdiff_t W = w;
  // Rows of each box's near and far corners: fixed for the row.
  const double* near[8];
  const double* far[8];
  int lo = 0, hi = w;  // columns where no box corner needs clipping
  for (int k = 0; k < 8; ++k) {
    const int r = clip(static_cast<long long>(y) + b.dr[k], h - 1);
    near[k] = ii + r * W;
    far[k] = ii + clip(static_cast<long long>(r) + b.rl[k], h - 1) * W;
    // Both corners c + dc and c + dc + cl (cl < 0 for the smallest scales) within [0, w - 1].
    const int reach_lo = b.cl[k] < 0 ? b.cl[k] : 0, reach_hi = b.cl[k] > 0 ? b.cl[k] : 0;
    lo = lo > -b.dc[k] - reach_lo ? lo : -b.dc[k] - reach_lo;
    hi = hi < w - b.dc[k] - reach_hi ? hi : w - b.dc[k] - reach_hi;
  }
  auto scalar = [&](std::ptrdiff_t c) {
    double box[8];
    for (int k = 0; k < 8; ++k) {
      const int c0 = clip(c + b.dc[k], w - 1), c1 = clip(static_cast<long long>(c0) + b.cl[k], w - 1);
      box[k] = blobs::box_sum(near[k][c0], far[k][c1], near[k][c1], far[k][c0]);
    }
    out[c] = blobs::doh_response(box, b.w_i);
  };
  std::ptrdiff_t c = 0;
  for (; c < W && (c < lo || c >= hi); ++c) scalar(c);  // left border (or every column)
  for (; c + L <= hi; c += L) {
    V box[8];
    for (int k = 0; k < 8; ++k) {
      const std::ptrdiff_t c0 = c + b.dc[k], c1 = c0 + b.cl[k];
      box[k] = blobs::box_sum(V::load(near[k] + c0), V::load(far[k] + c1), V::load(near[k] + c1),
                              V::load(far[k] + c0));
    }
    blobs::doh_response(box, b.w_i).store(out + c);
  }
  for (; c < W; ++c) scalar(c);
}

}  // namespace

extern const BlobKernels blobs = {&column_pass, &row_log,        &row_gauss, &row_maxima,
                                  &min_max,     &integral_image, &row_doh};

}  // namespace vision_ext::cpu::VE_CPU_NS
