// Host test of the torch-free residual/batch-norm maths shared by CPU and CUDA kernels, and of
// the CUDA kernels' per-thread bodies (residual_body.h) run here on the host, all against
// float64 formulas and indices computed here from first principles.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "vision_ext/batch_norm.h"
#include "vision_ext/epilogue.h"
#include "vision_ext/residual_body.h"

using namespace vision_ext;

static int failures = 0;
static void expect_near(double got, double want, double tol, const char* what) {
  if (!(std::fabs(got - want) <= tol * (1.0 + std::fabs(want)))) {
    std::printf("FAIL %s: got %.12g want %.12g\n", what, got, want);
    ++failures;
  }
}

// ---- the CUDA kernels' per-thread bodies (residual_body.h), run on the host ----------------
struct HostIO {
  template <typename T>
  static T load(const T* p, int64_t i) { return p[i]; }
  template <typename T, typename M>
  static void store(T* p, int64_t i, M v) { p[i] = static_cast<T>(v); }
};

// A 4-D activation in NCHW or NHWC, indexed independently of the headers' row view.
struct Shape {
  int64_t n, c, h, w;
  bool cl;
  int64_t numel() const { return n * c * h * w; }
  int64_t offset(int64_t in, int64_t ic, int64_t ih, int64_t iw) const {
    return cl ? ((in * h + ih) * w + iw) * c + ic : ((in * c + ic) * h + ih) * w + iw;
  }
  int64_t rows() const { return cl ? n * h * w : n * c; }
  int64_t row_len() const { return cl ? c : h * w; }
  template <typename F>
  void each(F f) const {
    for (int64_t a = 0; a < n; ++a)
      for (int64_t b = 0; b < c; ++b)
        for (int64_t y = 0; y < h; ++y)
          for (int64_t x = 0; x < w; ++x) f(a, b, y, x, offset(a, b, y, x));
  }
};

static std::vector<float> randn(std::mt19937& rng, int64_t n, double mean = 0, double sd = 1) {
  std::normal_distribution<double> d(mean, sd);
  std::vector<float> v(n);
  for (auto& e : v) e = static_cast<float>(d(rng));
  return v;
}

template <int VEC>
static void run_epilogue_packs(const EpilogueParams& p) {
  for (int64_t k = 0; k < p.rows * p.row_len / VEC; ++k) epilogue_pack<float, HostIO, float, VEC>(p, k);
}

static void test_epilogue_bodies(std::mt19937& rng) {
  for (bool cl : {false, true})
    for (int vec : {1, 4})
      for (int flags = 0; flags < 8; ++flags) {
        const Shape s{2, 8, 3, 4, cl};  // H*W = 12 and C = 8: whole 4-float packs in both layouts
        const bool inner = flags & 1, outer = flags & 2, with_res = flags & 4;
        const auto x = randn(rng, s.numel()), res = randn(rng, s.numel()), scale = randn(rng, s.c),
                   shift = randn(rng, s.c);
        std::vector<float> out(s.numel(), NAN);
        const EpilogueParams p{x.data(), scale.data(), flags == 3 ? nullptr : shift.data(),
                               with_res ? res.data() : nullptr, out.data(), s.rows(), s.row_len(), s.c, cl,
                               EpilogueFlags{inner, outer}};
        if (!epilogue_vectorizable(p, sizeof(float))) expect_near(0, 1, 0, "16-byte packs on aligned rows of 4k");
        vec == 4 ? run_epilogue_packs<4>(p) : run_epilogue_packs<1>(p);
        s.each([&](int64_t, int64_t c, int64_t, int64_t, int64_t o) {
          double v = double(x[o]) * scale[c] + (flags == 3 ? 0.0 : shift[c]);
          if (inner && v < 0) v = 0;
          if (with_res) v += res[o];
          if (outer && v < 0) v = 0;
          expect_near(out[o], v, 1e-6, cl ? "epilogue_pack NHWC" : "epilogue_pack NCHW");
        });
      }
}

