// CPU kernels of the DDPM family: checks -> per-sample coefficients (double, from the
// alphas_cumprod table) -> one at::parallel_for pass over the elements calling the
// shared maths in vision_ext/ddpm.h. Noise comes from a tensor or from Philox, drawn per
// 1024-element chunk into an L1-resident buffer by the AVX-512 generator of philox_cpu.h.
// fp32 outputs of 4 MiB or more are written with streaming stores.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <math.h>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "../ddpm_common.h"
#include "philox_cpu.h"
#include "vision_ext/ddpm.h"
#include "vision_ext/philox.h"

namespace vision_ext {
namespace {

using at::Tensor;
using namespace ddpm_ops;

constexpr int64_t kChunk = 1024;  // elements per noise buffer (a multiple of the generator's 128)
constexpr int64_t kGrain = 16384; // below this, one thread (waking others costs more)

// Asks for n elements at p to be brought into the cache: issued before a chunk's noise is generated, the
// loads of the step's inputs overlap that compute instead of following it.
template <typename T>
inline void prefetch_run(const T* p, int64_t n) {
  const char* c = reinterpret_cast<const char*>(p);
  for (int64_t b = 0; b < n * static_cast<int64_t>(sizeof(T)); b += 64) __builtin_prefetch(c + b, 0, 3);
}

// Normals of flat indices [first, first + n) (n <= kChunk) into buf.
const float* fill_philox(float* buf, uint64_t seed, uint64_t offset, int64_t first, int64_t n) {
  philox_cpu::normals(seed, offset, static_cast<uint64_t>(first), n, buf);
  return buf;
}

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

// Loop over flat element ranges split at sample boundaries and into runs of at most `chunk` elements (the
// noise buffer's size; kWhole where no buffer is involved): fn(b, first, n).
constexpr int64_t kWhole = INT64_MAX;

template <typename F>
void for_each_run(int64_t batch, int64_t inner, int64_t chunk, F fn) {
  at::parallel_for(0, batch * inner, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end;) {
      const int64_t b = i / inner;
      const int64_t stop = std::min(end, (b + 1) * inner);
      for (int64_t j = i; j < stop; j += std::min(chunk, stop - j)) fn(b, j, std::min(chunk, stop - j));
      i = stop;
    }
  });
}

// q_sample over n floats: po = a * px + s * pn. With `stream`, non-temporal stores: an output far larger than
// the caches is not read back soon, and skipping its read-for-ownership saves a quarter of the traffic.
void q_sample_f32(float a, float s, const float* __restrict px, const float* __restrict pn, float* __restrict po,
                  int64_t n, bool stream) {
  int64_t k = 0;
#if defined(__AVX512F__)
  if (stream) {
    for (; k < n && (reinterpret_cast<uintptr_t>(po + k) & 63); ++k) po[k] = std::fma(a, px[k], s * pn[k]);
    const __m512 va = _mm512_set1_ps(a), vs = _mm512_set1_ps(s);
    for (; k + 16 <= n; k += 16)
      _mm512_stream_ps(po + k,
                       _mm512_fmadd_ps(va, _mm512_loadu_ps(px + k), _mm512_mul_ps(vs, _mm512_loadu_ps(pn + k))));
    _mm_sfence();  // streaming stores are weakly ordered: publish them before the threads join
  }
#endif
#pragma omp simd
  for (int64_t j = k; j < n; ++j) po[j] = std::fma(a, px[j], s * pn[j]);
}

constexpr int64_t kStreamBytes = 4 << 20;  // outputs from this size on bypass the caches

// The checked, contiguous inputs of q_sample (add_noise and the training target).
struct QSampleInputs {
  Tensor x, n, table;           // original, noise, alphas_cumprod in float64
  std::vector<int64_t> ts;      // per-sample timestep
  int64_t batch, inner;         // samples, elements per sample
};

QSampleInputs q_sample_inputs(const Tensor& x0, const Tensor& noise, const Tensor& t, const Tensor& ac) {
  const int64_t batch = check_q_sample_args(x0, noise, t, ac);
  return {x0.contiguous(), noise.contiguous(), table_f64(ac), per_sample(t, batch, 0, ac.numel(), "timesteps"), batch,
          inner_of(x0, batch)};
}

