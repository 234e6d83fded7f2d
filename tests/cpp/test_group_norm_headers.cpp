// Host test of the torch-free GroupNorm maths (vision_ext/group_norm.h) that every CPU level and
// CUDA run: the polynomial exp against the C library's double exp, the sigmoid, SiLU and its derivative
// against float64 formulas, and the shifted-sum moments against a two-pass float64 variance.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "vision_ext/group_norm.h"

using namespace vision_ext;

static int failures = 0;

static void expect(bool ok, const char* what, double got, double want) {
  if (!ok) {
    std::printf("FAIL %s: got %.12g want %.12g\n", what, got, want);
    ++failures;
  }
}

// Distance in fp32 ulps of the correctly rounded value.
static double ulps(float got, double want) {
  const float w = static_cast<float>(want);
  const double ulp = std::nextafter(std::fabs(w), INFINITY) - std::fabs(w);
  return std::fabs(static_cast<double>(got) - want) / ulp;
}

int main() {
  double worst = 0.0;
  for (int i = 0; i <= 2000000; ++i) {
    const float x = -87.0f + 175.0f * static_cast<float>(i) / 2000000.0f;
    const double u = ulps(gn_exp(x), std::exp(static_cast<double>(x)));
    if (u > worst) worst = u;
  }
  expect(worst <= 2.0, "gn_exp max ulps on [-87, 88]", worst, 2.0);
  expect(std::isnan(gn_exp(NAN)), "gn_exp(NaN)", gn_exp(NAN), NAN);
  expect(gn_exp(-1000.0f) >= 0.0f && gn_exp(-1000.0f) < 1e-37f, "gn_exp(-1000)", gn_exp(-1000.0f), 0.0);
  expect(gn_exp(1000.0f) > 1e38f, "gn_exp(1000)", gn_exp(1000.0f), INFINITY);

  // The sigmoid from exp(-|y|) and SiLU against float64, over the exp's whole range.
  double worst_sigmoid = 0.0, worst_silu = 0.0;
  for (int i = 0; i <= 2000000; ++i) {
    const float y = -87.0f + 175.0f * static_cast<float>(i) / 2000000.0f;
    const double s = 1.0 / (1.0 + std::exp(-static_cast<double>(y)));
    const double us = ulps(gn_sigmoid(y), s), uy = ulps(gn_silu(y), y * s);
    if (us > worst_sigmoid) worst_sigmoid = us;
    if (uy > worst_silu) worst_silu = uy;
  }
  expect(worst_sigmoid <= 3.0, "gn_sigmoid max ulps on [-87, 88]", worst_sigmoid, 3.0);
  expect(worst_silu <= 4.0, "gn_silu max ulps on [-87, 88]", worst_silu, 4.0);
  expect(std::isnan(gn_silu(NAN)), "gn_silu(NaN)", gn_silu(NAN), NAN);
  expect(gn_silu(INFINITY) == INFINITY, "gn_silu(inf)", gn_silu(INFINITY), INFINITY);
  expect(gn_silu(-1000.0f) <= 0.0f && gn_silu(-1000.0f) > -1e-34f, "gn_silu(-1000)", gn_silu(-1000.0f), 0.0);

  for (int i = 0; i <= 20000; ++i) {
    const double y = -30.0 + 60.0 * i / 20000.0;
    const double s = 1.0 / (1.0 + std::exp(-y));
    const double silu = y * s, dsilu = s * (1.0 + y * (1.0 - s));
    expect(std::fabs(gn_silu(static_cast<float>(y)) - static_cast<float>(y) /
                     (1.0 + std::exp(-static_cast<double>(static_cast<float>(y))))) <= 4e-7 * (1.0 + std::fabs(silu)),
           "gn_silu", gn_silu(static_cast<float>(y)), silu);
    expect(std::fabs(gn_silu(y) - silu) <= 1e-14 * (1.0 + std::fabs(silu)), "gn_silu<double>", gn_silu(y), silu);
    expect(std::fabs(gn_silu_grad(y) - dsilu) <= 1e-14, "gn_silu_grad<double>", gn_silu_grad(y), dsilu);
  }

  std::mt19937 rng(0);
  std::normal_distribution<double> normal(1000.0, 0.5);
  std::vector<double> v(4096);
  double sum = 0.0;
  for (double& e : v) sum += (e = normal(rng));
  const double mean = sum / v.size();
  double m2_ref = 0.0, s1 = 0.0, s2 = 0.0;
  for (double e : v) {
    m2_ref += (e - mean) * (e - mean);
    s1 += e - v[7];
    s2 += (e - v[7]) * (e - v[7]);
  }
  double m2 = 0.0;
  const double got_mean = gn_moments(v[7], s1, s2, static_cast<double>(v.size()), &m2);
  expect(std::fabs(got_mean - mean) <= 1e-12 * mean, "gn_moments mean", got_mean, mean);
  expect(std::fabs(m2 - m2_ref) <= 1e-10 * m2_ref, "gn_moments m2", m2, m2_ref);

  std::printf("max exp error %.3f ulp\n", worst);
  if (failures) std::printf("%d failures\n", failures);
  return failures ? 1 : 0;
}