static void test_vector_path_conditions() {
  alignas(16) static float buf[64];
  auto ok = [](const void* x, const void* r, void* o, int64_t row_len, int64_t elem) {
    return epilogue_vectorizable(EpilogueParams{x, nullptr, nullptr, r, o, 2, row_len, 3, false, {}}, elem);
  };
  expect_near(ok(buf, buf + 16, buf + 32, 12, 4), 1, 0, "aligned, row of 3 float packs");
  expect_near(ok(buf, nullptr, buf, 4, 4), 1, 0, "no residual, in place");
  expect_near(ok(buf, buf, buf, 6, 4), 0, 0, "row of 6 floats would split a pack across rows");
  expect_near(ok(buf + 1, nullptr, buf + 32, 12, 4), 0, 0, "x sliced at a 4-byte storage offset");
  expect_near(ok(buf, buf + 2, buf + 32, 12, 4), 0, 0, "residual sliced at an 8-byte offset");
  expect_near(ok(buf, nullptr, buf + 3, 12, 4), 0, 0, "misaligned out");
  expect_near(ok(buf, nullptr, buf, 6, 8), 1, 0, "double rows of 6: packs of 2");
  expect_near(ok(buf, nullptr, buf, 12, 2), 0, 0, "half rows of 12: packs of 8 do not fit");
  expect_near(ok(buf, nullptr, buf, 16, 2), 1, 0, "half rows of 16");
}

// Runs one reduction over every simulated thread of the kernels' grid into ws's partials.
template <typename Term>
static void reduce_on_host(const Term& term, const Shape& s, double* ws) {
  const int64_t C = s.c;
  for (int64_t split = 0; split < kBnSplits; ++split) {
    if (!s.cl) {
      for (int64_t c = 0; c < C; ++c) {
        double a = 0, b = 0;
        for (int64_t tid = 0; tid < kBnBlock; ++tid)
          bn_reduce_nchw_thread(term, s.rows(), s.row_len(), C, c, split, tid, &a, &b);
        ws[bn_partial_index(split, C, c)] = a;
        ws[bn_partial_index(split, C, c) + 1] = b;
      }
      continue;
    }
    for (int64_t tile = 0; tile < (C + kBnTile - 1) / kBnTile; ++tile)
      for (int64_t tx = 0; tx < kBnTile; ++tx) {
        const int64_t c = tile * kBnTile + tx;
        double a = 0, b = 0;
        for (int64_t ty = 0; ty < kBnRows; ++ty) bn_reduce_nhwc_thread(term, s.rows(), C, c, split, ty, &a, &b);
        if (c < C) {
          ws[bn_partial_index(split, C, c)] = a;
          ws[bn_partial_index(split, C, c) + 1] = b;
        }
      }
  }
}

// Counts visits per element and checks the channel each thread is told.
struct CoverTerm {
  std::vector<int>* visits;
  int64_t row_len, channels;
  bool cl;
  void operator()(int64_t row, int64_t col, int64_t c, double*, double*) const {
    ++(*visits)[row * row_len + col];
    if (c != channel_of(row, col, channels, cl)) ++(*visits)[row * row_len + col];
  }
};

