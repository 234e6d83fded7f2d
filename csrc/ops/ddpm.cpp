// Schemas of the DDPM family: forward noising, training targets, reverse steps and
// the Philox noise they share. Timesteps are tensors (may live on the device) so a
// sampling loop needs no host synchronisation.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(vision_ext, m) {
  m.def("add_noise(Tensor original, Tensor noise, Tensor timesteps, Tensor alphas_cumprod) -> Tensor");
  m.def(
      "ddpm_training_target(Tensor original, Tensor noise, Tensor timesteps, Tensor alphas_cumprod, "
      "str prediction_type, float min_snr_gamma) -> (Tensor, Tensor, Tensor)");
  m.def(
      "ddpm_step(Tensor model_output, Tensor sample, Tensor timestep, Tensor prev_timestep, Tensor alphas_cumprod, "
      "Tensor? noise, Tensor? threshold, int seed, int offset, str prediction_type, str variance_type, "
      "float clip_sample_range, float final_alpha_cumprod) -> (Tensor, Tensor)");
  m.def(
      "ddim_step(Tensor model_output, Tensor sample, Tensor timestep, Tensor prev_timestep, Tensor alphas_cumprod, "
      "Tensor? noise, Tensor? threshold, int seed, int offset, float eta, bool use_clipped_model_output, "
      "str prediction_type, float clip_sample_range, float final_alpha_cumprod) -> (Tensor, Tensor)");
  m.def(
      "plms_step(Tensor sample, Tensor[] model_outputs, float[] weights, Tensor timestep, Tensor prev_timestep, "
      "Tensor alphas_cumprod, str prediction_type, float final_alpha_cumprod) -> Tensor");
  m.def("philox_normal_like(Tensor input, int seed, int offset) -> Tensor");
}
