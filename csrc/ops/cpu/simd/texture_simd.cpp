// CPU kernels of the texture family, compiled once per level. LBP samples its circle for a vector
// of pixels of a row at once (each point's floor/ceil offsets are the same for every column, only
// the blend weights differ); GLCM counts pairs; graycoprops sums one matrix a row vector at a
// time; HOG folds each gradient into the upper half plane and counts the bin edges below it with
// cross products, sending the rare gradients within rounding of an edge to skimage's exact
// atan2 test. The per-element maths is vision_ext/texture.h's. The level's table is at the end.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "isa.h"
#include "texture_simd.h"
#include "vec.h"
#include "vision_ext/texture.h"

namespace vision_ext::cpu::VE_CPU_NS {

using TextureLanes = Vec<double, lanes_of<double>()>;
using TextureMask = typename RawVec<int64_t, lanes_of<double>()>::type;

// Lane helpers of the shared maths, found by argument-dependent lookup from vision_ext/texture.h
// (so they live in the level's namespace, next to Vec).
inline TextureLanes sqrt_of(TextureLanes v) {
  TextureLanes r;
  for (int l = 0; l < TextureLanes::kLanes; ++l) r.v[l] = __builtin_sqrt(v.v[l]);  // GCC emits the vector sqrt
  return r;
}
inline TextureMask le_of(TextureLanes a, TextureLanes b) { return (TextureMask)(a.v <= b.v); }
inline TextureLanes select_of(TextureMask m, TextureLanes a, TextureLanes b) {
  return TextureLanes((TextureLanes::raw)((m & (TextureMask)a.v) | (~m & (TextureMask)b.v)));
}
inline TextureLanes abs_of(TextureLanes v) { return TextureLanes(vmax(v, -v)); }
inline TextureMask select_bits(TextureMask m, TextureMask a, TextureMask b) { return (m & a) | (~m & b); }

namespace {

using namespace vision_ext::texture;

constexpr int kLanes = TextureLanes::kLanes;
using D = TextureLanes;
using I64 = TextureMask;

// ---- LBP ----------------------------------------------------------------------------------------

struct LbpRow {
  const double* lo[kLbpMaxPoints];  // padded row floor(y + rp), at image column 0
  const double* hi[kLbpMaxPoints];  // padded row ceil(y + rp)
  double dr[kLbpMaxPoints];
  const double* centre;
};

inline D lbp_sample(const LbpRow& r, const LbpParams& p, int i, int x, D xv) {
  const double* lo = r.lo[i] + x;
  if (p.on_pixel[i]) return D::load(lo + p.cp_lo[i]);
  const double* hi = r.hi[i] + x;
  const D dc = (xv + D(p.cp[i])) - (xv + D(static_cast<double>(p.cp_lo[i])));
  return lbp_bilinear(D::load(lo + p.cp_lo[i]), D::load(lo + p.cp_hi[i]), D::load(hi + p.cp_lo[i]),
                      D::load(hi + p.cp_hi[i]), D(r.dr[i]), dc);
}

inline double lbp_sample(const LbpRow& r, const LbpParams& p, int i, int x, double xd) {
  const double* lo = r.lo[i] + x;
  const double* hi = r.hi[i] + x;
  const double dc = (xd + p.cp[i]) - (xd + static_cast<double>(p.cp_lo[i]));
  return lbp_bilinear(lo[p.cp_lo[i]], lo[p.cp_hi[i]], hi[p.cp_lo[i]], hi[p.cp_hi[i]], r.dr[i], dc);
}

// kLanes pixels [x, x + kLanes) of a row. default, uniform and var stay in lanes (the count of ones
// and of neighbouring changes kept as the points go by); ror and nri_uniform finish per pixel.
// kP > 0 is the point count fixed at compile time, so the points' loop unrolls and their samples
// overlap (P = 8, camera 512², one Sapphire Rapids core: 1.26 ms as a loop, 0.96 ms unrolled);
// 0 reads p.points.
template <int kP>
void lbp_block(const LbpRow& r, const LbpParams& p, int x, double* out, double* tex) {
  const int P = kP > 0 ? kP : p.points;
  double xs[kLanes];
  for (int l = 0; l < kLanes; ++l) xs[l] = static_cast<double>(x + l);
  const D xv = D::load(xs), c = D::load(r.centre + x);
  I64 bits = {}, ones = {}, changes = {}, prev = {};
#pragma GCC unroll 16
  for (int i = 0; i < P; ++i) {
    const D t = lbp_sample(r, p, i, x, xv);
    if (p.method == kLbpVar) t.store(tex + i * kLanes);
    const I64 ge = (I64)((t - c).v >= 0.0);
    bits |= ge & (I64{} + (int64_t(1) << i));
    ones -= ge;
    if (i > 0) changes -= ge ^ prev;
    prev = ge;
  }
  if (p.method == kLbpDefault) {
    D(__builtin_convertvector(bits, D::raw)).store(out + x);
  } else if (p.method == kLbpUniform) {
    const I64 code = select_bits((I64)(changes <= 2), ones, I64{} + (P + 1));
    D(__builtin_convertvector(code, D::raw)).store(out + x);
  } else if (p.method == kLbpVar) {
    const D var = lbp_variance<D>(P, [&](int i) { return D::load(tex + i * kLanes); });
    select_of((I64)(var.v != 0.0), var, D(NAN)).store(out + x);
  } else {
    for (int l = 0; l < kLanes; ++l) out[x + l] = lbp_code(static_cast<uint64_t>(bits[l]), P, p.method, 0.0);
  }
}

void lbp_pixel(const LbpRow& r, const LbpParams& p, int x, double* out, double* tex) {
  const int P = p.points;
  const double xd = static_cast<double>(x), c = r.centre[x];
  uint64_t bits = 0;
  for (int i = 0; i < P; ++i) {
    tex[i] = lbp_sample(r, p, i, x, xd);
    if (tex[i] - c >= 0.0) bits |= uint64_t(1) << i;
  }
  const double var = p.method == kLbpVar ? lbp_variance<double>(P, [&](int i) { return tex[i]; }) : 0.0;
  out[x] = lbp_code(bits, P, p.method, var);
}

void lbp_rows(const LbpParams& p, const double* padded, double* out, int y0, int y1, double* scratch) {
  const int64_t pw = lbp_padded_width(p);
  const double* origin = padded + p.pad * pw + p.pad;  // image pixel (0, 0)
  LbpRow r;
  for (int y = y0; y < y1; ++y) {
    for (int i = 0; i < p.points; ++i) {
      const double rr = static_cast<double>(y) + p.rp[i];
      const double lo = std::floor(rr), hi = std::ceil(rr);
      r.lo[i] = origin + static_cast<int64_t>(lo) * pw;
      r.hi[i] = origin + static_cast<int64_t>(hi) * pw;
      r.dr[i] = rr - lo;
    }
    r.centre = origin + static_cast<int64_t>(y) * pw;
    double* row = out + static_cast<int64_t>(y) * p.width;
    int x = 0;
    if (p.points == 8)
      for (; x + kLanes <= p.width; x += kLanes) lbp_block<8>(r, p, x, row, scratch);
    else if (p.points == 16)
      for (; x + kLanes <= p.width; x += kLanes) lbp_block<16>(r, p, x, row, scratch);
    else
      for (; x + kLanes <= p.width; x += kLanes) lbp_block<0>(r, p, x, row, scratch);
    for (; x < p.width; ++x) lbp_pixel(r, p, x, row, scratch);
  }
}

// ---- GLCM ---------------------------------------------------------------------------------------

template <typename S>
void glcm_count(const S* img, int height, int width, GlcmOffset off, int levels, int32_t* hist) {
  const int r0 = off.dr < 0 ? -off.dr : 0, r1 = off.dr > 0 ? height - off.dr : height;
  const int c0 = off.dc < 0 ? -off.dc : 0, c1 = off.dc > 0 ? width - off.dc : width;
  const int64_t shift = static_cast<int64_t>(off.dr) * width + off.dc;
  for (int r = r0; r < r1; ++r) {
    const S* a = img + static_cast<int64_t>(r) * width;
    const S* b = a + shift;
    for (int c = c0; c < c1; ++c) ++hist[static_cast<int64_t>(a[c]) * levels + b[c]];
  }
}

void glcm_count_u8(const uint8_t* img, int height, int width, GlcmOffset off, int levels, int32_t* hist) {
  glcm_count(img, height, width, off, levels, hist);
}
void glcm_count_i32(const int32_t* img, int height, int width, GlcmOffset off, int levels, int32_t* hist) {
  glcm_count(img, height, width, off, levels, hist);
}

// Natural log of normal positive lanes: x = 2^e m with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s),
// s = (m - 1) / (m + 1), |s| < 0.172, summed to s^23 (a few ulps; graycoprops' entropy is compared
// with numpy to rtol 1e-11). The caller keeps zero, subnormal and non-finite lanes out.
inline D log_of(D x) {
  const I64 bits = (I64)x.v;
  I64 e = ((bits >> 52) & (I64{} + 0x7ff)) - (I64{} + 1023);
  D m = D((D::raw)((bits & (I64{} + 0x000fffffffffffffLL)) | (I64{} + 0x3ff0000000000000LL)));
  const I64 big = (I64)(m.v > 1.4142135623730951);
  m = select_of(big, m * D(0.5), m);
  e -= big;  // big is -1 where set
  const D s = (m - D(1.0)) / (m + D(1.0)), s2 = s * s;
  D p(1.0 / 23);
  for (int k = 10; k >= 0; --k) p = p * s2 + D(1.0 / (2 * k + 1));
  const D ed = D(__builtin_convertvector(e, D::raw));
  return ed * D(0.6931471805599453) + (D(2.0) * s * p + ed * D(2.3190468138462996e-17));
}

// Every lane +0 or -0.
inline bool all_zero(D v) {
  const I64 nonzero = (I64)(v.v != 0.0);
  int64_t any = 0;
  for (int l = 0; l < kLanes; ++l) any |= nonzero[l];
  return any == 0;
}

inline double hsum(D v) {
  double a[kLanes];
  v.store(a);
  double s = 0.0;
  for (int l = 0; l < kLanes; ++l) s += a[l];
  return s;
}

void glcm_sums(const double* P, int levels, bool moments, GlcmSums* out, double* scratch) {
  const int L = levels;
  double* rows = scratch;     // row sums
  double* cols = scratch + L; // column sums
  std::memset(cols, 0, sizeof(double) * L);
  double js[kLanes];
  for (int l = 0; l < kLanes; ++l) js[l] = static_cast<double>(l);
  const D jv0 = D::load(js);
  double* hw = scratch + 2 * L;  // hw[(L - 1 - i) + j] = 1 / (1 + (i - j)^2)
  for (int m = 0; m < 2 * L - 1; ++m) {
    const double d = static_cast<double>(L - 1 - m);
    hw[m] = 1.0 / (1.0 + d * d);
  }
  D con(0.0), dis(0.0), hom(0.0), sq(0.0), pl(0.0);
  double con_s = 0, dis_s = 0, hom_s = 0, sq_s = 0, plogp = 0;
  for (int i = 0; i < L; ++i) {
    const double* row = P + static_cast<int64_t>(i) * L;
    const double fi = static_cast<double>(i);
    D rs(0.0);
    double rs_s = 0.0;
    int j = 0;
    for (; j + kLanes <= L; j += kLanes) {
      const D v = D::load(row + j);
      if (all_zero(v)) continue;  // each sum below would add a zero, which leaves it as it is
      const D d = D(fi) - (jv0 + D(static_cast<double>(j)));
      const D d2 = d * d;
      con += v * d2;
      dis += v * abs_of(d);
      hom += v * D::load(hw + (L - 1 - i) + j);
      sq += v * v;
      rs += v;
      (D::load(cols + j) + v).store(cols + j);
      const I64 normal = (I64)(v.v >= 2.2250738585072014e-308) & (I64)(v.v <= 1.7976931348623157e308);
      pl += select_of(normal, v * log_of(select_of(normal, v, D(1.0))), D(0.0));
      const I64 odd = ~normal & ~(I64)(v.v == 0.0);
      for (int l = 0; l < kLanes; ++l)
        if (odd[l]) plogp += v.v[l] * std::log(v.v[l]);  // subnormal, negative (NaN), inf, NaN
    }
    int tail = j;
    for (; j < L; ++j) {
      const double v = row[j], d = fi - j, d2 = d * d;
      con_s += v * d2, dis_s += v * std::fabs(d), hom_s += v / (1.0 + d2), sq_s += v * v, rs_s += v;
      cols[j] += v;
    }
    for (int t = tail; t < L; ++t)
      if (row[t] != 0.0) plogp += row[t] * std::log(row[t]);
    rows[i] = hsum(rs) + rs_s;
  }
  GlcmSums s{};
  for (int i = 0; i < L; ++i) s.total += rows[i];
  const double S = s.total == 0.0 ? 1.0 : s.total;
  s.contrast = hsum(con) + con_s, s.dissimilarity = hsum(dis) + dis_s, s.homogeneity = hsum(hom) + hom_s;
  s.asm_ = hsum(sq) + sq_s, s.plogp = plogp + hsum(pl);
  for (int i = 0; i < L; ++i) s.mean_i += i * rows[i], s.mean_j += i * cols[i];
  s.mean_i /= S, s.mean_j /= S;
  for (int i = 0; i < L; ++i) {
    s.var_i += rows[i] * (i - s.mean_i) * (i - s.mean_i);
    s.var_j += cols[i] * (i - s.mean_j) * (i - s.mean_j);
  }
  s.var_i /= S, s.var_j /= S;
  if (moments) {
    for (int i = 0; i < L; ++i) {
      const double* row = P + static_cast<int64_t>(i) * L;
      D acc(0.0);
      double acc_s = 0.0;
      int j = 0;
      for (; j + kLanes <= L; j += kLanes) {
        const D v = D::load(row + j);
        if (!all_zero(v)) acc += v * ((jv0 + D(static_cast<double>(j))) - D(s.mean_j));
      }
      for (; j < L; ++j) acc_s += row[j] * (j - s.mean_j);
      s.cov += (i - s.mean_i) * (hsum(acc) + acc_s);
    }
    s.cov /= S;
  }
  *out = s;
}

// ---- HOG ----------------------------------------------------------------------------------------

// np.hypot in the image's float type: hypotf for float32, glibc's hypot for float64.
inline float channel_hypot(float a, float b) { return std::hypot(a, b); }
inline double channel_hypot(double a, double b) { return texture::hog_hypot(a, b); }

// kLanes values of any image type as doubles (exact).
template <typename S>
inline D lanes_as_double(const S* p) {
  double v[kLanes];
  for (int l = 0; l < kLanes; ++l) v[l] = static_cast<double>(p[l]);
  return D::load(v);
}

// glibc's hypot of lanes whose max / min are in its common range; false (nothing written) otherwise.
inline bool hypot_lanes(D r, D c, D* out) {
  r = abs_of(r), c = abs_of(c);
  const I64 rbig = (I64)(r.v > c.v);
  const D ax = select_of(rbig, r, c), ay = select_of(rbig, c, r);
  const I64 common = (I64)(ax.v <= 0x1p+511) & ((I64)(ay.v >= 0x1p-511) | (I64)(ay.v == 0.0));
  for (int l = 0; l < kLanes; ++l)
    if (!common[l]) return false;
  const I64 tiny = (I64)(ay.v <= (ax * D(0x1p-54)).v);
  *out = select_of(tiny, ax + ay, glibc_hypot_kernel(ax, select_of(tiny, ax, ay)));
  return true;
}

// The chosen channel's gradient at columns [x, x + kLanes) of a float64-gradient image (uint8 or
// float64), all of them inner columns: per channel the centred differences and their hypot, the
// first channel of largest magnitude kept. false where a lane needs the scalar rules (NaN, range).
// uint8 differences are integers, so r^2 + c^2 is exact and ranks the channels as their hypot does
// (distinct sums below 2 * 255^2 have square roots more than 1e-3 apart: no two round together).
template <typename S>
bool hog_gradient_lanes(const S* img, const HogParams& p, int y, int x, bool inner_row, double* gr, double* gc) {
  const int64_t plane = static_cast<int64_t>(p.height) * p.width;
  D br(0.0), bc(0.0), bm(0.0);
  for (int ch = 0; ch < p.channels; ++ch) {
    const S* row = img + ch * plane + static_cast<int64_t>(y) * p.width + x;
    const D r = inner_row ? lanes_as_double(row + p.width) - lanes_as_double(row - p.width) : D(0.0);
    const D c = lanes_as_double(row + 1) - lanes_as_double(row - 1);
    D m;
    if constexpr (std::is_integral_v<S>) {
      m = r * r + c * c;
    } else if (!hypot_lanes(r, c, &m)) {
      return false;
    }
    const I64 take = ch == 0 ? ~I64{} : (I64)(m.v > bm.v);
    br = select_of(take, r, br), bc = select_of(take, c, bc), bm = select_of(take, m, bm);
  }
  if constexpr (!std::is_integral_v<S>) {
    for (int l = 0; l < kLanes; ++l)
      if (bm.v[l] != bm.v[l]) return false;
  }
  br.store(gr + x);
  bc.store(gc + x);
  return true;
}

// skimage's centred differences of one row of the chosen channel (the channel of largest
// magnitude per pixel, the first on ties), in the image's float type, then as doubles into gr / gc.
template <typename S>
void hog_gradient_row(const S* img, const HogParams& p, int y, int n, double* gr, double* gc) {
  using G = typename HogGradient<S>::type;
  const int64_t plane = static_cast<int64_t>(p.height) * p.width;
  const bool inner_row = y >= 1 && y <= p.height - 2;
  for (int x = 0; x < n; ++x) {
    if constexpr (std::is_same_v<G, double>) {
      if (p.channels > 1 && x >= 1 && x + kLanes <= p.width - 1 && x + kLanes <= n &&
          hog_gradient_lanes(img, p, y, x, inner_row, gr, gc)) {
        x += kLanes - 1;
        continue;
      }
    }
    const bool inner_col = x >= 1 && x <= p.width - 2;
    G best_r = G(0), best_c = G(0), best_m = G(0);
    for (int ch = 0; ch < p.channels; ++ch) {
      const S* row = img + ch * plane + static_cast<int64_t>(y) * p.width;
      const G r = inner_row ? G(G(row[x + p.width]) - G(row[x - p.width])) : G(0);
      const G c = inner_col ? G(G(row[x + 1]) - G(row[x - 1])) : G(0);
      if (p.channels == 1) {
        best_r = r, best_c = c;
        break;
      }
      const G m = std::is_integral_v<S> ? G(r * r + c * c) : channel_hypot(r, c);  // as hog_gradient_lanes
      if (ch == 0 || (best_m == best_m && (m != m || m > best_m))) best_r = r, best_c = c, best_m = m;
    }
    gr[x] = static_cast<double>(best_r);
    gc[x] = static_cast<double>(best_c);
  }
}

// Bins of n gradients: the vector edge count where no lane is within rounding of an edge.
void hog_bins(const double* gr, const double* gc, int n, const HogParams& p, const HogEdgeDirections& dirs,
              uint8_t* bins) {
  const int nb = p.orientations;
  int x = 0;
  for (; x + kLanes <= n; x += kLanes) {
    const D r = D::load(gr + x), c = D::load(gc + x);
    const I64 flip = (I64)(r.v < 0.0) | ((I64)(r.v == 0.0) & (I64)(c.v < 0.0));
    const D u = D((D::raw)((flip & (I64)(-c).v) | (~flip & (I64)c.v)));
    const D v = D((D::raw)((flip & (I64)(-r).v) | (~flip & (I64)r.v)));
    const D scale = D(vmax(r, -r)) + D(vmax(c, -c));
    const D tol = scale * D(dirs.tol);
    I64 amb = (I64)(v.v <= tol.v) | (I64)(scale.v != scale.v);
    I64 count = {};
    for (int k = 1; k < nb; ++k) {
      const D cr = v * D(dirs.cos_e[k]) - u * D(dirs.sin_e[k]);
      count -= (I64)(cr.v >= 0.0);
      amb |= (I64)(D(vmax(cr, -cr)).v <= tol.v);
    }
    for (int l = 0; l < kLanes; ++l) {
      if (!amb[l]) {
        bins[x + l] = static_cast<uint8_t>(count[l]);
      } else if (gr[x + l] == 0.0 && gc[x + l] == gc[x + l]) {
        bins[x + l] = 0;  // atan2(+-0, c) is 0 or pi: orientation 0 after the modulo
      } else {
        bins[x + l] = hog_bin(gr[x + l], gc[x + l], p.edges, nb);
      }
    }
  }
  for (; x < n; ++x) bins[x] = hog_bin(gr[x], gc[x], p.edges, nb);
}

// np.hypot of n gradients: glibc's common case on vectors, hypot itself for the other lanes.
void hog_magnitudes(const double* gr, const double* gc, int n, double* mag) {
  int x = 0;
  for (; x + kLanes <= n; x += kLanes) {
    const D r = abs_of(D::load(gr + x)), c = abs_of(D::load(gc + x));
    const I64 rbig = (I64)(r.v > c.v);
    const D ax = select_of(rbig, r, c), ay = select_of(rbig, c, r);
    const I64 common = (I64)(ax.v <= 0x1p+511) & ((I64)(ay.v >= 0x1p-511) | (I64)(ay.v == 0.0));
    const I64 tiny = (I64)(ay.v <= (ax * D(0x1p-54)).v);
    D m = select_of(tiny, ax + ay, glibc_hypot_kernel(ax, select_of(tiny, ax, ay)));
    m.store(mag + x);
    for (int l = 0; l < kLanes; ++l)
      if (!common[l]) mag[x + l] = std::hypot(gr[x + l], gc[x + l]);
  }
  for (; x < n; ++x) mag[x] = texture::hog_hypot(gr[x], gc[x]);
}

template <typename S>
void hog_cells(const S* img, const HogParams& p, const HogEdgeDirections& dirs, int cell_row, float* hist,
               double* scratch) {
  const int n = p.cells_col * p.cell_cols;  // columns any cell covers
  double* gr = scratch;
  double* gc = scratch + p.width + 8;
  double* mag = scratch + 2 * (p.width + 8);
  uint8_t* bins = reinterpret_cast<uint8_t*>(scratch + 3 * (p.width + 8));
  const int nb = p.orientations, ext_r = p.cell_rows, ext_c = p.cell_cols;
  const int y0 = hog_cell_start(cell_row, p.cell_rows);
  for (int y = y0; y < y0 + ext_r; ++y) {
    hog_gradient_row(img, p, y, n, gr, gc);
    hog_bins(gr, gc, n, p, dirs, bins);
    hog_magnitudes(gr, gc, n, mag);
    for (int j = 0; j < p.cells_col; ++j) {
      float* h = hist + static_cast<int64_t>(j) * nb;
      const int x0 = hog_cell_start(j, p.cell_cols);
      for (int x = x0; x < x0 + ext_c; ++x) {
        const uint8_t b = bins[x];
        if (b == kHogNoBin) continue;
        const double m = mag[x];
        if (b == kHogAllBins) {
          for (int k = 0; k < nb; ++k) h[k] = hog_accumulate(h[k], m);
        } else {
          h[b] = hog_accumulate(h[b], m);
        }
      }
    }
  }
  for (int k = 0; k < p.cells_col * nb; ++k) hist[k] = hog_cell_value(hist[k], p.cell_rows, p.cell_cols);
}

void hog_cells_f32(const float* img, const HogParams& p, const HogEdgeDirections& dirs, int cell_row, float* hist,
                   double* scratch) {
  hog_cells(img, p, dirs, cell_row, hist, scratch);
}
void hog_cells_f64(const double* img, const HogParams& p, const HogEdgeDirections& dirs, int cell_row, float* hist,
                   double* scratch) {
  hog_cells(img, p, dirs, cell_row, hist, scratch);
}
void hog_cells_u8(const uint8_t* img, const HogParams& p, const HogEdgeDirections& dirs, int cell_row, float* hist,
                  double* scratch) {
  hog_cells(img, p, dirs, cell_row, hist, scratch);
}

}  // namespace

extern const TextureKernels texture = {&lbp_rows,      &glcm_count_u8, &glcm_count_i32, &glcm_sums,
                                       &hog_cells_f32, &hog_cells_f64, &hog_cells_u8};

}  // namespace vision_ext::cpu::VE_CPU_NS