static void test_bn_bodies(std::mt19937& rng, bool cl, bool relu) {
  // 37 channels: a partial NHWC tile; H*W = 2850: NCHW threads loop (> kBnSplits*kBnBlock per
  // channel) and rows are not whole mask bytes.
  const Shape s{3, 37, 50, 57, cl};
  const int64_t C = s.c, n = s.numel(), per_c = n / C;
  const char* tag = cl ? "NHWC" : "NCHW";

  std::vector<int> visits(n, 0);
  std::vector<double> unused(bn_workspace_doubles(C));
  reduce_on_host(CoverTerm{&visits, s.row_len(), C, cl}, s, unused.data());
  int64_t bad = 0;
  for (int v : visits) bad += v != 1;
  expect_near(bad, 0, 0, cl ? "NHWC reduce grid visits each element once, right channel"
                             : "NCHW reduce grid visits each element once, right channel");

  const auto x = randn(rng, n, 3, 2), res = randn(rng, n), g = randn(rng, n), w = randn(rng, C, 1, 0.3),
             b = randn(rng, C);
  const double eps = 1e-5;
  std::vector<float> out(n), mean(C), var(C), gx(n), gres(n), gw(C), gb(C);
  const int64_t mbytes = (s.row_len() + 7) / 8;
  std::vector<unsigned char> mask(s.rows() * mbytes, 0xAA);
  std::vector<double> ws(bn_workspace_doubles(C), NAN);

  const BnForwardParams fp{x.data(), res.data(), w.data(), b.data(), out.data(), relu ? mask.data() : nullptr,
                           mean.data(), var.data(), s.rows(), s.row_len(), C, cl, relu, eps};
  reduce_on_host(BnStatsTerm<float, HostIO, float>{x.data(), s.row_len(), cl}, s, ws.data());
  for (int64_t c = 0; c < C; ++c) bn_finalize_stats_channel<float, HostIO, float>(fp, ws.data(), c);
  for (int64_t t = 0; t < bn_forward_items(fp); ++t) bn_forward_byte<float, HostIO, float>(fp, ws.data(), t);

  std::vector<double> m(C, 0), v(C, 0);
  s.each([&](int64_t, int64_t c, int64_t, int64_t, int64_t o) { m[c] += x[o]; });
  for (auto& e : m) e /= per_c;
  s.each([&](int64_t, int64_t c, int64_t, int64_t, int64_t o) { v[c] += (x[o] - m[c]) * (x[o] - m[c]); });
  for (auto& e : v) e /= per_c;  // biased, as torch's training batch norm normalises
  for (int64_t c = 0; c < C; ++c) {
    expect_near(mean[c], m[c], 1e-6, tag);
    expect_near(var[c], v[c], 1e-5, tag);
  }
  s.each([&](int64_t in, int64_t c, int64_t ih, int64_t iw, int64_t o) {
    double y = (x[o] - m[c]) / std::sqrt(v[c] + eps) * w[c] + b[c] + res[o];
    if (relu && y < 0) y = 0;
    expect_near(out[o], y, 1e-5, "bn forward out");
    if (!relu) return;
    const int64_t row = cl ? (in * s.h + ih) * s.w + iw : in * C + c, col = cl ? c : ih * s.w + iw;
    const int bit = (mask[row * mbytes + col / 8] >> (col % 8)) & 1;
    expect_near(bit, out[o] > 0, 0, "mask bit (row, col) = byte row*row_bytes + col/8, bit col%8");
  });
  if (relu)
    for (int64_t r = 0; r < s.rows(); ++r)
      expect_near(mask[r * mbytes + mbytes - 1] >> (s.row_len() - (mbytes - 1) * 8), 0, 0, "row padding bits clear");

  std::fill(ws.begin(), ws.end(), NAN);
  const BnBackwardParams bp{g.data(), x.data(), relu ? mask.data() : nullptr, w.data(), mean.data(), var.data(),
                            gx.data(), gres.data(), gw.data(), gb.data(), s.rows(), s.row_len(), C, cl, eps};
  reduce_on_host(BnGradTerm<float, HostIO, float>{g.data(), x.data(), bp.mask, mean.data(), s.row_len()}, s,
                 ws.data());
  for (int64_t c = 0; c < C; ++c) bn_finalize_grads_channel<float>(bp, ws.data(), c);
  for (int64_t i = 0; i < n; ++i) bn_backward_item<float, HostIO, float>(bp, ws.data(), i);

  std::vector<double> sg(C, 0), sgx(C, 0);
  auto gm = [&](int64_t o) { return relu && !(out[o] > 0) ? 0.0 : double(g[o]); };
  s.each([&](int64_t, int64_t c, int64_t, int64_t, int64_t o) {
    sg[c] += gm(o);
    sgx[c] += gm(o) * (x[o] - m[c]) / std::sqrt(v[c] + eps);
  });
  for (int64_t c = 0; c < C; ++c) {
    expect_near(gw[c], sgx[c], 1e-4, "bn grad_weight");
    expect_near(gb[c], sg[c], 1e-4, "bn grad_bias");
  }
  s.each([&](int64_t, int64_t c, int64_t, int64_t, int64_t o) {
    const double invstd = 1 / std::sqrt(v[c] + eps), xhat = (x[o] - m[c]) * invstd;
    expect_near(gx[o], w[c] * invstd * (gm(o) - sg[c] / per_c - xhat * sgx[c] / per_c), 1e-4, "bn grad_x");
    expect_near(gres[o], gm(o), 0, "bn grad_residual");
  });
}


