// The per-level kernels of the residual family's CPU ops (residual_simd.cpp): the eval epilogue,
// training batch norm + residual + ReLU (statistics, apply, gradient sums, input gradient) and the
// Winograd weight transform. The glue (../residual_kernel.cpp, ../winograd_kernel.cpp) checks,
// allocates and threads; these loops see plain params structs and pointers. Torch-free.
#pragma once
#include <cstdint>

#include "../cpu_dispatch.h"
#include "vision_ext/batch_norm.h"
#include "vision_ext/epilogue.h"
#include "vision_ext/scalar_kind.h"

namespace vision_ext::cpu {

// Rows first, first + step, ... (count of them) of a params struct's rows x row_len view: one
// channel's planes in NCHW (step C), a contiguous run of pixels in NHWC (step 1).
struct BnRows {
  int64_t first, count, step;
};

// Per-channel coefficients in the accumulate type (float; double for double data).
struct BnApplyCoefs {
  const void* centre;  // bn_fold_centred's centre (the rounded batch mean)
  const void* a;
  const void* b;
};
struct BnGradCoefs {
  const void* k;
  const void* c1;
  const void* c0;
};

struct ResidualKernels {
  // Rows [r0, r1) of the epilogue (out may alias x).
  void (*epilogue)(const EpilogueParams& p, ScalarKind kind, int64_t r0, int64_t r1);
  // Adds sum(x - shift[c]) and sum((x - shift[c])^2) of `rows`, in double, to a/b: at [0] (NCHW,
  // one channel) or per column (NHWC).
  void (*bn_stats)(const BnForwardParams& p, ScalarKind kind, const double* shift, BnRows rows, double* a,
                   double* b);
  // out (and its mask) for rows [r0, r1).
  void (*bn_apply)(const BnForwardParams& p, ScalarKind kind, const BnApplyCoefs& coef, int64_t r0, int64_t r1);
  // Adds sum(gm) and sum(gm * (x - mean)) of `rows`, in double, to a/b (indexed as bn_stats).
  void (*bn_grad_sums)(const BnBackwardParams& p, ScalarKind kind, BnRows rows, double* a, double* b);
  // grad_x (and grad_residual) for rows [r0, r1).
  void (*bn_grad_apply)(const BnBackwardParams& p, ScalarKind kind, const BnGradCoefs& coef, int64_t r0,
                        int64_t r1);
  // Packed Winograd weight u (36, C, K) of w (K, C, 3, 3) with element strides st, input
  // channels [c0, c1), in float64; kind f32 or f64 (w and u share it).
  void (*winograd_pack)(const void* w, const int64_t* st, int64_t C, int64_t K, int64_t c0, int64_t c1,
                        ScalarKind kind, void* u);
};

}  // namespace vision_ext::cpu

VE_CPU_KERNELS(ResidualKernels, residual)
