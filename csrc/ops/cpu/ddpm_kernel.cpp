// CPU backend of the DDPM family: the shared checks (../ddpm_common.h) -> per-sample coefficients
// (double, from the alphas_cumprod table, then the maths type) -> at::parallel_for over runs of
// elements of one sample, each handed to the active CPU level's kernel (simd/ddpm_simd.cpp), which
// applies the shared formulas of vision_ext/ddpm.h and draws Philox noise in-kernel. fp16/bf16 go
// through float buffers here; fp32 outputs of 4 MiB or more are written with streaming stores.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "../ddpm_common.h"
#include "simd/ddpm_simd.h"
#include "vision_ext/ddpm.h"

namespace vision_ext {
namespace ddpm_ops {
namespace {

using at::Tensor;
using cpu::ddpm_kernels;

constexpr int64_t kGrain = 16384;  // below this, one thread (waking others costs more)
constexpr int64_t kChunk = cpu::kDdpmNoiseChunk;  // fp16/bf16 elements converted per buffer
constexpr int64_t kStreamBytes = 4 << 20;  // outputs from this size on bypass the caches

// Timesteps as int64 per sample, range-checked (CPU tensors: checking costs nothing).
std::vector<int64_t> per_sample(const Tensor& t, int64_t batch, int64_t lo, int64_t hi, const char* name) {
  // int64 tensors are used as they are (each .to / .contiguous is a dispatcher round trip)
  const Tensor v = t.scalar_type() == at::kLong && t.is_contiguous() ? t : t.to(at::kLong).contiguous();
  const int64_t* p = v.data_ptr<int64_t>();
  std::vector<int64_t> out(batch);
  for (int64_t b = 0; b < batch; ++b) {
    out[b] = p[v.numel() == 1 ? 0 : b];
    TORCH_CHECK(out[b] >= lo && out[b] < hi, name, ": timestep ", out[b], " is out of range [", lo, ", ", hi,
                ") for a schedule of ", hi, " training timesteps");
  }
  return out;
}

Tensor table_f64(const Tensor& ac) {
  return ac.scalar_type() == at::kDouble && ac.is_contiguous() ? ac : ac.to(at::kDouble).contiguous();
}

// fn(b, first, n) over flat element ranges split at sample boundaries, across threads.
template <typename F>
void for_each_run(int64_t batch, int64_t inner, F fn) {
  at::parallel_for(0, batch * inner, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end;) {
      const int64_t b = i / inner;
      const int64_t stop = std::min(end, (b + 1) * inner);
      fn(b, i, stop - i);
      i = stop;
    }
  });
}

// The kernels' maths type of a data type: double for fp64, float otherwise.
template <typename S>
using MathOf = std::conditional_t<std::is_same_v<S, double>, double, float>;

template <typename S>
constexpr bool kDirect = std::is_same_v<S, float> || std::is_same_v<S, double>;

// fn(in, out, k0, len) over [0, n) in chunks, with NI inputs and NO outputs of a reduced-precision
// type S converted through float buffers (a null input stays null).
template <int NI, int NO, typename S, typename F>
void through_float(const S* const (&in)[NI], S* const (&out)[NO], int64_t n, F fn) {
  alignas(64) float ib[NI][kChunk];
  alignas(64) float ob[NO][kChunk];
  for (int64_t k0 = 0; k0 < n; k0 += kChunk) {
    const int64_t len = std::min(kChunk, n - k0);
    const float* fi[NI];
    float* fo[NO];
    for (int i = 0; i < NI; ++i) {
      fi[i] = in[i] ? ib[i] : nullptr;
      if (in[i])
        for (int64_t k = 0; k < len; ++k) ib[i][k] = static_cast<float>(in[i][k0 + k]);
    }
    for (int o = 0; o < NO; ++o) fo[o] = ob[o];
    fn(fi, fo, k0, len);
    for (int o = 0; o < NO; ++o)
      if (out[o])
        for (int64_t k = 0; k < len; ++k) out[o][k0 + k] = static_cast<S>(ob[o][k]);
  }
}

template <typename M>
void run_q_sample(const cpu::QSampleRun<M>& r) {
  if constexpr (std::is_same_v<M, double>) ddpm_kernels().q_sample_f64(r);
  else ddpm_kernels().q_sample_f32(r);
}
template <typename M>
void run_ddpm(const cpu::DdpmRun<M>& r) {
  if constexpr (std::is_same_v<M, double>) ddpm_kernels().ddpm_f64(r);
  else ddpm_kernels().ddpm_f32(r);
}
template <typename M>
void run_ddim(const cpu::DdimRun<M>& r) {
  if constexpr (std::is_same_v<M, double>) ddpm_kernels().ddim_f64(r);
  else ddpm_kernels().ddim_f32(r);
}
template <typename M>
void run_plms(const cpu::PlmsRun<M>& r) {
  if constexpr (std::is_same_v<M, double>) ddpm_kernels().plms_f64(r);
  else ddpm_kernels().plms_f32(r);
}

// The checked, contiguous inputs of q_sample (add_noise and the training target).
struct QSampleInputs {
  Tensor x, n, table;       // original, noise, alphas_cumprod in float64
  std::vector<int64_t> ts;  // per-sample timestep
  int64_t batch, inner;     // samples, elements per sample
};

QSampleInputs q_sample_inputs(const Tensor& x0, const Tensor& noise, const Tensor& t, const Tensor& ac) {
  const int64_t batch = check_q_sample_args(x0, noise, t, ac);
  return {x0.contiguous(), noise.contiguous(), table_f64(ac), per_sample(t, batch, 0, ac.numel(), "timesteps"), batch,
          inner_of(x0, batch)};
}

// x_t (and the target when `target` is defined) of every element; pred < 0: no target.
template <typename S>
void q_sample_all(const QSampleInputs& q, Tensor& xt, Tensor* target, int pred) {
  using M = MathOf<S>;
  std::vector<cpu::QSampleRun<M>> runs(q.batch);
  for (int64_t b = 0; b < q.batch; ++b) {
    double a, s;
    q_sample_coeffs(q.table.data_ptr<double>()[q.ts[b]], &a, &s);
    cpu::QSampleRun<M>& r = runs[b];
    r.a = M(a);
    r.s = M(s);
    r.prediction_type = pred < 0 ? int(kPredEpsilon) : pred;
    target_coeffs(r.prediction_type, r.a, r.s, &r.tx, &r.tn);
  }
  const S* px = q.x.data_ptr<S>();
  const S* pn = q.n.data_ptr<S>();
  S* po = xt.data_ptr<S>();
  S* pt = target ? target->data_ptr<S>() : nullptr;
  const bool stream = q.x.numel() * static_cast<int64_t>(sizeof(S)) >= kStreamBytes;
  for_each_run(q.batch, q.inner, [&](int64_t b, int64_t first, int64_t len) {
    cpu::QSampleRun<M> r = runs[b];
    if constexpr (kDirect<S>) {
      r.x = px + first;
      r.noise = pn + first;
      r.out = po + first;
      r.target = pt ? pt + first : nullptr;
      r.n = len;
      r.stream = stream;
      run_q_sample(r);
    } else {
      const S* const in[2] = {px + first, pn + first};
      S* const out[2] = {po + first, pt ? pt + first : nullptr};
      through_float(in, out, len, [&](const float* const* fi, float* const* fo, int64_t, int64_t n) {
        r.x = fi[0];
        r.noise = fi[1];
        r.out = fo[0];
        r.target = pt ? fo[1] : nullptr;
        r.n = n;
        r.stream = false;
        run_q_sample(r);
      });
    }
  });
}

// Shared set-up of the DDPM and DDIM steps.
struct StepInputs {
  Tensor x, m, noise, threshold, table;
  int64_t batch, inner, mo_stride;
  std::vector<int64_t> t, t_prev;
};

StepInputs step_inputs(const Tensor& mo, const Tensor& sample, const Tensor& t, const Tensor& tp, const Tensor& ac,
                       const c10::optional<Tensor>& noise, const c10::optional<Tensor>& threshold, int var) {
  const StepShape shape = check_step_args(mo, sample, t, tp, ac, noise, threshold, var);
  StepInputs s;
  s.x = sample.contiguous();
  s.m = mo.contiguous();
  s.noise = noise ? noise->contiguous() : Tensor();
  s.threshold = threshold ? threshold->contiguous() : Tensor();
  s.table = table_f64(ac);
  s.batch = shape.batch;
  s.inner = shape.inner;
  s.mo_stride = shape.mo_stride;
  s.t = per_sample(t, s.batch, 0, ac.numel(), "timestep");
  s.t_prev = per_sample(tp, s.batch, -1, ac.numel(), "prev_timestep");
  return s;
}

// One run of a DDPM / DDIM step (R = DdpmRun or DdimRun of M, with its coefficients and options set):
// fills the pointers of elements [first, first + len) of sample b and calls the kernel. Model output
// element k of sample b sits at b * mo_stride + k (its predicted variance `inner` later).
template <typename S, typename R, typename Call>
void step_run(const StepInputs& s, R r, int64_t b, int64_t first, int64_t len, const S* pm, const S* px,
              const S* pz, S* pp, S* p0, bool learned, uint64_t seed, uint64_t offset, bool stream, Call call) {
  const S* mb = pm + b * s.mo_stride + (first - b * s.inner);
  r.noise.seed = seed;
  r.noise.offset = offset;
  if constexpr (kDirect<S>) {
    r.m = mb;
    if constexpr (std::is_same_v<R, cpu::DdpmRun<MathOf<S>>>) {
      r.pv = learned ? mb + s.inner : nullptr;
      r.stream = stream;
    }
    r.x = px + first;
    r.noise.z = pz ? pz + first : nullptr;
    r.first = first;
    r.n = len;
    r.prev = pp + first;
    r.x0 = p0 + first;
    call(r);
  } else {
    const S* const in[4] = {mb, learned ? mb + s.inner : nullptr, px + first, pz ? pz + first : nullptr};
    S* const out[2] = {pp + first, p0 + first};
    through_float(in, out, len, [&](const float* const* fi, float* const* fo, int64_t k0, int64_t n) {
      r.m = fi[0];
      if constexpr (std::is_same_v<R, cpu::DdpmRun<float>>) {
        r.pv = fi[1];
        r.stream = false;
      }
      r.x = fi[2];
      r.noise.z = fi[3];
      r.first = first + k0;
      r.n = n;
      r.prev = fo[0];
      r.x0 = fo[1];
      call(r);
    });
  }
}

// PLMS over every element: runs[b] holds sample b's coefficients and history weights.
template <typename S>
void plms_all(const std::vector<cpu::PlmsRun<MathOf<S>>>& runs, int64_t inner, const S* px, const S* const* pe,
              S* po) {
  const int count = runs.empty() ? 0 : runs[0].count;
  for_each_run(static_cast<int64_t>(runs.size()), inner, [&](int64_t b, int64_t first, int64_t len) {
    cpu::PlmsRun<MathOf<S>> r = runs[b];
    if constexpr (kDirect<S>) {
      r.x = px + first;
      for (int k = 0; k < count; ++k) r.e[k] = pe[k] + first;
      r.out = po + first;
      r.n = len;
      run_plms(r);
    } else {
      const S* const in[5] = {px + first, pe[0] + first, pe[1] ? pe[1] + first : nullptr,
                              pe[2] ? pe[2] + first : nullptr, pe[3] ? pe[3] + first : nullptr};
      S* const out[1] = {po + first};
      through_float(in, out, len, [&](const float* const* fi, float* const* fo, int64_t, int64_t n) {
        r.x = fi[0];
        for (int k = 0; k < count; ++k) r.e[k] = fi[1 + k];
        r.out = fo[0];
        r.n = n;
        run_plms(r);
      });
    }
  });
}

// The Philox(seed, offset) normals of flat indices [0, numel) into po (fp32 directly, others
// converted from a float buffer).
template <typename S>
void normals_into(S* po, int64_t numel, uint64_t seed, uint64_t offset) {
  at::parallel_for(0, numel, kGrain, [&](int64_t begin, int64_t end) {
    if constexpr (std::is_same_v<S, float>) {
      ddpm_kernels().philox_normals(seed, offset, static_cast<uint64_t>(begin), end - begin, po + begin);
    } else {
      alignas(64) float buf[kChunk];
      for (int64_t i = begin; i < end; i += kChunk) {
        const int64_t len = std::min(kChunk, end - i);
        ddpm_kernels().philox_normals(seed, offset, static_cast<uint64_t>(i), len, buf);
        for (int64_t k = 0; k < len; ++k) po[i + k] = static_cast<S>(buf[k]);
      }
    }
  });
}

struct Cpu {
  static Tensor add_noise(const Tensor& x0, const Tensor& noise, const Tensor& t, const Tensor& ac) {
    const QSampleInputs q = q_sample_inputs(x0, noise, t, ac);
    Tensor out = at::empty_like(q.x);
    if (q.x.numel() == 0) return out;
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, q.x.scalar_type(), "add_noise_cpu",
                                    [&] { q_sample_all<scalar_t>(q, out, nullptr, -1); });
    return out;
  }