Tensor add_noise_cpu(const Tensor& x0, const Tensor& noise, const Tensor& t, const Tensor& ac) {
  const auto [x, n, table, ts, batch, inner] = q_sample_inputs(x0, noise, t, ac);
  Tensor out = at::empty_like(x);
  if (x.numel() == 0) return out;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "add_noise_cpu", [&] {
    using M = at::opmath_type<scalar_t>;
    std::vector<M> ca(batch), cb(batch);
    for (int64_t b = 0; b < batch; ++b) {
      double a, s;
      q_sample_coeffs(table.data_ptr<double>()[ts[b]], &a, &s);
      ca[b] = M(a);
      cb[b] = M(s);
    }
    const scalar_t* px = x.data_ptr<scalar_t>();
    const scalar_t* pn = n.data_ptr<scalar_t>();
    scalar_t* po = out.data_ptr<scalar_t>();
    const bool stream = x.numel() * static_cast<int64_t>(sizeof(scalar_t)) >= kStreamBytes;
    for_each_run(batch, inner, kWhole, [&](int64_t b, int64_t first, int64_t len) {
      const M a = ca[b], s = cb[b];
      if (std::is_same_v<scalar_t, float>) {
        q_sample_f32(a, s, reinterpret_cast<const float*>(px) + first, reinterpret_cast<const float*>(pn) + first,
                     reinterpret_cast<float*>(po) + first, len, stream);
        return;
      }
      _Pragma("omp simd")
      for (int64_t k = first; k < first + len; ++k)
        po[k] = static_cast<scalar_t>(a * static_cast<M>(px[k]) + s * static_cast<M>(pn[k]));
    });
  });
  return out;
}

std::tuple<Tensor, Tensor, Tensor> training_target_cpu(const Tensor& x0, const Tensor& noise, const Tensor& t,
                                                       const Tensor& ac, c10::string_view pred_name, double gamma) {
  const int pred = parse_prediction_type(std::string(pred_name));
  const auto [x, n, table, ts, batch, inner] = q_sample_inputs(x0, noise, t, ac);
  Tensor xt = at::empty_like(x), target = at::empty_like(x);
  Tensor weights = at::empty({batch}, x.options().dtype(at::kFloat));
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "ddpm_training_target_cpu", [&] {
    using M = at::opmath_type<scalar_t>;
    std::vector<M> ca(batch), cb(batch);
    for (int64_t b = 0; b < batch; ++b) {
      const double ab = table.data_ptr<double>()[ts[b]];
      double a, s;
      q_sample_coeffs(ab, &a, &s);
      ca[b] = M(a);
      cb[b] = M(s);
      weights.data_ptr<float>()[b] = static_cast<float>(min_snr_weight(ab, gamma, pred));
    }
    if (x.numel() == 0) return;
    const scalar_t* px = x.data_ptr<scalar_t>();
    const scalar_t* pn = n.data_ptr<scalar_t>();
    scalar_t* pxt = xt.data_ptr<scalar_t>();
    scalar_t* ptg = target.data_ptr<scalar_t>();
    for_each_run(batch, inner, kWhole, [&](int64_t b, int64_t first, int64_t len) {
      const M a = ca[b], s = cb[b];
      // target = tx * x0 + tn * noise: epsilon (0, 1), sample (1, 0), v (-s, a)
      const M tx = pred == kPredEpsilon ? M(0) : (pred == kPredSample ? M(1) : -s);
      const M tn = pred == kPredEpsilon ? M(1) : (pred == kPredSample ? M(0) : a);
      _Pragma("omp simd")
      for (int64_t k = first; k < first + len; ++k) {
        const M xv = static_cast<M>(px[k]), nv = static_cast<M>(pn[k]);
        pxt[k] = static_cast<scalar_t>(a * xv + s * nv);
        ptg[k] = static_cast<scalar_t>(tx * xv + tn * nv);
      }
    });
  });
  return {xt, target, weights};
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

// The data pointers of a DDPM / DDIM step (noise and threshold null when not given).
template <typename scalar_t>
struct StepPtrs {
  const scalar_t *x, *m, *z;
  const float* th;
  scalar_t *prev, *x0;
};

template <typename scalar_t>
StepPtrs<scalar_t> step_ptrs(const StepInputs& s, Tensor& prev, Tensor& x0) {
  return {s.x.data_ptr<scalar_t>(), s.m.data_ptr<scalar_t>(),
          s.noise.defined() ? s.noise.data_ptr<scalar_t>() : nullptr,
          s.threshold.defined() ? s.threshold.data_ptr<float>() : nullptr, prev.data_ptr<scalar_t>(),
          x0.data_ptr<scalar_t>()};
}

