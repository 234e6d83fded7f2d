// DDPM / DDIM / PLMS per-timestep coefficients and per-element maths, shared by
// the CPU and CUDA kernels (torch-free). Coefficients are computed in double from
// the alphas_cumprod table and applied in the op's maths type (float for
// fp16/bf16/fp32 data, double for fp64), so fp16 samples keep their noise at t = 0, 1.
// The per-element formulas are templates on the value type V (a scalar, or a CPU level's vector:
// csrc/ops/cpu/simd/ddpm_simd.cpp) so one copy serves every CPU level and the CUDA kernels.
// Notation (Ho et al. 2020; docs in README.md, "Diffusion"): ab = alpha_bar_t, abp = alpha_bar of the previous
// timestep t' in the (possibly strided) schedule, a' = ab/abp, b' = 1 - a'.
#pragma once
#include <math.h>
#include <stdint.h>

#include "vision_ext/macros.h"
#include "vision_ext/philox.h"

namespace vision_ext {

enum PredictionType : int { kPredEpsilon = 0, kPredSample = 1, kPredV = 2 };
enum VarianceType : int {
  kVarFixedSmall = 0,
  kVarFixedSmallLog = 1,
  kVarFixedLarge = 2,
  kVarFixedLargeLog = 3,
  kVarLearned = 4,
  kVarLearnedRange = 5
};

// alpha_bar at timestep t, or `final_ab` for t < 0 (the step past the end of the chain).
VE_HD double alpha_bar_at(const double* table, int64_t t, double final_ab) { return t >= 0 ? table[t] : final_ab; }

// x0 = cx * x + cm * m and eps = ex * x + em * m for a model output m.
struct PredictCoeffs {
  double cx, cm, ex, em;
};

VE_HD PredictCoeffs predict_coeffs(double ab, int prediction_type) {
  const double sa = sqrt(ab), sb = sqrt(1.0 - ab);
  PredictCoeffs c;
  if (prediction_type == kPredEpsilon) {
    c = PredictCoeffs{1.0 / sa, -sb / sa, 0.0, 1.0};
  } else if (prediction_type == kPredSample) {
    c = PredictCoeffs{0.0, 1.0, 1.0 / sb, -sa / sb};
  } else {  // v: x0 = sa x - sb v, eps = sb x + sa v
    c = PredictCoeffs{sa, -sb, sb, sa};
  }
  return c;
}

// Everything a DDPM step needs for one timestep pair, from ab and abp.
struct DdpmCoeffs {
  double cx, cm;          // x0 from the model output
  double c_x0, c_xt;      // posterior mean = c_x0 * x0 + c_xt * x_t
  double std_fixed;       // sigma for the fixed variance types
  double log_small, log_large;  // log beta_tilde (clamped) and log beta' for learned_range
};

VE_HD DdpmCoeffs ddpm_coeffs(double ab, double abp, int prediction_type, int variance_type) {
  const PredictCoeffs p = predict_coeffs(ab, prediction_type);
  const double cur_alpha = ab / abp, cur_beta = 1.0 - cur_alpha;
  double small = (1.0 - abp) / (1.0 - ab) * cur_beta;  // beta_tilde, posterior variance
  small = small < 1e-20 ? 1e-20 : small;
  DdpmCoeffs c;
  c.cx = p.cx;
  c.cm = p.cm;
  c.c_x0 = sqrt(abp) * cur_beta / (1.0 - ab);
  c.c_xt = sqrt(cur_alpha) * (1.0 - abp) / (1.0 - ab);
  const bool large = variance_type == kVarFixedLarge || variance_type == kVarFixedLargeLog;
  c.std_fixed = sqrt(large ? cur_beta : small);
  c.log_small = log(small);
  c.log_large = log(cur_beta);
  return c;
}

// Everything a DDIM step needs; sigma = eta * sqrt(beta_tilde) (Song et al. eq. 16).
struct DdimCoeffs {
  double cx, cm, ex, em;  // x0 and eps from the model output
  double sqrt_ab, inv_sqrt_1mab;  // recompute eps from a clipped x0
  double c_x0, c_dir, sigma;     // prev = c_x0 x0 + c_dir eps + sigma z
};

VE_HD DdimCoeffs ddim_coeffs(double ab, double abp, double eta, int prediction_type) {
  const PredictCoeffs p = predict_coeffs(ab, prediction_type);
  const double var = (1.0 - abp) / (1.0 - ab) * (1.0 - ab / abp);
  const double sigma = eta * sqrt(var);
  double dir2 = 1.0 - abp - sigma * sigma;
  dir2 = dir2 < 0.0 ? 0.0 : dir2;
  return DdimCoeffs{p.cx, p.cm, p.ex, p.em, sqrt(ab), 1.0 / sqrt(1.0 - ab), sqrt(abp), sqrt(dir2), sigma};
}

// PLMS (PNDM's linear multistep) transfer: prev = c_x x - c_e eps, with eps the
// combined history (v outputs converted: eps = sqrt(ab) v + sqrt(1-ab) x).
struct PlmsCoeffs {
  double c_x, c_e, v_m, v_x;
  bool v_output;  // v_m, v_x apply (v prediction); else eps is the model output itself
};

VE_HD PlmsCoeffs plms_coeffs(double ab, double abp, int prediction_type) {
  const double denom = ab * sqrt(1.0 - abp) + sqrt(ab * (1.0 - ab) * abp);
  PlmsCoeffs c;
  c.c_x = sqrt(abp / ab);
  c.c_e = (abp - ab) / denom;
  c.v_m = prediction_type == kPredV ? sqrt(ab) : 1.0;
  c.v_x = prediction_type == kPredV ? sqrt(1.0 - ab) : 0.0;
  c.v_output = prediction_type == kPredV;
  return c;
}

// q_sample coefficients: x_t = a x0 + b eps.
VE_HD void q_sample_coeffs(double ab, double* a, double* b) {
  *a = sqrt(ab);
  *b = sqrt(1.0 - ab);
}

// Min-SNR-gamma loss weight (Hang et al. 2023) for the given target, with snr = ab / (1 - ab) and
// the clipped snr' = min(snr, gamma): epsilon snr' / snr, v snr' / (snr + 1), sample snr';
// gamma <= 0: weight 1. At snr = 0 (ab = 0: the last timestep of a zero-terminal-SNR schedule)
// the epsilon weight is 0 / 0 as written; its limit is 1 (for every 0 < snr <= gamma the weight is
// exactly snr / snr = 1), so it is computed as 1 there instead of a NaN that would poison the loss.
// The v and sample weights are 0 there, their value and their limit. At ab = 1 (snr = inf) all three
// follow IEEE: gamma / inf = 0 for epsilon and v, gamma for sample.
VE_HD double min_snr_weight(double ab, double gamma, int prediction_type) {
  if (gamma <= 0.0) return 1.0;
  const double snr = ab / (1.0 - ab);
  const double clipped = snr < gamma ? snr : gamma;
  if (prediction_type == kPredEpsilon) return snr <= gamma ? 1.0 : gamma / snr;
  if (prediction_type == kPredV) return clipped / (snr + 1.0);
  return clipped;
}

// a * b + c with one rounding, as nvcc contracts it: the x0 and q_sample formulas cancel large terms
// near t = T (1 / sqrt(ab) ~ 150), where the fused form halves the error. The CPU vector types bring
// their own (csrc/ops/cpu/simd/ddpm_ops.h: an FMA where the level has one, a * b + c elsewhere).
VE_HD float ddpm_fma(float a, float b, float c) { return fmaf(a, b, c); }
VE_HD double ddpm_fma(double a, double b, double c) { return fma(a, b, c); }

// Scalar min / max in the argument order the clamps below rely on; the CPU vector types bring their
// own overloads (csrc/ops/cpu/simd/vec.h), found by argument-dependent lookup.
template <typename V>
VE_HD V vmin(V a, V b) {
  return a < b ? a : b;
}
template <typename V>
VE_HD V vmax(V a, V b) {
  return a > b ? a : b;
}

// x clamped to [lo, hi], NaN kept (the bound comes first, so a NaN x fails both comparisons).
template <typename V>
VE_HD V clamp_keep_nan(V x, V lo, V hi) {
  return vmax(lo, vmin(hi, x));
}

// How x0 is limited: clipping to [-r, r], dynamic thresholding (clamp to [-s, s], divide by s), none.
enum LimitKind : int { kLimitNone = 0, kLimitClip = 1, kLimitThresh = 2 };

// Thresholding wins over clipping (s > 0 is the per-sample quantile value).
template <typename M>
VE_HD int limit_kind(M clip_range, M thresh) {
  return thresh > M(0) ? kLimitThresh : (clip_range > M(0) ? kLimitClip : kLimitNone);
}

template <int LIM, typename V>
VE_HD V limit_x0_as(V x0, V clip_range, V thresh) {
  if (LIM == kLimitThresh) return clamp_keep_nan(x0, -thresh, thresh) / thresh;
  if (LIM == kLimitClip) return clamp_keep_nan(x0, -clip_range, clip_range);
  return x0;
}

// Clip or dynamically threshold x0: clip_range > 0 clamps to [-r, r]; thresh > 0 (per
// sample, from the quantile) clamps to [-s, s] and divides by s.
template <typename M>
VE_HD M limit_x0(M x0, M clip_range, M thresh) {
  const int kind = limit_kind(clip_range, thresh);
  if (kind == kLimitThresh) return limit_x0_as<kLimitThresh>(x0, clip_range, thresh);
  if (kind == kLimitClip) return limit_x0_as<kLimitClip>(x0, clip_range, thresh);
  return x0;
}

// q_sample x_t = a x0 + s eps; the training target has the same form (target_coeffs).
template <typename V, typename M>
VE_HD V q_sample_value(M a, M s, V x0, V noise) {
  return ddpm_fma(V(a), x0, V(s) * noise);
}

// target = tx x0 + tn noise: epsilon (0, 1), sample (1, 0), v (-s, a).
template <typename M>
VE_HD void target_coeffs(int prediction_type, M a, M s, M* tx, M* tn) {
  *tx = prediction_type == kPredEpsilon ? M(0) : (prediction_type == kPredSample ? M(1) : -s);
  *tn = prediction_type == kPredEpsilon ? M(1) : (prediction_type == kPredSample ? M(0) : a);
}

// Structural zeros: where a prediction type does not use an input at all (the epsilon target is the
// noise, the "sample" target x0, a "sample" model output is x0, an epsilon output is eps), the
// formulas below return that input instead of computing 0 * other + 1 * input, so a NaN or inf in the
// unused input stays out of the result, as in the peers' formulas, which never read it. Zeros that
// come from the schedule (ab = 0 or 1 exactly) are multiplied as the peers multiply them.
template <typename V, typename M>
VE_HD V target_value(int prediction_type, M tx, M tn, V x0, V noise) {
  if (prediction_type == kPredEpsilon) return noise;
  if (prediction_type == kPredSample) return x0;
  return q_sample_value(tx, tn, x0, noise);
}

// Per-batch-element coefficients in the maths type M, ready for the element loop.
template <typename M>
struct DdpmElem {
  M cx, cm, c_x0, c_xt, std_fixed, log_small, log_large;
  bool noisy;  // diffusers adds noise only when t > 0
  bool x0_is_output;  // "sample" prediction: x0 is the model output (see target_value)
};

template <typename M>
VE_HD DdpmElem<M> ddpm_elem(const double* table, int64_t t, int64_t t_prev, double final_ab, int pred, int var) {
  const DdpmCoeffs c = ddpm_coeffs(alpha_bar_at(table, t, final_ab), alpha_bar_at(table, t_prev, final_ab), pred, var);
  return DdpmElem<M>{M(c.cx),        M(c.cm),          M(c.c_x0), M(c.c_xt),
                     M(c.std_fixed), M(c.log_small),   M(c.log_large), t > 0,
                     pred == kPredSample};
}

// The pieces of a DDPM element (ddpm_element composes them; vector kernels call them with the
// variance and limit choices fixed at compile time).
template <typename V, typename M>
VE_HD V ddpm_x0_of(const DdpmElem<M>& c, V x, V m) {
  return c.x0_is_output ? m : ddpm_fma(V(c.cx), x, V(c.cm) * m);
}
template <typename V, typename M>
VE_HD V ddpm_mean_of(const DdpmElem<M>& c, V x0, V x) {
  return ddpm_fma(V(c.c_x0), x0, V(c.c_xt) * x);
}
// The posterior mean plus sigma z.
template <typename V>
VE_HD V ddpm_add_noise(V mean, V sigma, V z) {
  return ddpm_fma(sigma, z, mean);
}
// sigma of a noisy step: fixed, or from the predicted variance pv (learned / learned_range).
template <typename M>
VE_HD M ddpm_sigma(const DdpmElem<M>& c, int variance_type, M pv) {
  if (variance_type == kVarLearned) return sqrt(pv);
  if (variance_type == kVarLearnedRange) {
    const M frac = (pv + M(1)) * M(0.5);
    return exp(M(0.5) * (frac * c.log_large + (M(1) - frac) * c.log_small));
  }
  return c.std_fixed;
}

// One DDPM element: model output m, sample x, noise z, predicted variance pv.
template <typename M>
VE_HD void ddpm_element(const DdpmElem<M>& c, int variance_type, M clip_range, M thresh, M m, M x, M z, M pv,
                        M* prev, M* x0_out) {
  const M x0 = limit_x0(ddpm_x0_of(c, x, m), clip_range, thresh);
  M out = ddpm_mean_of(c, x0, x);
  if (c.noisy) out = ddpm_add_noise(out, ddpm_sigma(c, variance_type, pv), z);
  *prev = out;
  *x0_out = x0;
}

template <typename M>
struct DdimElem {
  M cx, cm, ex, em, sqrt_ab, inv_sqrt_1mab, c_x0, c_dir, sigma;
  bool x0_is_output;  // "sample" prediction: x0 is the model output (see target_value)
};

template <typename M>
VE_HD DdimElem<M> ddim_elem(const double* table, int64_t t, int64_t t_prev, double final_ab, double eta, int pred) {
  const DdimCoeffs c = ddim_coeffs(alpha_bar_at(table, t, final_ab), alpha_bar_at(table, t_prev, final_ab), eta, pred);
  return DdimElem<M>{M(c.cx),     M(c.cm),   M(c.ex),    M(c.em),   M(c.sqrt_ab),
                     M(c.inv_sqrt_1mab), M(c.c_x0), M(c.c_dir), M(c.sigma), pred == kPredSample};
}

// The pieces of a DDIM element: x0 and eps from the model output, eps again from a limited x0
// (use_clipped_model_output), and the update prev = c_x0 x0 + c_dir eps + sigma z.
template <typename V, typename M>
VE_HD void ddim_predict(const DdimElem<M>& c, V x, V m, V* x0, V* eps) {
  *x0 = c.x0_is_output ? m : ddpm_fma(V(c.cx), x, V(c.cm) * m);
  *eps = ddpm_fma(V(c.ex), x, V(c.em) * m);
}
template <typename V, typename M>
VE_HD V ddim_eps_from_x0(const DdimElem<M>& c, V x, V x0) {
  return (x - V(c.sqrt_ab) * x0) * V(c.inv_sqrt_1mab);
}
template <typename V, typename M>
VE_HD V ddim_prev_of(const DdimElem<M>& c, V x0, V eps, V z) {
  return V(c.c_x0) * x0 + V(c.c_dir) * eps + V(c.sigma) * z;
}

template <typename M>
VE_HD void ddim_element(const DdimElem<M>& c, bool use_clipped, M clip_range, M thresh, M m, M x, M z, M* prev,
                        M* x0_out) {
  M x0, eps;
  ddim_predict(c, x, m, &x0, &eps);
  x0 = limit_x0(x0, clip_range, thresh);
  if (use_clipped) eps = ddim_eps_from_x0(c, x, x0);
  *prev = ddim_prev_of(c, x0, eps, z);
  *x0_out = x0;
}

// PLMS in the maths type: eps = sum_k w_k e_k (plms_accumulate, from 0 in history order), then
// prev = c_x x - c_e (v_m eps + v_x x).
template <typename M>
struct PlmsElem {
  M c_x, c_e, v_m, v_x;
  bool v_output;
};

template <typename M>
VE_HD PlmsElem<M> plms_elem(const PlmsCoeffs& c) {
  return PlmsElem<M>{M(c.c_x), M(c.c_e), M(c.v_m), M(c.v_x), c.v_output};
}
template <typename V, typename M>
VE_HD V plms_accumulate(V eps, M w, V e) {
  return eps + V(w) * e;
}
template <typename V, typename M>
VE_HD V plms_prev_of(const PlmsElem<M>& c, V x, V eps) {
  // Not v: eps is the model output, so an infinite x gives c_x x (inf), not 0 * inf (see target_value).
  return V(c.c_x) * x - V(c.c_e) * (c.v_output ? V(c.v_m) * eps + V(c.v_x) * x : eps);
}

}  // namespace vision_ext