  static std::tuple<Tensor, Tensor, Tensor> training_target(const Tensor& x0, const Tensor& noise, const Tensor& t,
                                                            const Tensor& ac, c10::string_view pred_name,
                                                            double gamma) {
    const int pred = parse_prediction_type(std::string(pred_name));
    const QSampleInputs q = q_sample_inputs(x0, noise, t, ac);
    Tensor xt = at::empty_like(q.x), target = at::empty_like(q.x);
    Tensor weights = at::empty({q.batch}, q.x.options().dtype(at::kFloat));
    for (int64_t b = 0; b < q.batch; ++b)
      weights.data_ptr<float>()[b] =
          static_cast<float>(min_snr_weight(q.table.data_ptr<double>()[q.ts[b]], gamma, pred));
    if (q.x.numel() == 0) return {xt, target, weights};
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, q.x.scalar_type(), "ddpm_training_target_cpu",
                                    [&] { q_sample_all<scalar_t>(q, xt, &target, pred); });
    return {xt, target, weights};
  }

  static std::tuple<Tensor, Tensor> ddpm_step(const Tensor& mo, const Tensor& sample, const Tensor& t,
                                              const Tensor& tp, const Tensor& ac, const c10::optional<Tensor>& noise,
                                              const c10::optional<Tensor>& threshold, int64_t seed, int64_t offset,
                                              c10::string_view pred_name, c10::string_view var_name,
                                              double clip_range, double final_ab) {
    const int pred = parse_prediction_type(std::string(pred_name));
    const int var = parse_variance_type(std::string(var_name));
    const StepInputs s = step_inputs(mo, sample, t, tp, ac, noise, threshold, var);
    Tensor prev = at::empty_like(s.x), x0 = at::empty_like(s.x);
    if (s.x.numel() == 0) return {prev, x0};
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, s.x.scalar_type(), "ddpm_step_cpu", [&] {
      using M = MathOf<scalar_t>;
      const double* tab = s.table.data_ptr<double>();
      const float* pth = s.threshold.defined() ? s.threshold.data_ptr<float>() : nullptr;
      std::vector<cpu::DdpmRun<M>> runs(s.batch);
      for (int64_t b = 0; b < s.batch; ++b) {
        runs[b] = cpu::DdpmRun<M>{};
        runs[b].c = ddpm_elem<M>(tab, s.t[b], s.t_prev[b], final_ab, pred, var);
        runs[b].variance_type = var;
        runs[b].clip = M(clip_range);
        runs[b].thresh = pth ? M(pth[b]) : M(0);
      }
      const bool stream = s.x.numel() * static_cast<int64_t>(sizeof(scalar_t)) >= kStreamBytes;
      const scalar_t* pz = s.noise.defined() ? s.noise.data_ptr<scalar_t>() : nullptr;
      for_each_run(s.batch, s.inner, [&](int64_t b, int64_t first, int64_t len) {
        step_run<scalar_t>(s, runs[b], b, first, len, s.m.data_ptr<scalar_t>(), s.x.data_ptr<scalar_t>(), pz,
                           prev.data_ptr<scalar_t>(), x0.data_ptr<scalar_t>(), s.mo_stride != s.inner,
                           static_cast<uint64_t>(seed), static_cast<uint64_t>(offset), stream,
                           [](const auto& r) { run_ddpm(r); });
      });
    });
    return {prev, x0};
  }

  static std::tuple<Tensor, Tensor> ddim_step(const Tensor& mo, const Tensor& sample, const Tensor& t,
                                              const Tensor& tp, const Tensor& ac, const c10::optional<Tensor>& noise,
                                              const c10::optional<Tensor>& threshold, int64_t seed, int64_t offset,
                                              double eta, bool use_clipped, c10::string_view pred_name,
                                              double clip_range, double final_ab) {
    const int pred = parse_prediction_type(std::string(pred_name));
    check_eta(eta);
    const StepInputs s = step_inputs(mo, sample, t, tp, ac, noise, threshold, kVarFixedSmall);
    Tensor prev = at::empty_like(s.x), x0 = at::empty_like(s.x);
    if (s.x.numel() == 0) return {prev, x0};
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, s.x.scalar_type(), "ddim_step_cpu", [&] {
      using M = MathOf<scalar_t>;
      const double* tab = s.table.data_ptr<double>();
      const float* pth = s.threshold.defined() ? s.threshold.data_ptr<float>() : nullptr;
      std::vector<cpu::DdimRun<M>> runs(s.batch);
      for (int64_t b = 0; b < s.batch; ++b) {
        runs[b] = cpu::DdimRun<M>{};
        runs[b].c = ddim_elem<M>(tab, s.t[b], s.t_prev[b], final_ab, eta, pred);
        runs[b].use_clipped = use_clipped;
        runs[b].noisy = eta > 0.0;  // deterministic DDIM ignores a given noise tensor, as diffusers does
        runs[b].clip = M(clip_range);
        runs[b].thresh = pth ? M(pth[b]) : M(0);
      }
      const scalar_t* pz = s.noise.defined() ? s.noise.data_ptr<scalar_t>() : nullptr;
      for_each_run(s.batch, s.inner, [&](int64_t b, int64_t first, int64_t len) {
        step_run<scalar_t>(s, runs[b], b, first, len, s.m.data_ptr<scalar_t>(), s.x.data_ptr<scalar_t>(), pz,
                           prev.data_ptr<scalar_t>(), x0.data_ptr<scalar_t>(), false, static_cast<uint64_t>(seed),
                           static_cast<uint64_t>(offset), false, [](const auto& r) { run_ddim(r); });
      });
    });
    return {prev, x0};
  }

  static Tensor plms_step(const Tensor& sample, at::TensorList outputs, at::ArrayRef<double> weights,
                          const Tensor& t, const Tensor& tp, const Tensor& ac, c10::string_view pred_name,
                          double final_ab) {
    const int pred = parse_prediction_type(std::string(pred_name), /*allow_sample=*/false);
    const int64_t batch = check_plms_args(sample, outputs, weights, t, tp, ac);
    const Tensor table = table_f64(ac);
    const auto ts = per_sample(t, batch, 0, ac.numel(), "timestep");
    const auto tps = per_sample(tp, batch, -1, ac.numel(), "prev_timestep");
    const Tensor x = sample.contiguous();
    std::vector<Tensor> es;
    for (const Tensor& o : outputs) es.push_back(o.contiguous());
    Tensor out = at::empty_like(x);
    const int64_t inner = inner_of(x, batch);
    if (x.numel() == 0) return out;
    const int count = static_cast<int>(es.size());
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "plms_step_cpu", [&] {
      using M = MathOf<scalar_t>;
      const double* tab = table.data_ptr<double>();
      std::vector<cpu::PlmsRun<M>> runs(batch);
      for (int64_t b = 0; b < batch; ++b) {
        runs[b] = cpu::PlmsRun<M>{};
        runs[b].c = plms_elem<M>(
            plms_coeffs(alpha_bar_at(tab, ts[b], final_ab), alpha_bar_at(tab, tps[b], final_ab), pred));
        runs[b].count = count;
        for (int k = 0; k < count; ++k) runs[b].w[k] = M(weights[k]);
      }
      const scalar_t* pe[4] = {nullptr, nullptr, nullptr, nullptr};
      for (int k = 0; k < count; ++k) pe[k] = es[k].data_ptr<scalar_t>();
      plms_all(runs, inner, x.data_ptr<scalar_t>(), pe, out.data_ptr<scalar_t>());
    });
    return out;
  }

  static Tensor philox_normal_like(const Tensor& input, int64_t seed, int64_t offset) {
    check_float(input, "input");
    Tensor out = at::empty(input.sizes(), input.options().memory_format(at::MemoryFormat::Contiguous));
    const int64_t numel = out.numel();
    if (numel == 0) return out;
    const uint64_t sd = static_cast<uint64_t>(seed), off = static_cast<uint64_t>(offset);
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, out.scalar_type(), "philox_normal_like_cpu", [&] {
      normals_into(out.data_ptr<scalar_t>(), numel, sd, off);
    });
    return out;
  }
};

}  // namespace
}  // namespace ddpm_ops

TORCH_LIBRARY_IMPL(vision_ext, CPU, m) { ddpm_ops::register_ddpm_ops<ddpm_ops::Cpu>(m); }

}  // namespace vision_ext
