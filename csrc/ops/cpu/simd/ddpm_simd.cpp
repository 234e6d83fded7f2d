// CPU kernels of the DDPM family, compiled once per level: the Philox normal stream and the
// per-element loops of the DDPM / DDIM / PLMS steps, add_noise and the training target. Every
// formula is the shared one of vision_ext/ddpm.h and vision_ext/philox.h instantiated with this
// level's vectors (tails with scalars); the per-run choices (x0 limit, noise source, streaming
// stores) are template parameters, so each loop is branch-free. -ffp-contract=off: the only fused
// multiply-adds are the explicit ones (Philox's, real FMAs or the scalar header code, so the noise
// is the same at every level; ddpm.h's ddpm_fma, fused at avx2 / avx512, two roundings at base).
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "ddpm_ops.h"
#include "ddpm_simd.h"
#include "isa.h"
#include "vec.h"
#include "vision_ext/ddpm.h"
#include "vision_ext/philox.h"

namespace vision_ext::cpu::VE_CPU_NS {
namespace {

// ---- Philox normals ---------------------------------------------------------------------------
// Vectors where the level has FMA (philox.h's fmaf must stay one rounding: kHasFma); otherwise
// the scalar header code, which is the same text.
#if defined(__FMA__) || defined(__aarch64__)
#define VE_DDPM_VECTOR_PHILOX 1
constexpr int kChains = kVectorRegisters / 8;  // independent counter vectors in flight (4 words each)
static_assert(kChains % 2 == 0, "Box-Muller takes the words of two counter vectors at a time");
constexpr int kBlockLanes = U64Vec::kLanes;               // Philox blocks per counter vector
constexpr int64_t kStepNormals = 4 * kChains * kBlockLanes;  // normals per vector iteration
// A chunk's normals must be whole vector iterations, or each chunk's tail takes the scalar path.
static_assert(kDdpmNoiseChunk % kStepNormals == 0, "kChains must keep kStepNormals a divisor of kDdpmNoiseChunk");

// The kStepNormals normals of blocks g, g + 1, ... into out (block-major, 4 per block).
inline void philox_step(uint64_t seed, uint64_t offset, uint64_t g, float* out) {
  using Idx = U64Vec::raw;
  constexpr Idx iota = shuffle_mask<Idx>([](int i) { return uint64_t(i); }, std::make_index_sequence<kBlockLanes>{});
  U64Vec c[kChains][4];
  U64Vec ctr = U64Vec(g) + U64Vec(iota);
  for (int j = 0; j < kChains; ++j) {
    c[j][0] = ctr;  // the counter's low word (the high half is ignored by mul_low32)
    c[j][1] = ctr >> 32;
    c[j][2] = U64Vec(uint64_t{static_cast<uint32_t>(offset)});
    c[j][3] = U64Vec(offset >> 32);
    ctr = ctr + U64Vec(uint64_t{kBlockLanes});
  }
  philox_rounds<kChains>(c, U64Vec(uint64_t{static_cast<uint32_t>(seed)}), U64Vec(seed >> 32));
  VE_PHILOX_UNROLL
  for (int j = 0; j < kChains; j += 2) {
    FloatVec n0, n1, n2, n3;
    philox_box_muller(low_words(c[j][0], c[j + 1][0]), low_words(c[j][1], c[j + 1][1]), &n0, &n1);
    philox_box_muller(low_words(c[j][2], c[j + 1][2]), low_words(c[j][3], c[j + 1][3]), &n2, &n3);
    store_interleaved4(n0, n1, n2, n3, out + 4 * kBlockLanes * j);
  }
}
#endif

void philox_normals(uint64_t seed, uint64_t offset, uint64_t first, int64_t n, float* out) {
  uint64_t i = first;
  const uint64_t end = first + static_cast<uint64_t>(n);
  if ((i & 3) && i < end) {  // head: the rest of a block
    const Normal4 z = philox_normal4(seed, offset, i >> 2);
    for (uint64_t k = i & 3; k < 4 && i < end; ++k, ++i) *out++ = z.v[k];
  }
#if defined(VE_DDPM_VECTOR_PHILOX)
  static_assert(kHasFma, "isa.h and this file disagree on FMA");
  for (; i + kStepNormals <= end; i += kStepNormals, out += kStepNormals) philox_step(seed, offset, i >> 2, out);
#endif
  for (; i < end; i += 4) {  // whole blocks, then a partial last one
    const Normal4 z = philox_normal4(seed, offset, i >> 2);
    const uint64_t m = end - i < 4 ? end - i : 4;
    for (uint64_t k = 0; k < m; ++k) *out++ = z.v[k];
  }
}

// ---- Element loops --------------------------------------------------------------------------
// body(k, lanes) over [k0, n) in whole vectors, then one partial vector (lanes < kLanes) for the
// tail: every element goes through the same vector code, so a level's results do not depend on
// where an element falls (the level's ddpm_fma is the same in every lane). Always inlined, and the
// callers take their run by value: the coefficients are then locals that the output stores cannot
// alias, so they stay in registers instead of being reloaded (and re-broadcast) every vector.
template <typename V, typename F>
__attribute__((always_inline)) inline void for_lanes(int64_t k0, int64_t n, F body) {
  int64_t k = k0;
  for (; k + V::kLanes <= n; k += V::kLanes) body(k, V::kLanes);
  if (k < n) body(k, static_cast<int>(n - k));
}

template <typename M> using MVec = NativeVec<M>;

// The first `lanes` elements at p (zeros above).
template <typename M>
inline MVec<M> ld(const M* p, int lanes) {
  if (lanes == MVec<M>::kLanes) return MVec<M>::load(p);
  MVec<M> r(M(0));
  std::memcpy(&r.v, p, sizeof(M) * static_cast<size_t>(lanes));
  return r;
}

// Stores the first `lanes` elements of v at p: streaming for whole float vectors when STREAM (p
// aligned), plain otherwise.
template <bool STREAM, typename M>
inline void st(MVec<M> v, M* p, int lanes) {
  if (lanes != MVec<M>::kLanes) {
    std::memcpy(p, &v.v, sizeof(M) * static_cast<size_t>(lanes));
  } else if constexpr (STREAM && std::is_same_v<M, float>) {
    stream_store(v, p);
  } else {
    v.store(p);
  }
}

// Elements before the first whole vector whose outputs are aligned for streaming stores.
template <typename M>
inline int64_t stream_head(const M* p, int64_t n) {
  int64_t k = 0;
  while (k < n && (reinterpret_cast<uintptr_t>(p + k) % sizeof(typename MVec<M>::raw))) ++k;
  return k;
}

// Runs fn(k0, k1, z) over the run in noise-buffer chunks: z is the noise of elements [k0, k1) at
// z[0] (a tensor's or Philox's), or null without noise.
template <typename M, typename F>
inline void with_noise(const DdpmNoise<M>& nz, bool noisy, int64_t first, int64_t n, F fn) {
  if (!noisy || nz.z) {
    fn(int64_t{0}, n, noisy ? nz.z : nullptr);
    return;
  }
  alignas(64) float buf[kDdpmNoiseChunk];
  alignas(64) M wide[std::is_same_v<M, float> ? 1 : kDdpmNoiseChunk];
  for (int64_t k0 = 0; k0 < n; k0 += kDdpmNoiseChunk) {
    const int64_t len = n - k0 < kDdpmNoiseChunk ? n - k0 : kDdpmNoiseChunk;
    philox_normals(nz.seed, nz.offset, static_cast<uint64_t>(first + k0), len, buf);
    if constexpr (std::is_same_v<M, float>) {
      fn(k0, k0 + len, static_cast<const M*>(buf));
    } else {
      for (int64_t k = 0; k < len; ++k) wide[k] = static_cast<M>(buf[k]);
      fn(k0, k0 + len, static_cast<const M*>(wide));
    }
  }
}

// Calls f(std::integral_constant<int, LIM>{}) with the run's x0 limit kind.
template <typename M, typename F>
inline void with_limit(M clip, M thresh, F f) {
  switch (limit_kind(clip, thresh)) {
    case kLimitThresh: return f(std::integral_constant<int, kLimitThresh>{});
    case kLimitClip: return f(std::integral_constant<int, kLimitClip>{});
    default: return f(std::integral_constant<int, kLimitNone>{});
  }
}

template <typename F>
inline void with_bool(bool b, F f) {
  if (b) return f(std::true_type{});
  f(std::false_type{});
}

// ---- DDPM -------------------------------------------------------------------------------------
// Fixed variance: ddpm_element's pieces with the limit, noise and store kind fixed.
template <int LIM, bool NOISY, bool STREAM, typename M>
void ddpm_fixed(const DdpmRun<M> r, int64_t k0, int64_t k1, const M* z) {
  using V = MVec<M>;
  for_lanes<V>(k0, k1, [&](int64_t k, int lanes) {
    const V x = ld(r.x + k, lanes);
    const V x0 = limit_x0_as<LIM>(ddpm_x0_of(r.c, x, ld(r.m + k, lanes)), V(r.clip), V(r.thresh));
    V out = ddpm_mean_of(r.c, x0, x);
    if constexpr (NOISY) out = ddpm_add_noise(out, V(r.c.std_fixed), ld(z + (k - k0), lanes));
    st<STREAM>(out, r.prev + k, lanes);
    st<STREAM>(x0, r.x0 + k, lanes);
  });
}

template <typename M>
void ddpm_run(const DdpmRun<M>& r) {
  const bool learned = r.variance_type == kVarLearned || r.variance_type == kVarLearnedRange;
  with_noise(r.noise, r.c.noisy, r.first, r.n, [&](int64_t k0, int64_t k1, const M* z) {
    if (learned) {  // sqrt / exp of the predicted variance per element: the scalar element maths
      for (int64_t k = k0; k < k1; ++k)
        ddpm_element(r.c, r.variance_type, r.clip, r.thresh, r.m[k], r.x[k], z ? z[k - k0] : M(0),
                     r.pv ? r.pv[k] : M(0), r.prev + k, r.x0 + k);
      return;
    }
    const bool stream = r.stream && std::is_same_v<M, float> &&
                        stream_head(r.prev, k1) == stream_head(r.x0, k1);
    with_limit(r.clip, r.thresh, [&](auto lim) {
      with_bool(z != nullptr, [&](auto noisy) {
        constexpr int LIM = decltype(lim)::value;
        constexpr bool NOISY = decltype(noisy)::value;
        if (!stream) return ddpm_fixed<LIM, NOISY, false>(r, k0, k1, z);
        const int64_t head = k0 + stream_head(r.prev + k0, k1 - k0);
        ddpm_fixed<LIM, NOISY, false>(r, k0, head, z);
        ddpm_fixed<LIM, NOISY, true>(r, head, k1, z ? z + (head - k0) : z);
        stream_fence();
      });
    });
  });
}

// ---- DDIM -------------------------------------------------------------------------------------
template <int LIM, bool NOISY, bool CLIPPED, typename M>
void ddim_span(const DdimRun<M> r, int64_t k0, int64_t k1, const M* z) {
  using V = MVec<M>;
  for_lanes<V>(k0, k1, [&](int64_t k, int lanes) {
    const V x = ld(r.x + k, lanes);
    V x0, eps;
    ddim_predict(r.c, x, ld(r.m + k, lanes), &x0, &eps);
    x0 = limit_x0_as<LIM>(x0, V(r.clip), V(r.thresh));
    if constexpr (CLIPPED) eps = ddim_eps_from_x0(r.c, x, x0);
    V zv = V(M(0));
    if constexpr (NOISY) zv = ld(z + (k - k0), lanes);
    st<false>(ddim_prev_of(r.c, x0, eps, zv), r.prev + k, lanes);
    st<false>(x0, r.x0 + k, lanes);
  });
}

template <typename M>
void ddim_run(const DdimRun<M>& r) {
  with_noise(r.noise, r.noisy, r.first, r.n, [&](int64_t k0, int64_t k1, const M* z) {
    with_limit(r.clip, r.thresh, [&](auto lim) {
      with_bool(z != nullptr, [&](auto noisy) {
        with_bool(r.use_clipped, [&](auto clipped) {
          ddim_span<decltype(lim)::value, decltype(noisy)::value, decltype(clipped)::value>(r, k0, k1, z);
        });
      });
    });
  });
}

// ---- add_noise / training target --------------------------------------------------------------
template <bool TARGET, bool STREAM, typename M>
void q_sample_span(const QSampleRun<M> r, int64_t k0, int64_t k1) {
  using V = MVec<M>;
  for_lanes<V>(k0, k1, [&](int64_t k, int lanes) {
    const V x = ld(r.x + k, lanes), nv = ld(r.noise + k, lanes);
    st<STREAM>(q_sample_value(r.a, r.s, x, nv), r.out + k, lanes);
    if constexpr (TARGET) st<STREAM>(target_value(r.prediction_type, r.tx, r.tn, x, nv), r.target + k, lanes);
  });
}

template <typename M>
void q_sample_run(const QSampleRun<M>& r) {
  const bool stream = r.stream && std::is_same_v<M, float> &&
                      (!r.target || stream_head(r.out, r.n) == stream_head(r.target, r.n));
  with_bool(r.target != nullptr, [&](auto target) {
    constexpr bool T = decltype(target)::value;
    if (!stream) return q_sample_span<T, false>(r, 0, r.n);
    const int64_t head = stream_head(r.out, r.n);
    q_sample_span<T, false>(r, 0, head);
    q_sample_span<T, true>(r, head, r.n);
    stream_fence();
  });
}

// ---- PLMS -------------------------------------------------------------------------------------
template <int COUNT, typename M>
void plms_span(const PlmsRun<M> r) {
  using V = MVec<M>;
  for_lanes<V>(0, r.n, [&](int64_t k, int lanes) {
    V e = V(M(0));
    for (int h = 0; h < COUNT; ++h) e = plms_accumulate(e, r.w[h], ld(r.e[h] + k, lanes));
    st<false>(plms_prev_of(r.c, ld(r.x + k, lanes), e), r.out + k, lanes);
  });
}

template <typename M>
void plms_run(const PlmsRun<M>& r) {
  switch (r.count) {
    case 1: return plms_span<1>(r);
    case 2: return plms_span<2>(r);
    case 3: return plms_span<3>(r);
    default: return plms_span<4>(r);
  }
}

}  // namespace

extern const DdpmKernels ddpm = {&philox_normals,   &ddpm_run<float>,     &ddpm_run<double>,
                                 &ddim_run<float>,  &ddim_run<double>,    &q_sample_run<float>,
                                 &q_sample_run<double>, &plms_run<float>, &plms_run<double>};

}  // namespace vision_ext::cpu::VE_CPU_NS