// How one run of elements draws its noise and limits x0; chosen once per run, outside the loop.
enum class NoiseSrc { kNone, kTensor, kPhilox };
enum class Limit { kNone, kClip, kThresh };

// limit_x0 (vision_ext/ddpm.h) with the choice made at compile time, so a run's loop has no branch.
template <Limit LIM, typename M>
inline M limit_fixed(M x0, M clip, M th) {
  if constexpr (LIM == Limit::kThresh) {
    x0 = x0 < -th ? -th : (x0 > th ? th : x0);
    return x0 / th;
  } else if constexpr (LIM == Limit::kClip) {
    return x0 < -clip ? -clip : (x0 > clip ? clip : x0);
  } else {
    return x0;
  }
}

// Calls f(std::integral_constant<Limit, L>{}) with the limit a run needs: thresholding, clipping or none.
template <typename M, typename F>
inline void with_limit(M clip, M th, F f) {
  if (th > M(0)) {
    f(std::integral_constant<Limit, Limit::kThresh>{});
  } else if (clip > M(0)) {
    f(std::integral_constant<Limit, Limit::kClip>{});
  } else {
    f(std::integral_constant<Limit, Limit::kNone>{});
  }
}

// DDPM elements [0, n) of one sample with a fixed variance: the maths of ddpm_element (shared header)
// with every per-call switch resolved at compile time, so the loop is branch-free and vectorises.
template <NoiseSrc NZ, Limit LIM, typename scalar_t, typename M, typename Z>
void ddpm_run_fixed(const DdpmElem<M>& c, M clip, M th, const scalar_t* __restrict pm, const scalar_t* __restrict px,
                    const Z* __restrict pz, scalar_t* __restrict pp, scalar_t* __restrict p0, int64_t n) {
  const M cx = c.cx, cm = c.cm, c_x0 = c.c_x0, c_xt = c.c_xt, sigma = c.std_fixed;
#pragma omp simd
  for (int64_t k = 0; k < n; ++k) {
    const M x = static_cast<M>(px[k]);
    const M x0 = limit_fixed<LIM>(std::fma(cx, x, cm * static_cast<M>(pm[k])), clip, th);
    M out = std::fma(c_x0, x0, c_xt * x);
    if (NZ != NoiseSrc::kNone) out = std::fma(sigma, static_cast<M>(pz[k]), out);
    pp[k] = static_cast<scalar_t>(out);
    p0[k] = static_cast<scalar_t>(x0);
  }
}

#if defined(__AVX512F__)
// ddpm_run_fixed for fp32 with non-temporal stores of both outputs (see q_sample_f32): the same operations
// in the same order, so the same bits; a scalar head aligns the stores to 64 bytes. (The multiply-adds are
// explicit fmas on both paths: GCC would otherwise contract the plain loop's a*b + c*d its own way.)
template <NoiseSrc NZ, Limit LIM>
void ddpm_run_fixed_stream(const DdpmElem<float>& c, float clip, float th, const float* __restrict pm,
                           const float* __restrict px, const float* __restrict pz, float* __restrict pp,
                           float* __restrict p0, int64_t n) {
  int64_t k = 0;
  while (k < n && (reinterpret_cast<uintptr_t>(pp + k) & 63)) ++k;
  ddpm_run_fixed<NZ, LIM>(c, clip, th, pm, px, pz, pp, p0, k);
  const __m512 cx = _mm512_set1_ps(c.cx), cm = _mm512_set1_ps(c.cm), c_x0 = _mm512_set1_ps(c.c_x0);
  const __m512 c_xt = _mm512_set1_ps(c.c_xt), sigma = _mm512_set1_ps(c.std_fixed);
  const float lim = LIM == Limit::kThresh ? th : clip;
  const __m512 hi = _mm512_set1_ps(lim), lo = _mm512_set1_ps(-lim);
  for (; k + 16 <= n; k += 16) {
    const __m512 x = _mm512_loadu_ps(px + k);
    __m512 x0 = _mm512_fmadd_ps(cx, x, _mm512_mul_ps(cm, _mm512_loadu_ps(pm + k)));
    if (LIM != Limit::kNone) {  // x0 < -lim ? -lim : (x0 > lim ? lim : x0), NaN kept
      x0 = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x0, hi, _CMP_GT_OQ), x0, hi);
      x0 = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x0, lo, _CMP_LT_OQ), x0, lo);
      if (LIM == Limit::kThresh) x0 = _mm512_div_ps(x0, hi);
    }
    __m512 out = _mm512_fmadd_ps(c_x0, x0, _mm512_mul_ps(c_xt, x));
    if (NZ != NoiseSrc::kNone) out = _mm512_fmadd_ps(sigma, _mm512_loadu_ps(pz + k), out);
    _mm512_stream_ps(pp + k, out);
    _mm512_stream_ps(p0 + k, x0);
  }
  _mm_sfence();
  ddpm_run_fixed<NZ, LIM>(c, clip, th, pm + k, px + k, pz ? pz + k : pz, pp + k, p0 + k, n - k);
}
#endif

