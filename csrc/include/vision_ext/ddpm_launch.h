// Torch-free launchers of the DDPM CUDA kernels (csrc/kernels/cuda/ddpm.cu). The glue
// (csrc/ops/cuda/ddpm_kernel.cpp) unpacks tensors into one params struct per op;
// timesteps are int64 device arrays (one value, or one per sample) and the schedule is
// a float64 device table, so nothing is read back on the host.
#pragma once
#include <cuda_runtime.h>
#include <stdint.h>

namespace vision_ext {

enum class DdpmDtype : int { kFloat32 = 0, kFloat64 = 1, kFloat16 = 2, kBFloat16 = 3 };

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
  void* out;      // x_t
  void* target;   // training target, or null for plain add_noise
  float* weights; // min-SNR weights [batch], or null
  int64_t batch, inner;
  int prediction_type;
  double min_snr_gamma;
};

struct StepParams {
  DdpmSchedule sched;
  const void* model_output;  // batch stride mo_stride (2 * inner with learned variance)
  const void* sample;
  const void* noise;         // null: Philox(seed, offset)
  const float* threshold;    // null: plain clipping
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
  float weights[4];
  int num_outputs;
  void* out;
  int64_t batch, inner;
  int prediction_type;
};

cudaError_t launch_add_noise(const AddNoiseParams& p, DdpmDtype dtype, cudaStream_t stream);
cudaError_t launch_ddpm_step(const StepParams& p, DdpmDtype dtype, cudaStream_t stream);
cudaError_t launch_plms_step(const PlmsParams& p, DdpmDtype dtype, cudaStream_t stream);
cudaError_t launch_philox_normal(void* out, int64_t numel, uint64_t seed, uint64_t offset, DdpmDtype dtype,
                                 cudaStream_t stream);

}  // namespace vision_ext
