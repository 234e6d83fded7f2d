// CPU weight packing for the Winograd conv: U[p][c][k] = (G w[k][c] G^T)[p] in float64, 8 output
// channels at a time, written straight into the packed layout. Fast enough to repack the
// weights on every training step (the generic ATen path builds (C_out, C_in, 6, 6) temporaries).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include "../winograd_generic.h"
#include "simd.h"

namespace vision_ext::cpu {
namespace {

template <typename scalar_t>
inline void store_as(F64x8 v, scalar_t* p) {
  using out_t = typename RawVec<scalar_t, 8>::type;
  const out_t o = __builtin_convertvector(v.v, out_t);
  std::memcpy(p, &o, sizeof(o));
}
template <typename scalar_t>
inline void store_as(double v, scalar_t* p) {
  *p = static_cast<scalar_t>(v);
}
// Tap i of kernels (c, k .. k+lanes): a strided gather, as w may have any layout.
template <typename scalar_t>
inline double tap(const scalar_t* w, const int64_t* st, int64_t k, int64_t c, int i, double) {
  return static_cast<double>(w[k * st[0] + c * st[1] + (i / 3) * st[2] + (i % 3) * st[3]]);
}
template <typename scalar_t>
inline F64x8 tap(const scalar_t* w, const int64_t* st, int64_t k, int64_t c, int i, F64x8) {
  F64x8 v;
  for (int l = 0; l < 8; ++l) v.v[l] = tap(w, st, k + l, c, i, 0.0);
  return v;
}

// Kernels (c, k .. k+lanes) of w (C_out, C_in, 3, 3) with strides st.
template <typename T, typename scalar_t>
inline void pack_lanes(const scalar_t* w, const int64_t* st, int64_t C, int64_t K, int64_t c, int64_t k,
                       scalar_t* u) {
  T g[9], t[36];
  for (int i = 0; i < 9; ++i) g[i] = tap(w, st, k, c, i, T{});
  winograd::weight_2d(g, t);
  for (int p = 0; p < 36; ++p) store_as(t[p], u + (p * C + c) * K + k);
}

at::Tensor winograd_pack_weight_cpu(const at::Tensor& w) {
  if (w.scalar_type() != at::kFloat && w.scalar_type() != at::kDouble) return winograd::pack_weight(w);
  winograd::check_weight(w);
  const int64_t K = w.size(0), C = w.size(1);
  at::Tensor u = at::empty({36, C, K}, w.options().memory_format(at::MemoryFormat::Contiguous));
  AT_DISPATCH_FLOATING_TYPES(w.scalar_type(), "winograd_pack_weight_cpu", [&] {
    const scalar_t* src = w.data_ptr<scalar_t>();
    const int64_t* st = w.strides().data();
    scalar_t* out = u.data_ptr<scalar_t>();
    at::parallel_for(0, C, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        int64_t k = 0;
        for (; k + F64x8::kLanes <= K; k += F64x8::kLanes) pack_lanes<F64x8>(src, st, C, K, c, k, out);
        for (; k < K; ++k) pack_lanes<double>(src, st, C, K, c, k, out);
      }
    });
  });
  return u;
}

}  // namespace

TORCH_LIBRARY_IMPL(vision_ext, CPU, m) { m.impl("winograd_pack_weight", &winograd_pack_weight_cpu); }

}  // namespace vision_ext::cpu
