// Parameter structs and per-thread bodies of the DDPM CUDA kernels (csrc/kernels/cuda/ddpm.cu).
// CUDA-free and VE_HD: the kernels are grid-stride loops around these bodies, and the host
// test (tests/cpp/test_ddpm_headers.cpp) runs the very same bodies on the CPU, so the index
// maths, timestep gather and Philox mapping are tested without a GPU.
// IO: a type with static `M load(const T*, int64_t)` and `void store(T*, int64_t, M)`.
#pragma once
#include <stdint.h>

#include "vision_ext/ddpm.h"
#include "vision_ext/macros.h"
#include "vision_ext/philox.h"

namespace vision_ext {

// Data shared by every op: samples are (batch, inner) row-major; t has t_count values.
struct DdpmSchedule {
  const double* table;  // alphas_cumprod
  int64_t table_len;
  const int64_t* t;
  const int64_t* t_prev;  // may be null (add_noise, training target)
  int64_t t_count;        // 1 (broadcast) or batch
  double final_alpha_cumprod;
};

struct AddNoiseParams {
  DdpmSchedule sched;
  const void* x0;
  const void* noise;
  void* out;       // x_t
  void* target;    // training target, or null for plain add_noise
  float* weights;  // min-SNR weights [batch], or null
  int64_t batch, inner;
  int prediction_type;
  double min_snr_gamma;
};

struct StepParams {
  DdpmSchedule sched;
  const void* model_output;  // batch stride mo_stride (2 * inner with learned variance)
  const void* sample;
  const void* noise;       // null: Philox(seed, offset)
  const float* threshold;  // null: plain clipping
  void* prev;
  void* x0;
  int64_t batch, inner, mo_stride;
  uint64_t seed, offset;
  int prediction_type, variance_type;
  double clip_range;
  bool ddim;         // DDIM update instead of the DDPM posterior
  double eta;        // DDIM only
  bool use_clipped;  // DDIM only
};

struct PlmsParams {
  DdpmSchedule sched;
  const void* sample;
  const void* outputs[4];
  double weights[4];  // double: fp64 samples must not see float-rounded 55/24, 59/24, ...
  int num_outputs;
  void* out;
  int64_t batch, inner;
  int prediction_type;
};

// Timestep of sample b (t_count == 1 broadcasts), clamped into [lo, hi]: a kernel cannot raise
// without a host sync, so out-of-range values (the CPU ops reject them) read the nearest entry.
VE_HD int64_t timestep_of(const int64_t* t, int64_t t_count, int64_t b, int64_t lo, int64_t hi) {
  const int64_t v = t[t_count == 1 ? 0 : b];
  return v < lo ? lo : (v > hi ? hi : v);
}

VE_HD int64_t t_of(const DdpmSchedule& s, int64_t b) { return timestep_of(s.t, s.t_count, b, 0, s.table_len - 1); }
VE_HD int64_t t_prev_of(const DdpmSchedule& s, int64_t b) {
  return timestep_of(s.t_prev, s.t_count, b, -1, s.table_len - 1);
}

// add_noise / training target: work items are the elements, and at least `batch` of them when
// the min-SNR weights are wanted (a (B, 0) sample still has B weights).
VE_HD int64_t add_noise_items(const AddNoiseParams& p) {
  const int64_t n = p.batch * p.inner;
  return p.weights && p.batch > n ? p.batch : n;
}

template <typename M, typename IO, typename T>
VE_HD void add_noise_item(const AddNoiseParams& p, int64_t i) {
  if (p.weights && i < p.batch)
    p.weights[i] = static_cast<float>(min_snr_weight(p.sched.table[t_of(p.sched, i)], p.min_snr_gamma,
                                                     p.prediction_type));
  if (i >= p.batch * p.inner) return;
  const int64_t b = i / p.inner;
  double a, s;
  q_sample_coeffs(p.sched.table[t_of(p.sched, b)], &a, &s);
  const M xv = IO::load(static_cast<const T*>(p.x0), i), nv = IO::load(static_cast<const T*>(p.noise), i);
  IO::store(static_cast<T*>(p.out), i, q_sample_value(M(a), M(s), xv, nv));
  if (p.target) {
    M tx, tn;
    target_coeffs(p.prediction_type, M(a), M(s), &tx, &tn);
    IO::store(static_cast<T*>(p.target), i, target_value(p.prediction_type, tx, tn, xv, nv));
  }
}

// DDPM / DDIM step over Philox block g: elements [4g, 4g + 4) clipped to the sample count, so
// element i takes normal i % 4 of block i / 4 (= philox_normal_at(seed, offset, i), as on the CPU).
// Coefficients (double maths) are computed once per sample the block touches, not per element.
template <typename M, typename IO, typename T>
VE_HD void step_group(const StepParams& p, int64_t g) {
  const int64_t n = p.batch * p.inner;
  const T* mo = static_cast<const T*>(p.model_output);
  const T* x = static_cast<const T*>(p.sample);
  const T* nz = static_cast<const T*>(p.noise);
  const bool learned = p.mo_stride != p.inner;
  const bool noisy = !p.ddim || p.eta > 0.0;  // deterministic DDIM ignores any noise
  Normal4 z4 = {{0.f, 0.f, 0.f, 0.f}};
  if (!nz && noisy) z4 = philox_normal4(p.seed, p.offset, static_cast<uint64_t>(g));
  int64_t cb = -1;  // the sample whose coefficients are loaded
  DdpmElem<M> dc{};
  DdimElem<M> ic{};
  M th = M(0);
  for (int k = 0; k < 4; ++k) {
    const int64_t i = 4 * g + k;
    if (i >= n) break;
    const int64_t b = i / p.inner, j = i - b * p.inner;
    if (b != cb) {
      cb = b;
      const int64_t t = t_of(p.sched, b), tp = t_prev_of(p.sched, b);
      const double fa = p.sched.final_alpha_cumprod;
      if (p.ddim) {
        ic = ddim_elem<M>(p.sched.table, t, tp, fa, p.eta, p.prediction_type);
      } else {
        dc = ddpm_elem<M>(p.sched.table, t, tp, fa, p.prediction_type, p.variance_type);
      }
      th = p.threshold ? M(p.threshold[b]) : M(0);
    }
    const M mv = IO::load(mo, b * p.mo_stride + j), xv = IO::load(x, i);
    const M z = !noisy ? M(0) : (nz ? IO::load(nz, i) : M(z4.v[k]));
    M out, x0;
    if (p.ddim) {
      ddim_element(ic, p.use_clipped, M(p.clip_range), th, mv, xv, z, &out, &x0);
    } else {  // learned variances: channels [C, 2C) of the sample's model output
      const M pv = learned ? IO::load(mo, b * p.mo_stride + p.inner + j) : M(0);
      ddpm_element(dc, p.variance_type, M(p.clip_range), th, mv, xv, z, pv, &out, &x0);
    }
    IO::store(static_cast<T*>(p.prev), i, out);
    IO::store(static_cast<T*>(p.x0), i, x0);
  }
}

template <typename M, typename IO, typename T>
VE_HD void plms_item(const PlmsParams& p, int64_t i) {
  const int64_t b = i / p.inner;
  const double* tab = p.sched.table;
  const double fa = p.sched.final_alpha_cumprod;
  const double ab = alpha_bar_at(tab, t_of(p.sched, b), fa), abp = alpha_bar_at(tab, t_prev_of(p.sched, b), fa);
  const PlmsElem<M> c = plms_elem<M>(plms_coeffs(ab, abp, p.prediction_type));
  const M xv = IO::load(static_cast<const T*>(p.sample), i);
  M e = M(0);
  for (int k = 0; k < p.num_outputs && k < 4; ++k)
    e = plms_accumulate(e, M(p.weights[k]), IO::load(static_cast<const T*>(p.outputs[k]), i));
  IO::store(static_cast<T*>(p.out), i, plms_prev_of(c, xv, e));
}

// philox_normal_like over Philox block g: elements [4g, 4g + 4) clipped to n.
template <typename IO, typename T>
VE_HD void philox_group(T* out, int64_t n, uint64_t seed, uint64_t offset, int64_t g) {
  const Normal4 z = philox_normal4(seed, offset, static_cast<uint64_t>(g));
  for (int k = 0; k < 4 && 4 * g + k < n; ++k) IO::store(out, 4 * g + k, z.v[k]);
}

}  // namespace vision_ext