int main() {
  std::mt19937 rng(7);
  std::normal_distribution<double> normal(0.0, 1.0);

  // epilogue: every flag combination against the written-out definition.
  for (int flags = 0; flags < 4; ++flags) {
    const bool inner = flags & 1, outer = flags & 2;
    for (int i = 0; i < 100; ++i) {
      const double v = normal(rng), s = normal(rng), t = normal(rng), r = normal(rng);
      double want = v * s + t;
      if (inner && want < 0) want = 0;
      want += r;
      if (outer && want < 0) want = 0;
      expect_near(epilogue_value<double>(v, s, t, r, inner, outer), want, 1e-15, "epilogue_value");
    }
  }
  expect_near(channel_of(5, 3, 4, false), 1, 0, "channel_of NCHW");
  expect_near(channel_of(5, 3, 4, true), 3, 0, "channel_of NHWC");

  // moments around a far-away shift: large mean, small variance (cancellation-prone).
  std::vector<double> xs(1000);
  double mean_ref = 0, var_ref = 0;
  for (auto& x : xs) x = 1e4 + 1e-2 * normal(rng), mean_ref += x;
  mean_ref /= xs.size();
  for (double x : xs) var_ref += (x - mean_ref) * (x - mean_ref);
  var_ref /= xs.size();
  double s1 = 0, s2 = 0;
  for (double x : xs) s1 += x - xs[0], s2 += (x - xs[0]) * (x - xs[0]);
  double mean, var;
  moments_from_shifted_sums(xs.size(), s1, s2, xs[0], &mean, &var);
  expect_near(mean, mean_ref, 1e-12, "shifted mean");
  expect_near(var, var_ref, 1e-6, "shifted var");

  // backward coefficients: grad_x = k*g + c1*x + c0 equals the textbook BN gradient.
  const int n = 50;
  std::vector<double> x(n), g(n);
  for (int i = 0; i < n; ++i) x[i] = 3 + 2 * normal(rng), g[i] = normal(rng);
  double m = 0, v = 0;
  for (double e : x) m += e;
  m /= n;
  for (double e : x) v += (e - m) * (e - m);
  v /= n;
  const double eps = 1e-5, gamma = 0.7, invstd = 1 / std::sqrt(v + eps);
  double sum_g = 0, sum_gx = 0, sum_gxhat = 0;
  for (int i = 0; i < n; ++i) sum_g += g[i], sum_gx += g[i] * (x[i] - m), sum_gxhat += g[i] * (x[i] - m) * invstd;
  double k, c1, c0, gw;
  bn_backward_coeffs<double>(gamma, v, eps, n, sum_g, sum_gx, &k, &c1, &c0, &gw);
  expect_near(gw, sum_gxhat, 1e-12, "grad_gamma");
  for (int i = 0; i < n; ++i) {
    const double xhat = (x[i] - m) * invstd;
    const double want = gamma * invstd * (g[i] - sum_g / n - xhat * sum_gxhat / n);
    expect_near(k * g[i] + c1 * (x[i] - m) + c0, want, 1e-10, "grad_x");
  }

  // mask layout: bit (row, col) at byte row*row_bytes + col/8.
  unsigned char mask[6] = {0x01, 0x80, 0x00, 0x00, 0x02, 0x00};
  expect_near(mask_row_bytes(10), 2, 0, "mask_row_bytes");
  expect_near(mask_bit(mask, 2, 0, 0), 1, 0, "mask (0,0)");
  expect_near(mask_bit(mask, 2, 0, 15), 1, 0, "mask (0,15)");
  expect_near(mask_bit(mask, 2, 2, 1), 1, 0, "mask (2,1)");
  expect_near(mask_bit(mask, 2, 1, 1), 0, 0, "mask (1,1)");

  test_epilogue_bodies(rng);
  test_vector_path_conditions();
  for (bool cl : {false, true})
    for (bool relu : {false, true}) test_bn_bodies(rng, cl, relu);

  std::printf("%s: %d failures\n", failures ? "FAILED" : "ok", failures);
  return failures ? 1 : 0;
}
