// Host test of the torch-free DDPM headers: Philox4x32-10 known answers (Random123's
// kat_vectors), the normal mapping, the DDPM/DDIM/PLMS coefficient identities, and the
// per-thread bodies of the CUDA kernels (ddpm_body.h) run on the host against the element maths
// with independently computed indices.
#include <initializer_list>
#include <math.h>
#include <stdio.h>

#include <vector>

#include "vision_ext/ddpm.h"
#include "vision_ext/ddpm_body.h"
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
  check(philox_uniform(0u) > 0.f && philox_uniform(0xffffffffu) < 1.f, "uniform stays in (0, 1)");
  for (float x : {1e-7f, 0.001f, 0.3f, 0.70710677f, 0.9f, 0.99999f, 1.f})
    check(near(philox_log(x), log(static_cast<double>(x)), 2e-6), "philox_log matches log");
  // Every uniform the generator can produce: exactly (2k + 1) 2^-24 (and four times it), log within
  // 2.5e-7 relative, sin/cos within one ulp of 1.
  double log_err = 0, sc_err = 0;
  bool exact = true;
  for (uint32_t top = 0; top < (1u << 23); ++top) {
    const float u = philox_uniform(top << 9), v = philox_uniform_x4(top << 9);
    exact = exact && static_cast<double>(u) == (2.0 * top + 1.0) * 0x1p-24 && v == 4.f * u;
    const double lu = log(static_cast<double>(u));
    log_err = fmax(log_err, fabs(philox_log(u) - lu) / fabs(lu));
    float s, c;
    philox_sincos_2pi_x4(v, &s, &c);
    sc_err = fmax(sc_err, fmax(fabs(s - sin(2 * M_PI * u)), fabs(c - cos(2 * M_PI * u))));
  }
  check(exact, "philox_uniform and philox_uniform_x4 are (2k + 1) 2^-24 and four times it, exactly");
  check(log_err <= 2.5e-7, "philox_log: relative error <= 2.5e-7 on every uniform");
  check(sc_err <= 1.2e-7, "philox_sincos_2pi_x4: error <= 1.2e-7 on every uniform");
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

// ---- the CUDA kernels' per-thread bodies, run on the host ----

struct HostIO {
  static float load(const float* p, int64_t i) { return p[i]; }
  static double load(const double* p, int64_t i) { return p[i]; }
  static void store(float* p, int64_t i, float v) { p[i] = v; }
  static void store(double* p, int64_t i, double v) { p[i] = v; }
};

// alphas_cumprod of the linear schedule (1e-4 .. 0.02, 1000 steps), like DDPMScheduler's default.
static std::vector<double> linear_table() {
  std::vector<double> ab(1000);
  double prod = 1.0;
  for (int i = 0; i < 1000; ++i) {
    prod *= 1.0 - (1e-4 + (0.02 - 1e-4) * i / 999.0);
    ab[i] = prod;
  }
  return ab;
}

static float value_at(int64_t i, int salt) { return static_cast<float>(sin(0.37 * i + salt) * 1.3); }

// DDPM learned_range step of (B, C, H, W) = (3, 2, 3, 3) samples: 18 elements per sample, so Philox blocks
// straddle samples and the last one is partial; model output (3, 4, 3, 3) holds the variance in channels 2-3.
static void step_learned_variance_layout() {
  const int64_t B = 3, C = 2, HW = 9, inner = C * HW, n = B * inner;
  const std::vector<double> ab = linear_table();
  const int64_t t[3] = {999, 500, 0}, tp[3] = {998, 400, -1};
  std::vector<float> x(n), mo(2 * n), prev(n + 4, NAN), x0(n + 4, NAN);
  for (int64_t i = 0; i < n; ++i) x[i] = value_at(i, 1);
  for (int64_t i = 0; i < 2 * n; ++i) mo[i] = value_at(i, 2) * 0.5f;  // in [-1, 1]: a learned_range fraction
  StepParams p{};
  p.sched = DdpmSchedule{ab.data(), 1000, t, tp, B, 1.0};
  p.model_output = mo.data();
  p.sample = x.data();
  p.prev = prev.data();
  p.x0 = x0.data();
  p.batch = B;
  p.inner = inner;
  p.mo_stride = 2 * inner;
  p.seed = 0x1234567890abull;
  p.offset = 17;
  p.prediction_type = kPredV;
  p.variance_type = kVarLearnedRange;
  p.clip_range = 1.0;
  for (int64_t g = 0; g < (n + 3) / 4; ++g) step_group<float, HostIO, float>(p, g);
  bool exact = true;  // to rounding: the compiler may contract the two copies differently
  for (int64_t b = 0; b < B; ++b) {
    const DdpmElem<float> c = ddpm_elem<float>(ab.data(), t[b], tp[b], 1.0, kPredV, kVarLearnedRange);
    for (int64_t ch = 0; ch < C; ++ch)
      for (int64_t s = 0; s < HW; ++s) {
        const int64_t i = (b * C + ch) * HW + s;                         // sample element
        const int64_t mean = (b * 2 * C + ch) * HW + s, var = mean + C * HW;  // (B, 2C, H, W) layout
        float want, want_x0;
        ddpm_element(c, kVarLearnedRange, 1.f, 0.f, mo[mean], x[i], philox_normal_at(p.seed, p.offset, i), mo[var],
                     &want, &want_x0);
        exact = exact && near(prev[i], want, 1e-6) && near(x0[i], want_x0, 1e-6);
      }
  }
  check(exact, "step_group: learned variance from channels [C, 2C), Philox normal i for element i");
  bool tail = true;
  for (int64_t i = n; i < n + 4; ++i) tail = tail && isnan(prev[i]) && isnan(x0[i]);
  check(tail, "step_group: nothing written past the last element");
}