// Picks the x0 limit (and, for large fp32 outputs, streaming stores) once per run.
template <NoiseSrc NZ, typename scalar_t, typename M, typename Z>
void ddpm_run_fixed_limit(const DdpmElem<M>& c, M clip, M th, const scalar_t* pm, const scalar_t* px, const Z* pz,
                          scalar_t* pp, scalar_t* p0, int64_t n, bool stream) {
  with_limit(clip, th, [&](auto lim) {
    constexpr Limit LIM = decltype(lim)::value;
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<scalar_t, float> && std::is_same_v<Z, float>) {
      if (stream) {
        ddpm_run_fixed_stream<NZ, LIM>(c, clip, th, pm, px, pz, pp, p0, n);
        return;
      }
    }
#endif
    ddpm_run_fixed<NZ, LIM>(c, clip, th, pm, px, pz, pp, p0, n);
  });
}

std::tuple<Tensor, Tensor> ddpm_step_cpu(const Tensor& mo, const Tensor& sample, const Tensor& t, const Tensor& tp,
                                         const Tensor& ac, const c10::optional<Tensor>& noise,
                                         const c10::optional<Tensor>& threshold, int64_t seed, int64_t offset,
                                         c10::string_view pred_name, c10::string_view var_name, double clip_range,
                                         double final_ab) {
  const int pred = parse_prediction_type(std::string(pred_name));
  const int var = parse_variance_type(std::string(var_name));
  const StepInputs s = step_inputs(mo, sample, t, tp, ac, noise, threshold, var);
  Tensor prev = at::empty_like(s.x), x0 = at::empty_like(s.x);
  if (s.x.numel() == 0) return {prev, x0};
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, s.x.scalar_type(), "ddpm_step_cpu", [&] {
    using M = at::opmath_type<scalar_t>;
    const double* tab = s.table.data_ptr<double>();
    std::vector<DdpmElem<M>> coeffs(s.batch);
    for (int64_t b = 0; b < s.batch; ++b) coeffs[b] = ddpm_elem<M>(tab, s.t[b], s.t_prev[b], final_ab, pred, var);
    const auto [px, pm, pz, pth, pp, p0] = step_ptrs<scalar_t>(s, prev, x0);
    const bool learned = s.mo_stride != s.inner;
    const M clip = M(clip_range);
    const bool stream = s.x.numel() * static_cast<int64_t>(sizeof(scalar_t)) >= kStreamBytes;
    const int64_t chunk = pz ? kWhole : kChunk;  // Philox noise goes through the chunk-sized buffer
    for_each_run(s.batch, s.inner, chunk, [&](int64_t b, int64_t first, int64_t len) {
      const DdpmElem<M>& c = coeffs[b];
      const M th = pth ? M(pth[b]) : M(0);
      alignas(64) float buf[kChunk];
      const bool philox = c.noisy && !pz;
      const scalar_t* mb = pm + b * s.mo_stride - b * s.inner;  // model output of element k: mb[k]
      if (philox) {
        prefetch_run(mb + first, len);
        prefetch_run(px + first, len);
      }
      const float* zb = philox ? fill_philox(buf, seed, offset, first, len) : nullptr;
      if (var != kVarLearned && var != kVarLearnedRange) {
        if (!c.noisy) {
          ddpm_run_fixed_limit<NoiseSrc::kNone>(c, clip, th, mb + first, px + first, pz, pp + first, p0 + first, len,
                                                stream);
        } else if (pz) {
          ddpm_run_fixed_limit<NoiseSrc::kTensor>(c, clip, th, mb + first, px + first, pz + first, pp + first,
                                                  p0 + first, len, stream);
        } else {
          ddpm_run_fixed_limit<NoiseSrc::kPhilox>(c, clip, th, mb + first, px + first, zb, pp + first, p0 + first,
                                                  len, stream);
        }
        return;
      }
      // Learned variances: sqrt / exp per element, through the shared element maths.
      const int64_t vo = s.inner;
      for (int64_t k = 0; k < len; ++k) {
        const int64_t i = first + k;
        const M z = pz ? static_cast<M>(pz[i]) : (philox ? M(zb[k]) : M(0));
        const M pv = learned ? static_cast<M>(mb[i + vo]) : M(0);
        M out, xz;
        ddpm_element(c, var, clip, th, static_cast<M>(mb[i]), static_cast<M>(px[i]), z, pv, &out, &xz);
        pp[i] = static_cast<scalar_t>(out);
        p0[i] = static_cast<scalar_t>(xz);
      }
    });
  });
  return {prev, x0};
}

