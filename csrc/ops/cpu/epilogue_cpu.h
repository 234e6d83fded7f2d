// CPU loop of the residual epilogue (shared by residual_epilogue and conv_bias_act).
#pragma once
#include <ATen/ATen.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>

#include "vision_ext/epilogue.h"

namespace vision_ext::cpu {

template <typename scalar_t, bool HasResidual>
void epilogue_rows(const EpilogueParams& p, int64_t r0, int64_t r1) {
  using acc_t = at::opmath_type<scalar_t>;
  const auto* x = static_cast<const scalar_t*>(p.x);
  const auto* res = static_cast<const scalar_t*>(p.residual);
  const auto* scale = static_cast<const acc_t*>(p.scale);
  const auto* shift = static_cast<const acc_t*>(p.shift);
  auto* out = static_cast<scalar_t*>(p.out);
  const bool inner = p.flags.inner_relu, outer = p.flags.outer_relu;
  const int64_t len = p.row_len;
  for (int64_t r = r0; r < r1; ++r) {
    const scalar_t* xr = x + r * len;
    const scalar_t* rr = HasResidual ? res + r * len : nullptr;
    scalar_t* orow = out + r * len;
    if (!p.channels_last) {
      const int64_t c = r % p.channels;
      const acc_t s = scale ? scale[c] : acc_t(1), t = shift ? shift[c] : acc_t(0);
#pragma omp simd
      for (int64_t j = 0; j < len; ++j) {
        const acc_t rv = HasResidual ? static_cast<acc_t>(rr[j]) : acc_t(0);
        orow[j] = static_cast<scalar_t>(epilogue_value<acc_t>(static_cast<acc_t>(xr[j]), s, t, rv, inner, outer));
      }
    } else {
#pragma omp simd
      for (int64_t j = 0; j < len; ++j) {
        const acc_t s = scale ? scale[j] : acc_t(1), t = shift ? shift[j] : acc_t(0);
        const acc_t rv = HasResidual ? static_cast<acc_t>(rr[j]) : acc_t(0);
        orow[j] = static_cast<scalar_t>(epilogue_value<acc_t>(static_cast<acc_t>(xr[j]), s, t, rv, inner, outer));
      }
    }
  }
}

// Runs the epilogue over p (out may alias x: each element is read before it is written).
inline void epilogue_cpu(const EpilogueParams& p, at::ScalarType dtype) {
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, p.row_len));
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, dtype, "residual_epilogue_cpu", [&] {
    at::parallel_for(0, p.rows, grain, [&](int64_t r0, int64_t r1) {
      if (p.residual)
        epilogue_rows<scalar_t, true>(p, r0, r1);
      else
        epilogue_rows<scalar_t, false>(p, r0, r1);
    });
  });
}

}  // namespace vision_ext::cpu
