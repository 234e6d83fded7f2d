// The per-level kernels of the CPU DDPM family (ddpm_simd.cpp) and the plain structs the glue
// (../ddpm_kernel.cpp) hands them: one run of elements of one sample, its coefficients already in
// the maths type M (float for fp32, double for fp64; the glue converts fp16/bf16 through float
// buffers). Torch-free.
#pragma once
#include <cstdint>

#include "../cpu_dispatch.h"
#include "vision_ext/ddpm.h"

namespace vision_ext::cpu {

// Elements per Philox noise buffer inside a step run (4 KiB of floats: stays in L1).
constexpr int64_t kDdpmNoiseChunk = 1024;

// Where a step's noise comes from: z (a tensor, element k of the run at z[k]) when not null,
// else Philox(seed, offset) at flat element index first + k.
template <typename M>
struct DdpmNoise {
  const M* z;
  uint64_t seed, offset;
};

// A DDPM step over elements [0, n) of one sample.
template <typename M>
struct DdpmRun {
  DdpmElem<M> c;      // the sample's coefficients (vision_ext/ddpm.h); c.noisy: t > 0
  int variance_type;  // kVar* of vision_ext/ddpm.h
  M clip, thresh;     // x0 limit (limit_x0)
  const M* m;         // model output (mean part)
  const M* pv;        // predicted variance (learned types), else null
  const M* x;         // sample
  DdpmNoise<M> noise;
  int64_t first, n;   // flat index of element 0 (the Philox counter), element count
  M* prev;
  M* x0;
  bool stream;        // non-temporal stores (outputs much larger than the caches; fp32 only)
};

// A DDIM step over elements [0, n) of one sample.
template <typename M>
struct DdimRun {
  DdimElem<M> c;
  bool use_clipped;  // eps recomputed from the limited x0
  bool noisy;        // eta > 0
  M clip, thresh;
  const M* m;
  const M* x;
  DdpmNoise<M> noise;
  int64_t first, n;
  M* prev;
  M* x0;
};

// x_t = a x0 + s noise, and (target not null) target = tx x0 + tn noise, over n elements.
template <typename M>
struct QSampleRun {
  M a, s, tx, tn;
  int prediction_type;  // of the target (vision_ext/ddpm.h target_value)
  const M* x;
  const M* noise;
  M* out;
  M* target;
  int64_t n;
  bool stream;
};

// A PLMS step over n elements: the history outputs e[0 .. count) with weights w.
template <typename M>
struct PlmsRun {
  PlmsElem<M> c;
  const M* x;
  const M* e[4];
  M w[4];
  int count;
  M* out;
  int64_t n;
};

struct DdpmKernels {
  // Normals of flat indices [first, first + n) of the Philox(seed, offset) stream into out[0, n),
  // bit-identical to philox_normal_at (vision_ext/philox.h) at every level.
  void (*philox_normals)(uint64_t seed, uint64_t offset, uint64_t first, int64_t n, float* out);
  void (*ddpm_f32)(const DdpmRun<float>& r);
  void (*ddpm_f64)(const DdpmRun<double>& r);
  void (*ddim_f32)(const DdimRun<float>& r);
  void (*ddim_f64)(const DdimRun<double>& r);
  void (*q_sample_f32)(const QSampleRun<float>& r);
  void (*q_sample_f64)(const QSampleRun<double>& r);
  void (*plms_f32)(const PlmsRun<float>& r);
  void (*plms_f64)(const PlmsRun<double>& r);
};

}  // namespace vision_ext::cpu

VE_CPU_KERNELS(DdpmKernels, ddpm)
