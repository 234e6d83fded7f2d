// CPU kernels of the corner family, compiled once per level: FAST (all three circle types) on a
// vector of pixels of a row at once, and the Harris / min-eigenvalue response rows
// (corner_response_rows.h). The level's table is at the end.
//
// FAST on bytes: with up = p -sat v and dn = v -sat p, "N/2+1 contiguous points all brighter
// than v+t" is "the minimum of up over that arc > t". The best arc value over both classes, m,
// is OpenCV's score plus one (for a corner m >= t+1 >= 1, where saturating at 0 changes
// nothing), and m > t is the whole test for 16 points; 12 and 8 points add OpenCV's pair test
// (vision_ext/fast.h, fast_class_has_arc). The scalar maths of fast.h serves narrow rows.
#include <cstddef>
#include <cstdint>

#include "corner_lane_ops.h"
#include "corner_response_rows.h"
#include "corners_simd.h"
#include "isa.h"
#include "vec.h"
#include "vision_ext/fast.h"

namespace vision_ext::cpu::VE_CPU_NS {
namespace {

using vision_ext::kFastBorder;

constexpr int kLanes = U8Vec::kLanes;

// Minimum over the arc of N/2+1 points starting at i, maximised over the N starts, per lane.
template <int N>
inline U8Vec best_arc(const U8Vec* d) {
  U8Vec m2[N], m4[N];  // minima of windows of 2 and 4 points starting at i
  for (int i = 0; i < N; ++i) m2[i] = vmin(d[i], d[(i + 1) % N]);
  for (int i = 0; i < N; ++i) m4[i] = vmin(m2[i], m2[(i + 2) % N]);
  U8Vec best(uint8_t(0));
  for (int i = 0; i < N; ++i) {
    U8Vec arc;
    if constexpr (N == 16)  // 9 = 4 + 4 + 1
      arc = vmin(vmin(m4[i], m4[(i + 4) % N]), d[(i + 8) % N]);
    else if constexpr (N == 12)  // 7 = 4 + 2 + 1
      arc = vmin(vmin(m4[i], m2[(i + 4) % N]), d[(i + 6) % N]);
    else  // 5 = 4 + 1
      arc = vmin(m4[i], d[(i + 4) % N]);
    best = vmax(best, arc);
  }
  return best;
}

// OpenCV's pair test for 12 and 8 points: every pair (k, k+8 mod N), k < 8, has a member in
// the class, i.e. min over pairs of max(d) > t.
template <int N>
inline U8Vec pair_min(const U8Vec* d) {
  U8Vec m = vmax(d[0], d[8 % N]);
  for (int k = 1; k < 8; ++k) m = vmin(m, vmax(d[k], d[(k + 8) % N]));
  return m;
}

struct FastRow {
  const uint8_t* pt[16];  // circle point k of column 0
  const uint8_t* centre;
  U8Vec t, tmax;          // threshold, 255 - threshold
};

// Corner lanes of the pixels [x, x + kLanes) and, for them, the score (zero elsewhere) in *score.
template <int N>
inline uint64_t fast_block(const FastRow& r, std::ptrdiff_t x, U8Vec* score) {
  const U8Vec v = U8Vec::load(r.centre + x);
  const U8Vec hi = adds_u8(v, r.t, r.tmax), lo = subs_u8(v, r.t);
  // Any arc holds two neighbouring compass points (N/4 apart): reject the rest cheaply.
  // "Both of a pair brighter" is "the pair's min brighter", so one compare per class.
  constexpr int Q = N / 4;
  const U8Vec c0 = U8Vec::load(r.pt[0] + x), c1 = U8Vec::load(r.pt[Q] + x);
  const U8Vec c2 = U8Vec::load(r.pt[2 * Q] + x), c3 = U8Vec::load(r.pt[3 * Q] + x);
  const U8Vec bright = vmax(vmax(vmin(c0, c1), vmin(c1, c2)), vmax(vmin(c2, c3), vmin(c3, c0)));
  const U8Vec dark = vmin(vmin(vmax(c0, c1), vmax(c1, c2)), vmin(vmax(c2, c3), vmax(c3, c0)));
  if (lane_bits(either(gt_u8(bright, hi), gt_u8(lo, dark))) == 0) return 0;
  U8Vec d[N];
  for (int k = 0; k < N; ++k) d[k] = subs_u8(U8Vec::load(r.pt[k] + x), v);
  const U8Vec bu = best_arc<N>(d);
  U8Vec corner = N == 16 ? U8Vec(uint8_t(0)) : both(gt_u8(pair_min<N>(d), r.t), gt_u8(bu, r.t));
  for (int k = 0; k < N; ++k) d[k] = subs_u8(v, U8Vec::load(r.pt[k] + x));
  const U8Vec bd = best_arc<N>(d);
  const U8Vec m = vmax(bu, bd);
  if constexpr (N == 16)
    corner = gt_u8(m, r.t);
  else
    corner = either(corner, both(gt_u8(pair_min<N>(d), r.t), gt_u8(bd, r.t)));
  *score = both(m - U8Vec(uint8_t(1)), corner);
  return lane_bits(corner);
}

// Rows too narrow for one vector: the scalar test of every tested pixel.
template <int N>
int fast_row_scalar(const uint8_t* row, std::ptrdiff_t stride, int w, int t, bool scores, uint8_t* score,
                    int32_t* cols) {
  long long offs[N];
  vision_ext::fast_circle_offsets<N>(stride, offs);
  int count = 0;
  for (int x = kFastBorder; x < w - kFastBorder; ++x) {
    const uint8_t* c = row + x;
    int p[N];
    for (int k = 0; k < N; ++k) p[k] = c[offs[k]];
    if (!vision_ext::fast_is_corner<N>(c[0], p, t)) continue;
    cols[count++] = x;
    if (scores) score[x] = static_cast<uint8_t>(vision_ext::fast_score<N>(c[0], p));
  }
  return count;
}

template <int N>
int fast_row_n(const uint8_t* row, std::ptrdiff_t stride, int w, int t, bool scores, uint8_t* score, int32_t* cols) {
  const std::ptrdiff_t end = w - kFastBorder;  // tested columns [3, end)
  if (end - kFastBorder < kLanes) return fast_row_scalar<N>(row, stride, w, t, scores, score, cols);
  FastRow r;
  long long offs[N];
  vision_ext::fast_circle_offsets<N>(stride, offs);
  for (int k = 0; k < N; ++k) r.pt[k] = row + offs[k];
  r.centre = row;
  r.t = U8Vec(static_cast<uint8_t>(t));
  r.tmax = U8Vec(static_cast<uint8_t>(255 - t));
  // The row the next tested row brings in (3 below the lowest circle row read here): fetch it
  // while this one works (a prefetch past the image is a hint, never a fault).
  const uint8_t* ahead = row + (kFastBorder + 1) * stride;
  int count = 0;
  auto block = [&](std::ptrdiff_t x, uint64_t keep) {
    U8Vec s;
    uint64_t m = fast_block<N>(r, x, &s) & keep;
    if (!m) return;
    // Lanes a previous block covered recompute the same values, so storing them again is harmless.
    if (scores) s.store(score + x);
    for (; m; m &= m - 1) cols[count++] = static_cast<int32_t>(x + __builtin_ctzll(m));
  };
  const uint64_t all = ~uint64_t(0) >> (64 - kLanes);
  std::ptrdiff_t x = kFastBorder;
  for (; x + kLanes <= end; x += kLanes) {
    __builtin_prefetch(ahead + x);
    block(x, all);
  }
  if (x < end) {  // the last, partial block: shifted left to end at `end`, its new lanes kept
    const std::ptrdiff_t xs = end - kLanes;
    block(xs, all & (all << (x - xs)));
  }
  return count;
}

int fast_row(int n, const uint8_t* row, std::ptrdiff_t stride, int w, int t, bool scores, uint8_t* score,
             int32_t* cols) {
  if (n == 16) return fast_row_n<16>(row, stride, w, t, scores, score, cols);
  if (n == 12) return fast_row_n<12>(row, stride, w, t, scores, score, cols);
  return fast_row_n<8>(row, stride, w, t, scores, score, cols);
}

// ---- good_features_to_track: the candidate scan -------------------------------------------------
// With thr >= 0 and v > thr, a neighbour beats v after thresholding exactly when it beats v
// before, so the test needs no thresholded copy: v > thr && v >= max of the 8 neighbours.
template <typename S>
inline bool gftt_is_candidate(const S* r, std::ptrdiff_t x, std::ptrdiff_t w, S thr) {
  const S v = r[x];
  if (!(v > thr)) return false;
  for (std::ptrdiff_t dy = -w; dy <= w; dy += w)
    for (int dx = -1; dx <= 1; ++dx)
      if (r[x + dy + dx] > v) return false;
  return true;
}

template <typename S>
int gftt_row(const S* row, int w, S thr, int32_t* cols) {
  using V = NativeVec<S>;
  constexpr int L = V::kLanes;
  const std::ptrdiff_t W = w;
  int count = 0;
  std::ptrdiff_t x = 1;
  const V t(thr), one(S(1)), zero(S(0));
  for (; x + L <= W - 1; x += L) {
    // gftt_is_candidate for L pixels at once, comparison for comparison (a NaN neighbour never
    // beats v, a NaN v is never a candidate), so its lanes need no scalar recheck.
    const auto v = V::load(row + x).v;
    const S* up = row - W + x;
    const S* dn = row + W + x;
    const auto beaten = (V::load(row + x - 1).v > v) | (V::load(row + x + 1).v > v) | (V::load(up - 1).v > v) |
                        (V::load(up).v > v) | (V::load(up + 1).v > v) | (V::load(dn - 1).v > v) |
                        (V::load(dn).v > v) | (V::load(dn + 1).v > v);
    const auto hit = (v > t.v) & ~beaten;  // all-ones lanes
    for (unsigned bits = lane_bits_detail::positive(hit ? one.v : zero.v); bits; bits &= bits - 1)
      cols[count++] = static_cast<int32_t>(x + __builtin_ctz(bits));
  }
  for (; x < W - 1; ++x)
    if (gftt_is_candidate(row, x, W, thr)) cols[count++] = static_cast<int32_t>(x);
  return count;
}

// Per-lane running maxima, then across the lanes: vmax(a, b) keeps b unless a > b, so "greater
// replaces" skips NaN wherever it comes after the start, and starting every lane at p[0] keeps a NaN
// p[0] as the result, as the scan does.
template <typename S>
S running_max(const S* p, int64_t n) {
  using V = NativeVec<S>;
  constexpr int L = V::kLanes;
  V m0(p[0]), m1(p[0]), m2(p[0]), m3(p[0]);  // four chains hide the compare-select latency
  int64_t i = 1;
  for (; i + 4 * L <= n; i += 4 * L) {
    m0 = vmax(V::load(p + i), m0);
    m1 = vmax(V::load(p + i + L), m1);
    m2 = vmax(V::load(p + i + 2 * L), m2);
    m3 = vmax(V::load(p + i + 3 * L), m3);
  }
  m0 = vmax(m0, vmax(m1, vmax(m2, m3)));
  S m = p[0];
  for (int l = 0; l < L; ++l) m = m0.v[l] > m ? m0.v[l] : m;
  for (; i < n; ++i) m = p[i] > m ? p[i] : m;
  return m;
}

}  // namespace

extern const CornerKernels corners = {
    &corner_rows::response_rows<uint8_t, float>,
    &corner_rows::response_rows<float, float>,
    &corner_rows::response_rows<double, double>,
    &gftt_row<float>,
    &gftt_row<double>,
    &running_max<float>,
    &running_max<double>,
    &fast_row,
};

}  // namespace vision_ext::cpu::VE_CPU_NS