// DDIM over one broadcast timestep with a threshold per sample: eta = 0 ignores the noise tensor entirely,
// eta > 0 reads it; timesteps outside the table are clamped to its ends.
static void step_ddim_broadcast_and_clamp() {
  const int64_t B = 2, inner = 7, n = B * inner;
  const std::vector<double> ab = linear_table();
  const int64_t t = 5000, tp = -9;  // clamped to 999 and -1
  const float th[2] = {0.f, 1.5f};
  std::vector<double> x(n), mo(n), z(n), prev(n), x0(n);
  for (int64_t i = 0; i < n; ++i) {
    x[i] = value_at(i, 3);
    mo[i] = value_at(i, 4);
    z[i] = NAN;
  }
  StepParams p{};
  p.sched = DdpmSchedule{ab.data(), 1000, &t, &tp, 1, 0.5};
  p.model_output = mo.data();
  p.sample = x.data();
  p.noise = z.data();
  p.threshold = th;
  p.prev = prev.data();
  p.x0 = x0.data();
  p.batch = B;
  p.inner = inner;
  p.mo_stride = inner;
  p.prediction_type = kPredEpsilon;
  p.clip_range = 0.8;
  p.ddim = true;
  p.use_clipped = true;
  for (int64_t g = 0; g < (n + 3) / 4; ++g) step_group<double, HostIO, double>(p, g);
  bool ok = true;
  const DdimElem<double> c0 = ddim_elem<double>(ab.data(), 999, -1, 0.5, 0.0, kPredEpsilon);
  for (int64_t i = 0; i < n; ++i) {
    double want, want_x0;
    ddim_element(c0, true, 0.8, static_cast<double>(th[i / inner]), mo[i], x[i], 0.0, &want, &want_x0);
    ok = ok && near(prev[i], want, 1e-14) && near(x0[i], want_x0, 1e-14);
  }
  check(ok, "step_group: DDIM eta 0 ignores the noise; broadcast t clamped into the table");
  p.eta = 0.7;
  for (int64_t i = 0; i < n; ++i) z[i] = value_at(i, 5);
  for (int64_t g = 0; g < (n + 3) / 4; ++g) step_group<double, HostIO, double>(p, g);
  const DdimElem<double> c1 = ddim_elem<double>(ab.data(), 999, -1, 0.5, 0.7, kPredEpsilon);
  ok = c1.sigma > 0.0;
  for (int64_t i = 0; i < n; ++i) {
    double want, want_x0;
    ddim_element(c1, true, 0.8, static_cast<double>(th[i / inner]), mo[i], x[i], z[i], &want, &want_x0);
    ok = ok && near(prev[i], want, 1e-14) && near(x0[i], want_x0, 1e-14);
  }
  check(ok, "step_group: DDIM eta > 0 reads the noise tensor element for element");
}

