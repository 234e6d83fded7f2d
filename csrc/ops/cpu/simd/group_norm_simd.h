// The per-level kernels of the fused GroupNorm (+ SiLU) family (group_norm_simd.cpp), called by
// the glue csrc/ops/cpu/group_norm_kernel.cpp inside its parallel loops. Torch-free.
//
// Two layouts: a contiguous run (NCHW: a group is one run of channels * pixels, a channel one run
// of pixels) with scalar parameters, and channels_last rows (rows x C) with per-channel arrays.
// Every sum is a fixed sequence of fp32 additions over at most a few dozen elements per lane,
// widened to double, so the results do not depend on the level's vector width.
#pragma once
#include <cstdint>

#include "../cpu_dispatch.h"

namespace vision_ext::cpu {

template <typename S>
struct GroupNormFns {
  // s1 = sum(x - shift), s2 = sum((x - shift)^2) over x[0, n).
  void (*run_sums)(const S* x, int64_t n, S shift, double* s1, double* s2);
  // Per channel c of rows x C (row stride C): s1[c], s2[c] as run_sums with shift[c] (assigned).
  void (*row_sums)(const S* x, int64_t rows, int64_t C, const S* shift, double* s1, double* s2);
  // y = act((x - mean) * scale + shift) over a run; prefetches ahead[0, n) if not null (the next block).
  void (*run_forward)(const S* x, S* y, int64_t n, S mean, S scale, S shift, int act, const S* ahead);
  // The same over rows x C with per-channel mean, scale, shift.
  void (*row_forward)(const S* x, S* y, int64_t rows, int64_t C, const S* mean, const S* scale, const S* shift,
                      int act);
  // With g = act'(y) * dy: stores g to g_out[0, n) and sums sg = sum(g), sgx = sum(g * (x - mean)).
  void (*run_grad_sums)(const S* dy, const S* x, S* g_out, int64_t n, S mean, S scale, S shift, int act,
                        double* sg, double* sgx);
  // The same per channel of rows x C (assigned; g_out has the rows' layout).
  void (*row_grad_sums)(const S* dy, const S* x, S* g_out, int64_t rows, int64_t C, const S* mean, const S* scale,
                        const S* shift, int act, double* sg, double* sgx);
  // dx = g * scale + (x - mean) * c2 + c3 over a run, from the stored g (dx may alias g); prefetches
  // ahead_dy / ahead_x [0, n) if not null.
  void (*run_input_grad)(const S* g, const S* x, S* dx, int64_t n, S mean, S scale, S c2, S c3, const S* ahead_dy,
                         const S* ahead_x);
  // The same over rows x C with per-channel arrays.
  void (*row_input_grad)(const S* g, const S* x, S* dx, int64_t rows, int64_t C, const S* mean, const S* scale,
                         const S* c2, const S* c3);
};

struct GroupNormKernels {
  GroupNormFns<float> f32;
  GroupNormFns<double> f64;
};

}  // namespace vision_ext::cpu

VE_CPU_KERNELS(GroupNormKernels, group_norm)