// DDIM elements [0, n) of one sample: the maths of ddim_element (shared header) with the noise source
// and x0 limit resolved at compile time, so the loop is branch-free and vectorises.
template <NoiseSrc NZ, Limit LIM, typename scalar_t, typename M, typename Z>
void ddim_run(const DdimElem<M>& c, bool use_clipped, M clip, M th, const scalar_t* __restrict pm,
              const scalar_t* __restrict px, const Z* __restrict pz, scalar_t* __restrict pp, scalar_t* __restrict p0,
              int64_t n) {
  const M cx = c.cx, cm = c.cm, ex = c.ex, em = c.em, sab = c.sqrt_ab, inv = c.inv_sqrt_1mab;
  const M c_x0 = c.c_x0, c_dir = c.c_dir, sigma = c.sigma;
#pragma omp simd
  for (int64_t k = 0; k < n; ++k) {
    const M x = static_cast<M>(px[k]), m = static_cast<M>(pm[k]);
    const M x0 = limit_fixed<LIM>(cx * x + cm * m, clip, th);
    M eps = ex * x + em * m;
    eps = use_clipped ? (x - sab * x0) * inv : eps;
    const M z = NZ == NoiseSrc::kNone ? M(0) : static_cast<M>(pz[k]);
    pp[k] = static_cast<scalar_t>(c_x0 * x0 + c_dir * eps + sigma * z);
    p0[k] = static_cast<scalar_t>(x0);
  }
}

template <NoiseSrc NZ, typename scalar_t, typename M, typename Z>
void ddim_run_limit(const DdimElem<M>& c, bool use_clipped, M clip, M th, const scalar_t* pm, const scalar_t* px,
                    const Z* pz, scalar_t* pp, scalar_t* p0, int64_t n) {
  with_limit(clip, th, [&](auto lim) {
    ddim_run<NZ, decltype(lim)::value>(c, use_clipped, clip, th, pm, px, pz, pp, p0, n);
  });
}

std::tuple<Tensor, Tensor> ddim_step_cpu(const Tensor& mo, const Tensor& sample, const Tensor& t, const Tensor& tp,
                                         const Tensor& ac, const c10::optional<Tensor>& noise,
                                         const c10::optional<Tensor>& threshold, int64_t seed, int64_t offset,
                                         double eta, bool use_clipped, c10::string_view pred_name, double clip_range,
                                         double final_ab) {
  const int pred = parse_prediction_type(std::string(pred_name));
  check_eta(eta);
  const StepInputs s = step_inputs(mo, sample, t, tp, ac, noise, threshold, kVarFixedSmall);
  Tensor prev = at::empty_like(s.x), x0 = at::empty_like(s.x);
  if (s.x.numel() == 0) return {prev, x0};
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, s.x.scalar_type(), "ddim_step_cpu", [&] {
    using M = at::opmath_type<scalar_t>;
    const double* tab = s.table.data_ptr<double>();
    std::vector<DdimElem<M>> coeffs(s.batch);
    for (int64_t b = 0; b < s.batch; ++b) coeffs[b] = ddim_elem<M>(tab, s.t[b], s.t_prev[b], final_ab, eta, pred);
    const auto [px, pm, pz, pth, pp, p0] = step_ptrs<scalar_t>(s, prev, x0);
    const int64_t chunk = eta > 0.0 && !pz ? kChunk : kWhole;  // Philox noise goes through the buffer
    for_each_run(s.batch, s.inner, chunk, [&](int64_t b, int64_t first, int64_t len) {
      const DdimElem<M> c = coeffs[b];
      const M th = pth ? M(pth[b]) : M(0), clip = M(clip_range);
      const int64_t f = first;
      if (eta == 0.0) {  // deterministic: no noise at all (a given noise tensor is ignored, as in diffusers)
        ddim_run_limit<NoiseSrc::kNone>(c, use_clipped, clip, th, pm + f, px + f, pz, pp + f, p0 + f, len);
      } else if (pz) {
        ddim_run_limit<NoiseSrc::kTensor>(c, use_clipped, clip, th, pm + f, px + f, pz + f, pp + f, p0 + f, len);
      } else {
        alignas(64) float buf[kChunk];
        fill_philox(buf, seed, offset, first, len);
        ddim_run_limit<NoiseSrc::kPhilox>(c, use_clipped, clip, th, pm + f, px + f, static_cast<const float*>(buf),
                                          pp + f, p0 + f, len);
      }
    });
  });
  return {prev, x0};
}

