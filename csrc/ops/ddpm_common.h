// Argument checks and option parsing shared by the CPU and CUDA DDPM ops, so both devices
// reject the same inputs with the same messages, and the registration of both backends.
#pragma once
#include <ATen/ATen.h>
#include <torch/library.h>

#include <string>
#include <vector>

#include "vision_ext/ddpm.h"

namespace vision_ext {
namespace ddpm_ops {

inline int parse_prediction_type(const std::string& s, bool allow_sample = true) {
  if (s == "epsilon") return kPredEpsilon;
  if (s == "v_prediction") return kPredV;
  if (s == "sample" && allow_sample) return kPredSample;
  TORCH_CHECK(false, "prediction_type: expected one of 'epsilon', ", allow_sample ? "'sample', " : "",
              "'v_prediction', got '", s, "'");
  return 0;
}

inline int parse_variance_type(const std::string& s) {
  static const char* names[] = {"fixed_small", "fixed_small_log", "fixed_large",
                                "fixed_large_log", "learned", "learned_range"};
  for (int i = 0; i < 6; ++i)
    if (s == names[i]) return i;
  TORCH_CHECK(false, "variance_type: expected one of 'fixed_small', 'fixed_small_log', 'fixed_large', "
              "'fixed_large_log', 'learned', 'learned_range', got '", s, "'");
  return 0;
}

// Exactly the four dtypes both kernels dispatch on (at::isFloatingType also admits float8/float4).
inline void check_float(const at::Tensor& t, const char* name) {
  const at::ScalarType s = t.scalar_type();
  TORCH_CHECK(s == at::kFloat || s == at::kHalf || s == at::kBFloat16 || s == at::kDouble, name,
              ": expected a floating-point tensor (float32, float16, bfloat16 or float64), got ", s);
}

// A batch needs at least one dimension; timesteps are integers, one or one per sample.
inline int64_t check_batched(const at::Tensor& x, const char* name) {
  TORCH_CHECK(x.dim() >= 1, name, ": expected a batched tensor of shape (B, ...), got a 0-d tensor");
  return x.size(0);
}

inline void check_timesteps(const at::Tensor& t, int64_t batch, const at::Tensor& like, const char* name) {
  TORCH_CHECK(t.scalar_type() == at::kLong || t.scalar_type() == at::kInt, name,
              ": expected an integer tensor (int64 or int32), got ", t.scalar_type(),
              "; pass e.g. torch.tensor([t]) or timesteps.long()");
  TORCH_CHECK(t.numel() == 1 || (t.dim() == 1 && t.size(0) == batch), name,
              ": expected one timestep or one per sample (shape [", batch, "]), got shape ", t.sizes());
  TORCH_CHECK(t.device() == like.device(), name, ": expected a tensor on ", like.device(), " like the samples, got ",
              t.device());
}

inline void check_table(const at::Tensor& ac, const at::Tensor& like) {
  TORCH_CHECK(ac.dim() == 1 && ac.numel() > 0, "alphas_cumprod: expected a non-empty 1-D table, got shape ",
              ac.sizes());
  TORCH_CHECK(at::isFloatingType(ac.scalar_type()), "alphas_cumprod: expected a floating-point table, got ",
              ac.scalar_type());
  TORCH_CHECK(ac.device() == like.device(), "alphas_cumprod: expected a tensor on ", like.device(), ", got ",
              ac.device());
}

inline void check_same(const at::Tensor& a, const at::Tensor& b, const char* an, const char* bn) {
  TORCH_CHECK(a.sizes() == b.sizes(), an, " and ", bn, ": expected the same shape, got ", a.sizes(), " and ",
              b.sizes());
  TORCH_CHECK(a.scalar_type() == b.scalar_type(), an, " and ", bn, ": expected the same dtype, got ",
              a.scalar_type(), " and ", b.scalar_type());
  TORCH_CHECK(a.device() == b.device(), an, " and ", bn, ": expected the same device, got ", a.device(), " and ",
              b.device());
}

// model_output is the sample's shape, or (learned variance types) twice its channels.
inline bool check_model_output(const at::Tensor& mo, const at::Tensor& x, int variance_type) {
  TORCH_CHECK(mo.scalar_type() == x.scalar_type() && mo.device() == x.device(),
              "model_output: expected the dtype and device of sample (", x.scalar_type(), ", ", x.device(), "), got ",
              mo.scalar_type(), ", ", mo.device());
  if (mo.sizes() == x.sizes()) {
    TORCH_CHECK(variance_type != kVarLearned, "model_output: variance_type='learned' needs the predicted variance "
                "as extra channels (shape [B, 2C, ...]), got the sample's shape ", mo.sizes());
    return false;
  }
  const bool learned = variance_type == kVarLearned || variance_type == kVarLearnedRange;
  bool doubled = x.dim() >= 2 && mo.dim() == x.dim() && mo.size(0) == x.size(0) && mo.size(1) == 2 * x.size(1);
  for (int64_t d = 2; doubled && d < x.dim(); ++d) doubled = mo.size(d) == x.size(d);
  TORCH_CHECK(doubled && learned, "model_output: expected the shape of sample ", x.sizes(),
              learned ? " or twice its channels" : "",
              " (twice the channels only with variance_type 'learned'/'learned_range'), got ", mo.sizes());
  return true;
}

inline void check_threshold(const c10::optional<at::Tensor>& th, int64_t batch, const at::Tensor& x) {
  if (!th) return;
  TORCH_CHECK(th->dim() == 1 && th->size(0) == batch && th->scalar_type() == at::kFloat && th->device() == x.device(),
              "threshold: expected a float32 tensor of shape [", batch, "] on ", x.device(), " (one dynamic-threshold "
              "value s per sample), got ", th->scalar_type(), " ", th->sizes(), " on ", th->device());
}

inline void check_noise(const c10::optional<at::Tensor>& noise, const at::Tensor& x) {
  if (noise) check_same(*noise, x, "noise", "sample");
}

inline void check_eta(double eta) {
  TORCH_CHECK(eta >= 0.0, "eta: expected a non-negative value (0 = deterministic DDIM, 1 = DDPM-like), got ", eta);
}

// Elements per sample of a checked (B, ...) tensor (0 for an empty batch).
inline int64_t inner_of(const at::Tensor& x, int64_t batch) { return batch ? x.numel() / batch : 0; }

// add_noise / training target: returns the batch size.
inline int64_t check_q_sample_args(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t,
                                   const at::Tensor& ac) {
  check_float(x0, "original");
  check_same(noise, x0, "noise", "original");
  const int64_t batch = check_batched(x0, "original");
  check_timesteps(t, batch, x0, "timesteps");
  check_table(ac, x0);
  return batch;
}

struct StepShape {
  int64_t batch, inner, mo_stride;  // mo_stride: model-output elements per sample (2 * inner when learned)
};

// DDPM / DDIM step arguments, in the order both devices check them.
inline StepShape check_step_args(const at::Tensor& mo, const at::Tensor& sample, const at::Tensor& t,
                                 const at::Tensor& tp, const at::Tensor& ac, const c10::optional<at::Tensor>& noise,
                                 const c10::optional<at::Tensor>& threshold, int variance_type) {
  check_float(sample, "sample");
  const int64_t batch = check_batched(sample, "sample");
  const bool doubled = check_model_output(mo, sample, variance_type);
  check_timesteps(t, batch, sample, "timestep");
  check_timesteps(tp, batch, sample, "prev_timestep");
  check_table(ac, sample);
  check_noise(noise, sample);
  check_threshold(threshold, batch, sample);
  const int64_t inner = inner_of(sample, batch);
  return {batch, inner, doubled ? 2 * inner : inner};
}

// PLMS arguments; returns the batch size.
inline int64_t check_plms_args(const at::Tensor& sample, at::TensorList outputs, at::ArrayRef<double> weights,
                               const at::Tensor& t, const at::Tensor& tp, const at::Tensor& ac) {
  check_float(sample, "sample");
  const int64_t batch = check_batched(sample, "sample");
  TORCH_CHECK(outputs.size() >= 1 && outputs.size() <= 4, "model_outputs: expected 1 to 4 past model outputs, got ",
              outputs.size());
  TORCH_CHECK(weights.size() == outputs.size(), "weights: expected one weight per model output (", outputs.size(),
              "), got ", weights.size());
  for (const at::Tensor& o : outputs) check_same(o, sample, "model_outputs[i]", "sample");
  check_timesteps(t, batch, sample, "timestep");
  check_timesteps(tp, batch, sample, "prev_timestep");
  check_table(ac, sample);
  return batch;
}

// Registers the six DDPM ops with a device backend D (struct Cpu in cpu/ddpm_kernel.cpp, struct
// Cuda in cuda/ddpm_kernel.cpp): one list, so neither device can miss an op. D supplies static
// add_noise, training_target, ddpm_step, ddim_step, plms_step and philox_normal_like with the
// schemas of ../ddpm.cpp.
template <class D>
void register_ddpm_ops(torch::Library& m) {
  m.impl("add_noise", D::add_noise);
  m.impl("ddpm_training_target", D::training_target);
  m.impl("ddpm_step", D::ddpm_step);
  m.impl("ddim_step", D::ddim_step);
  m.impl("plms_step", D::plms_step);
  m.impl("philox_normal_like", D::philox_normal_like);
}

}  // namespace ddpm_ops
}  // namespace vision_ext
