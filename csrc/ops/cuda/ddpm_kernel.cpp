// CUDA glue of the DDPM family: the shared checks, then tensors -> one params struct
// -> the torch-free launchers in csrc/kernels/cuda/ddpm.cu. Timesteps and the schedule
// stay on the device (converted with device ops), so no call synchronises the host.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAStream.h>  // not ATen/cuda/CUDAContext.h: it needs cuSPARSE/cuBLAS headers
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "../ddpm_common.h"
#include "scalar_kind_of.h"
#include "vision_ext/ddpm_launch.h"

namespace vision_ext {
namespace ddpm_ops {
namespace {

using at::Tensor;

// Keeps the converted tensors alive while the schedule points into them.
struct ScheduleHolder {
  Tensor table, t, t_prev;
  DdpmSchedule view(double final_ab) const {
    return DdpmSchedule{table.data_ptr<double>(), table.numel(), t.data_ptr<int64_t>(),
                        t_prev.defined() ? t_prev.data_ptr<int64_t>() : nullptr, t.numel(), final_ab};
  }
};

ScheduleHolder schedule(const Tensor& ac, const Tensor& t, const Tensor* tp) {
  ScheduleHolder h;
  h.table = ac.to(at::kDouble).contiguous();
  h.t = t.to(at::kLong).contiguous().reshape(-1);
  if (tp) h.t_prev = tp->to(at::kLong).contiguous().reshape(-1);
  return h;
}

std::tuple<Tensor, Tensor, Tensor> noise_common(const Tensor& x0, const Tensor& noise, const Tensor& t,
                                                const Tensor& ac, int pred, double gamma, bool with_target) {
  const int64_t batch = check_q_sample_args(x0, noise, t, ac);
  const c10::cuda::CUDAGuard guard(x0.device());
  const ScheduleHolder h = schedule(ac, t, nullptr);
  const Tensor x = x0.contiguous(), n = noise.contiguous();
  Tensor out = at::empty_like(x);
  Tensor target = with_target ? at::empty_like(x) : Tensor();
  Tensor weights = with_target ? at::empty({batch}, x.options().dtype(at::kFloat)) : Tensor();
  AddNoiseParams p{};
  p.sched = h.view(1.0);
  p.x0 = x.data_ptr();
  p.noise = n.data_ptr();
  p.out = out.data_ptr();
  p.target = with_target ? target.data_ptr() : nullptr;
  p.weights = with_target ? weights.data_ptr<float>() : nullptr;
  p.batch = batch;
  p.inner = inner_of(x, batch);
  p.prediction_type = pred;
  p.min_snr_gamma = gamma;
  C10_CUDA_CHECK(launch_add_noise(p, scalar_kind_of(x), c10::cuda::getCurrentCUDAStream()));
  return {out, target, weights};
}

Tensor add_noise_cuda(const Tensor& x0, const Tensor& noise, const Tensor& t, const Tensor& ac) {
  return std::get<0>(noise_common(x0, noise, t, ac, kPredEpsilon, 0.0, false));
}

std::tuple<Tensor, Tensor, Tensor> training_target_cuda(const Tensor& x0, const Tensor& noise, const Tensor& t,
                                                        const Tensor& ac, c10::string_view pred, double gamma) {
  return noise_common(x0, noise, t, ac, parse_prediction_type(std::string(pred)), gamma, true);
}

std::tuple<Tensor, Tensor> step_common(const Tensor& mo, const Tensor& sample, const Tensor& t, const Tensor& tp,
                                       const Tensor& ac, const c10::optional<Tensor>& noise,
                                       const c10::optional<Tensor>& threshold, int64_t seed, int64_t offset, int pred,
                                       int var, double clip, double final_ab, bool ddim, double eta, bool use_clipped) {
  const StepShape shape = check_step_args(mo, sample, t, tp, ac, noise, threshold, var);
  const c10::cuda::CUDAGuard guard(sample.device());
  const ScheduleHolder h = schedule(ac, t, &tp);
  const Tensor x = sample.contiguous(), m = mo.contiguous();
  const Tensor z = noise ? noise->contiguous() : Tensor();
  const Tensor th = threshold ? threshold->contiguous() : Tensor();
  Tensor prev = at::empty_like(x), x0 = at::empty_like(x);
  StepParams p{};
  p.sched = h.view(final_ab);
  p.model_output = m.data_ptr();
  p.sample = x.data_ptr();
  p.noise = z.defined() ? z.data_ptr() : nullptr;
  p.threshold = th.defined() ? th.data_ptr<float>() : nullptr;
  p.prev = prev.data_ptr();
  p.x0 = x0.data_ptr();
  p.batch = shape.batch;
  p.inner = shape.inner;
  p.mo_stride = shape.mo_stride;
  p.seed = static_cast<uint64_t>(seed);
  p.offset = static_cast<uint64_t>(offset);
  p.prediction_type = pred;
  p.variance_type = var;
  p.clip_range = clip;
  p.ddim = ddim;
  p.eta = eta;
  p.use_clipped = use_clipped;
  C10_CUDA_CHECK(launch_ddpm_step(p, scalar_kind_of(x), c10::cuda::getCurrentCUDAStream()));
  return {prev, x0};
}

std::tuple<Tensor, Tensor> ddpm_step_cuda(const Tensor& mo, const Tensor& sample, const Tensor& t, const Tensor& tp,
                                          const Tensor& ac, const c10::optional<Tensor>& noise,
                                          const c10::optional<Tensor>& threshold, int64_t seed, int64_t offset,
                                          c10::string_view pred, c10::string_view var, double clip, double final_ab) {
  const int pred_type = parse_prediction_type(std::string(pred));  // parsed in the CPU op's order
  const int var_type = parse_variance_type(std::string(var));
  return step_common(mo, sample, t, tp, ac, noise, threshold, seed, offset, pred_type, var_type, clip, final_ab, false,
                     0.0, false);
}

std::tuple<Tensor, Tensor> ddim_step_cuda(const Tensor& mo, const Tensor& sample, const Tensor& t, const Tensor& tp,
                                          const Tensor& ac, const c10::optional<Tensor>& noise,
                                          const c10::optional<Tensor>& threshold, int64_t seed, int64_t offset,
                                          double eta, bool use_clipped, c10::string_view pred, double clip,
                                          double final_ab) {
  const int pred_type = parse_prediction_type(std::string(pred));  // before eta, as on the CPU
  check_eta(eta);
  return step_common(mo, sample, t, tp, ac, noise, threshold, seed, offset, pred_type, kVarFixedSmall, clip, final_ab,
                     true, eta, use_clipped);
}

Tensor plms_step_cuda(const Tensor& sample, at::TensorList outputs, at::ArrayRef<double> weights, const Tensor& t,
                      const Tensor& tp, const Tensor& ac, c10::string_view pred_name, double final_ab) {
  const int pred = parse_prediction_type(std::string(pred_name), /*allow_sample=*/false);
  const int64_t batch = check_plms_args(sample, outputs, weights, t, tp, ac);
  const c10::cuda::CUDAGuard guard(sample.device());
  const ScheduleHolder h = schedule(ac, t, &tp);
  const Tensor x = sample.contiguous();
  std::vector<Tensor> es;
  for (const Tensor& o : outputs) es.push_back(o.contiguous());
  Tensor out = at::empty_like(x);
  PlmsParams p{};
  p.sched = h.view(final_ab);
  p.sample = x.data_ptr();
  p.num_outputs = static_cast<int>(es.size());
  for (int k = 0; k < 4; ++k) {
    p.outputs[k] = k < p.num_outputs ? es[k].data_ptr() : nullptr;
    p.weights[k] = k < p.num_outputs ? weights[k] : 0.0;
  }
  p.out = out.data_ptr();
  p.batch = batch;
  p.inner = inner_of(x, batch);
  p.prediction_type = pred;
  C10_CUDA_CHECK(launch_plms_step(p, scalar_kind_of(x), c10::cuda::getCurrentCUDAStream()));
  return out;
}

Tensor philox_normal_like_cuda(const Tensor& input, int64_t seed, int64_t offset) {
  check_float(input, "input");
  const c10::cuda::CUDAGuard guard(input.device());
  Tensor out = at::empty(input.sizes(), input.options().memory_format(at::MemoryFormat::Contiguous));
  C10_CUDA_CHECK(launch_philox_normal(out.data_ptr(), out.numel(), static_cast<uint64_t>(seed),
                                      static_cast<uint64_t>(offset), scalar_kind_of(out), c10::cuda::getCurrentCUDAStream()));
  return out;
}

// The CUDA backend of register_ddpm_ops (../ddpm_common.h).
struct Cuda {
  static constexpr auto add_noise = &add_noise_cuda;
  static constexpr auto training_target = &training_target_cuda;
  static constexpr auto ddpm_step = &ddpm_step_cuda;
  static constexpr auto ddim_step = &ddim_step_cuda;
  static constexpr auto plms_step = &plms_step_cuda;
  static constexpr auto philox_normal_like = &philox_normal_like_cuda;
};

}  // namespace
}  // namespace ddpm_ops

TORCH_LIBRARY_IMPL(vision_ext, CUDA, m) { ddpm_ops::register_ddpm_ops<ddpm_ops::Cuda>(m); }

}  // namespace vision_ext