Tensor plms_step_cpu(const Tensor& sample, at::TensorList outputs, at::ArrayRef<double> weights, const Tensor& t,
                     const Tensor& tp, const Tensor& ac, c10::string_view pred_name, double final_ab) {
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
  const int n = static_cast<int>(es.size());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "plms_step_cpu", [&] {
    using M = at::opmath_type<scalar_t>;
    std::vector<PlmsCoeffs> coeffs;
    for (int64_t b = 0; b < batch; ++b) {
      const double* tab = table.data_ptr<double>();
      coeffs.push_back(plms_coeffs(alpha_bar_at(tab, ts[b], final_ab), alpha_bar_at(tab, tps[b], final_ab), pred));
    }
    const scalar_t* pe[4] = {nullptr, nullptr, nullptr, nullptr};
    M w[4] = {M(0), M(0), M(0), M(0)};
    for (int k = 0; k < n; ++k) {
      pe[k] = es[k].data_ptr<scalar_t>();
      w[k] = M(weights[k]);
    }
    for (int k = n; k < 4; ++k) pe[k] = pe[0];  // weight 0: read something valid
    const scalar_t* px = x.data_ptr<scalar_t>();
    scalar_t* po = out.data_ptr<scalar_t>();
    for_each_run(batch, inner, kWhole, [&](int64_t b, int64_t first, int64_t len) {
      const PlmsCoeffs c = coeffs[b];
      const M cx = M(c.c_x), ce = M(c.c_e), vm = M(c.v_m), vx = M(c.v_x);
      const scalar_t *e0 = pe[0], *e1 = pe[1], *e2 = pe[2], *e3 = pe[3];
      const M w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
      _Pragma("omp simd")
      for (int64_t i = first; i < first + len; ++i) {
        const M xv = static_cast<M>(px[i]);
        M e = w0 * static_cast<M>(e0[i]) + w1 * static_cast<M>(e1[i]) + w2 * static_cast<M>(e2[i]) +
              w3 * static_cast<M>(e3[i]);
        e = vm * e + vx * xv;
        po[i] = static_cast<scalar_t>(cx * xv - ce * e);
      }
    });
  });
  return out;
}

Tensor philox_normal_like_cpu(const Tensor& input, int64_t seed, int64_t offset) {
  check_float(input, "input");
  Tensor out = at::empty(input.sizes(), input.options().memory_format(at::MemoryFormat::Contiguous));
  const int64_t numel = out.numel();
  if (numel == 0) return out;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, out.scalar_type(), "philox_normal_like_cpu", [&] {
    scalar_t* po = out.data_ptr<scalar_t>();
    at::parallel_for(0, numel, kGrain, [&](int64_t begin, int64_t end) {
      if constexpr (std::is_same_v<scalar_t, float>) {  // straight into the output
        philox_cpu::normals(static_cast<uint64_t>(seed), static_cast<uint64_t>(offset), begin, end - begin,
                              reinterpret_cast<float*>(po) + begin);
        return;
      }
      alignas(64) float buf_[kChunk];
      for (int64_t i = begin; i < end; i += kChunk) {
        const int64_t len = std::min(kChunk, end - i);
        const float* buf = fill_philox(buf_, static_cast<uint64_t>(seed), static_cast<uint64_t>(offset), i, len);
      _Pragma("omp simd")
        for (int64_t k = 0; k < len; ++k) po[i + k] = static_cast<scalar_t>(buf[k]);
      }
    });
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(vision_ext, CPU, m) { VE_DDPM_REGISTER_IMPLS(m, cpu); }

}  // namespace vision_ext
