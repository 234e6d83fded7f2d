// Host test of the torch-free DDPM headers: Philox4x32-10 known answers (Random123's
// kat_vectors), the normal mapping, and the DDPM/DDIM/PLMS coefficient identities.
#include <initializer_list>
#include <math.h>
#include <stdio.h>

#include "vision_ext/ddpm.h"
#include "vision_ext/philox.h"

using namespace vision_ext;

static int failures = 0;

static void check(bool ok, const char* what) {
  if (!ok) {
    printf("FAIL: %s\n", what);
    ++failures;
  }
}

static bool near(double a, double b, double tol) { return fabs(a - b) <= tol * (1.0 + fabs(b)); }

static void philox_known_answers() {
  const uint32_t cases[3][10] = {
      {0, 0, 0, 0, 0, 0, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u},
      {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x408f276du, 0x41c83b0eu,
       0xa20bc7c6u, 0x6d5451fdu},
      {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u, 0x94fdccebu,
       0x5001e420u, 0x24126ea1u},
  };
  for (const auto& c : cases) {
    const Philox4 r = philox4x32_10(c[0], c[1], c[2], c[3], c[4], c[5]);
    for (int k = 0; k < 4; ++k) check(r.v[k] == c[6 + k], "philox4x32_10 known answer");
  }
}

static void normal_mapping() {
  check(philox_uniform(0) > 0.f && philox_uniform(0xffffffffu) < 1.f, "uniform stays in (0, 1)");
  for (float x : {1e-7f, 0.001f, 0.3f, 0.70710677f, 0.9f, 0.99999f, 1.f})
    check(near(philox_log(x), log(static_cast<double>(x)), 2e-6), "philox_log matches log");
  // Every uniform the generator can produce: log within 2.5e-7 relative, sin/cos within one ulp of 1.
  double log_err = 0, sc_err = 0;
  for (uint32_t top = 0; top < (1u << 23); ++top) {
    const float u = philox_uniform(top << 9);
    const double lu = log(static_cast<double>(u));
    log_err = fmax(log_err, fabs(philox_log(u) - lu) / fabs(lu));
    float s, c;
    philox_sincos_2pi(u, &s, &c);
    sc_err = fmax(sc_err, fmax(fabs(s - sin(2 * M_PI * u)), fabs(c - cos(2 * M_PI * u))));
  }
  check(log_err <= 2.5e-7, "philox_log: relative error <= 2.5e-7 on every uniform");
  check(sc_err <= 1.2e-7, "philox_sincos_2pi: error <= 1.2e-7 on every uniform");
  double sum = 0, sq = 0;
  const int n = 1 << 18;
  for (int i = 0; i < n; ++i) {
    const double z = philox_normal_at(1234, 7, static_cast<uint64_t>(i));
    sum += z;
    sq += z * z;
  }
  check(fabs(sum / n) < 0.01 && fabs(sq / n - 1.0) < 0.01, "normals have mean 0, variance 1");
  check(philox_normal_at(1, 0, 5) != philox_normal_at(1, 1, 5), "offset changes the stream");
}

static void coefficients() {
  const double ab = 0.3, abp = 0.5;
  // DDPM posterior mean with x0 = x (eps = 0 case) recovers the clean mean.
  const DdpmCoeffs c = ddpm_coeffs(ab, abp, kPredEpsilon, kVarFixedSmall);
  const double beta = 1 - ab / abp;
  check(near(c.c_x0, sqrt(abp) * beta / (1 - ab), 1e-14), "c_x0");
  check(near(c.c_xt, sqrt(ab / abp) * (1 - abp) / (1 - ab), 1e-14), "c_xt");
  check(near(c.std_fixed * c.std_fixed, (1 - abp) / (1 - ab) * beta, 1e-14), "fixed_small variance");
  // Single-coefficient form of the paper: mu = (x - beta/sqrt(1-ab) eps)/sqrt(alpha) for unclipped x0.
  const double x = 0.7, eps = -0.4;
  const double x0 = c.cx * x + c.cm * eps;
  const double mu = c.c_x0 * x0 + c.c_xt * x;
  check(near(mu, (x - beta / sqrt(1 - ab) * eps) / sqrt(1 - beta), 1e-12), "posterior mean identity");
  // v-prediction round trip: v = sqrt(ab) eps - sqrt(1-ab) x0.
  const double x0v = 0.2, epsv = 1.1, xt = sqrt(ab) * x0v + sqrt(1 - ab) * epsv;
  const PredictCoeffs pv = predict_coeffs(ab, kPredV);
  const double v = sqrt(ab) * epsv - sqrt(1 - ab) * x0v;
  check(near(pv.cx * xt + pv.cm * v, x0v, 1e-12) && near(pv.ex * xt + pv.em * v, epsv, 1e-12), "v round trip");
  // DDIM with eta = 0 moves x0/eps to abp exactly.
  const DdimCoeffs d = ddim_coeffs(ab, abp, 0.0, kPredEpsilon);
  check(d.sigma == 0.0 && near(d.c_dir, sqrt(1 - abp), 1e-14), "ddim eta 0");
  // PLMS transfer with the true eps equals the DDIM eta = 0 update.
  const PlmsCoeffs pl = plms_coeffs(ab, abp, kPredEpsilon);
  check(near(pl.c_x * xt - pl.c_e * epsv, sqrt(abp) * x0v + sqrt(1 - abp) * epsv, 1e-12), "plms = ddim(eta 0)");
  check(near(min_snr_weight(0.5, 5.0, kPredEpsilon), 1.0, 1e-14) && near(min_snr_weight(0.99, 5.0, kPredEpsilon),
        5.0 / 99.0, 1e-12), "min-snr weights");
}

int main() {
  philox_known_answers();
  normal_mapping();
  coefficients();
  if (failures) return 1;
  printf("ddpm headers: all checks passed\n");
  return 0;
}