// Training target of (3, 0) samples still writes the 3 min-SNR weights; a (2, 5) one writes every element.
static void add_noise_weights_and_target() {
  const std::vector<double> ab = linear_table();
  const int64_t t[3] = {10, 500, 999};
  float w[3] = {NAN, NAN, NAN};
  AddNoiseParams p{};
  p.sched = DdpmSchedule{ab.data(), 1000, t, nullptr, 3, 1.0};
  p.weights = w;
  p.batch = 3;
  p.inner = 0;
  p.prediction_type = kPredEpsilon;
  p.min_snr_gamma = 5.0;
  check(add_noise_items(p) == 3, "add_noise_items: one item per weight when samples are empty");
  for (int64_t i = 0; i < add_noise_items(p); ++i) add_noise_item<float, HostIO, float>(p, i);
  bool ok = true;
  for (int b = 0; b < 3; ++b) ok = ok && w[b] == static_cast<float>(min_snr_weight(ab[t[b]], 5.0, kPredEpsilon));
  check(ok, "add_noise_item: min-SNR weights of empty samples");

  const int64_t n = 10;
  std::vector<float> x(n), z(n), out(n), target(n);
  for (int64_t i = 0; i < n; ++i) {
    x[i] = value_at(i, 6);
    z[i] = value_at(i, 7);
  }
  p.x0 = x.data();
  p.noise = z.data();
  p.out = out.data();
  p.target = target.data();
  p.batch = 2;
  p.inner = 5;
  p.prediction_type = kPredV;
  for (int64_t i = 0; i < add_noise_items(p); ++i) add_noise_item<float, HostIO, float>(p, i);
  ok = true;
  for (int64_t i = 0; i < n; ++i) {
    const double a = sqrt(ab[t[i / 5]]), s = sqrt(1.0 - ab[t[i / 5]]);
    ok = ok && near(out[i], a * x[i] + s * z[i], 1e-6) && near(target[i], a * z[i] - s * x[i], 1e-6);
  }
  check(ok, "add_noise_item: x_t and the v target of sample i / inner");
}

// fp64 PLMS keeps its weights in double (55/24 is not a float), and 4 outputs are all read.
static void plms_double_weights() {
  const std::vector<double> ab = linear_table();
  const int64_t t = 600, tp = 580, n = 6;
  std::vector<double> x(n), e[4], out(n);
  for (int k = 0; k < 4; ++k) {
    e[k].resize(n);
    for (int64_t i = 0; i < n; ++i) e[k][i] = value_at(i, 8 + k);
  }
  for (int64_t i = 0; i < n; ++i) x[i] = value_at(i, 12);
  const double w[4] = {55.0 / 24, -59.0 / 24, 37.0 / 24, -9.0 / 24};
  PlmsParams p{};
  p.sched = DdpmSchedule{ab.data(), 1000, &t, &tp, 1, 1.0};
  p.sample = x.data();
  for (int k = 0; k < 4; ++k) {
    p.outputs[k] = e[k].data();
    p.weights[k] = w[k];
  }
  p.num_outputs = 4;
  p.out = out.data();
  p.batch = 2;
  p.inner = 3;
  p.prediction_type = kPredEpsilon;
  for (int64_t i = 0; i < n; ++i) plms_item<double, HostIO, double>(p, i);
  const PlmsCoeffs c = plms_coeffs(ab[t], ab[tp], kPredEpsilon);
  bool ok = true;
  for (int64_t i = 0; i < n; ++i) {
    const double eps = w[0] * e[0][i] + w[1] * e[1][i] + w[2] * e[2][i] + w[3] * e[3][i];
    ok = ok && near(out[i], c.c_x * x[i] - c.c_e * eps, 1e-15);
  }
  check(ok, "plms_item: fp64 result with double weights");
}

// philox_normal_like's body: element i is philox_normal_at(i); the partial last block stops at n.
static void philox_body() {
  float out[16];
  for (float& v : out) v = NAN;
  for (int64_t g = 0; g < 4; ++g) philox_group<HostIO>(out, 13, 99, 3, g);
  bool ok = true;
  for (int i = 0; i < 13; ++i) ok = ok && out[i] == philox_normal_at(99, 3, i);
  for (int i = 13; i < 16; ++i) ok = ok && isnan(out[i]);
  check(ok, "philox_group: element i = philox_normal_at(i), nothing past n");
}

static void kernel_bodies() {
  step_learned_variance_layout();
  step_ddim_broadcast_and_clamp();
  add_noise_weights_and_target();
  plms_double_weights();
  philox_body();
}

int main() {
  philox_known_answers();
  normal_mapping();
  coefficients();
  kernel_bodies();
  if (failures) return 1;
  printf("ddpm headers: all checks passed\n");
  return 0;
}
