// Host test of the torch-free residual/batch-norm maths shared by CPU and CUDA kernels,
// against float64 formulas computed here from first principles.
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "vision_ext/batch_norm.h"
#include "vision_ext/epilogue.h"

using namespace vision_ext;

static int failures = 0;
static void expect_near(double got, double want, double tol, const char* what) {
  if (!(std::fabs(got - want) <= tol * (1.0 + std::fabs(want)))) {
    std::printf("FAIL %s: got %.12g want %.12g\n", what, got, want);
    ++failures;
  }
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

  std::printf("%s: %d failures\n", failures ? "FAILED" : "ok", failures);
  return failures ? 1 : 0;
}
