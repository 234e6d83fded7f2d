// GroupNorm (+ SiLU) kernels, compiled once per level: the maths of vision_ext/group_norm.h on the
// level's vectors. Sums run in a fixed number of fp32 (fp64) lanes, independent of the level's
// width, over chunks of 16 elements per lane, and are added into double lanes per chunk: the same
// bits at every level, and fp32 rounding error that does not grow with the group's size.
#include <cstdint>
#include <type_traits>

#include "isa.h"
#include "group_norm_simd.h"
#include "vec.h"
#include "exp_ops.h"
#include "wide.h"
#include "vision_ext/group_norm.h"

namespace vision_ext::cpu::VE_CPU_NS {

namespace {

// Accumulator lanes: 128 bytes whatever the level (one zmm pair, four ymm, eight xmm), held as an
// array of registers (simd/wide.h: GCC's own 128-byte vectors go through the stack and lower the
// SiLU's comparisons one lane at a time).
template <typename S> using Acc = Wide<S, 128 / static_cast<int>(sizeof(S))>;
template <typename S> using Native = NativeVec<S>;
constexpr int64_t kPerLane = 16;

// Sums of f1(i), f2(i) over [0, n); f(T, i) evaluates lanes i.. as T (Acc<S> or S). Each lane
// sums kPerLane values in S, then adds them into its double lane (vector conversions: a scalar
// chain of double additions per chunk took a quarter of the statistics pass); the double lanes
// are added in lane order at the end. flatten: GCC otherwise calls the SiLU-gradient lambda out
// of line per 128 bytes, reloading its constants.
template <typename S, typename F>
__attribute__((flatten)) inline void chunked_sums(int64_t n, F f, double* o1, double* o2) {
  using A = Acc<S>;
  using D = Wide<double, A::kLanes>;
  constexpr int L = A::kLanes;
  D d1(0.0), d2(0.0);
  for (int64_t c0 = 0; c0 < n; c0 += kPerLane * L) {
    const int64_t len = n - c0 < kPerLane * L ? n - c0 : kPerLane * L;
    A a1(S(0)), a2(S(0));
    int64_t i = 0;
    for (; i + L <= len; i += L) {
      A v1, v2;
      f(c0 + i, v1, v2);
      a1 += v1;
      a2 += v2;
    }
    if (i < len) {  // the run's last few values, into the first lanes
      S t1[L], t2[L];
      a1.store(t1);
      a2.store(t2);
      for (int j = 0; i < len; ++i, ++j) {
        S v1, v2;
        f(c0 + i, v1, v2);
        t1[j] += v1;
        t2[j] += v2;
      }
      a1 = A::load(t1);
      a2 = A::load(t2);
    }
    d1 += widen(a1);
    d2 += widen(a2);
  }
  double s1 = 0.0, s2 = 0.0;
  for (int j = 0; j < L; ++j) {
    s1 += d1.get(j);
    s2 += d2.get(j);
  }
  *o1 = s1;
  *o2 = s2;
}

template <typename T, typename S>
inline T lanes_at(const S* p, int64_t i) {
  return load_lanes(p + i, T{});
}

template <typename S>
void run_sums(const S* x, int64_t n, S shift, double* s1, double* s2) {
  chunked_sums<S>(n, [&](int64_t i, auto& v1, auto& v2) {
    using T = std::remove_reference_t<decltype(v1)>;
    const T d = lanes_at<T>(x, i) - T(shift);
    v1 = d;
    v2 = d * d;
  }, s1, s2);
}

template <typename S>
void run_grad_sums(const S* dy, const S* x, S* g_out, int64_t n, S mean, S scale, S shift, int act, double* sg,
                   double* sgx) {
  auto body = [&](auto act_c) {
    chunked_sums<S>(n, [&](int64_t i, auto& v1, auto& v2) {
      using T = std::remove_reference_t<decltype(v1)>;
      const T xv = lanes_at<T>(x, i);
      const T g = gn_act_grad(lanes_at<T>(dy, i), xv, T(mean), T(scale), T(shift), decltype(act_c)::value);
      store_lanes(g, g_out + i);  // kept for the input gradient: its exp is not computed twice
      v1 = g;
      v2 = g * (xv - T(mean));
    }, sg, sgx);
  };
  if (act == kGnActSilu) body(std::integral_constant<int, kGnActSilu>{});
  else body(std::integral_constant<int, kGnActNone>{});
}

// Elementwise over a run: f(T, i) at Native<S> lanes, then the scalar tail.
template <typename S, typename F>
inline void run_elementwise(int64_t n, F f) {
  constexpr int L = Native<S>::kLanes;
  int64_t i = 0;
  for (; i + L <= n; i += L) f(Native<S>{}, i);
  for (; i < n; ++i) f(S{}, i);
}

// run_elementwise that also prefetches one cache line of ahead1 / ahead2 (the next block's inputs,
// if not null) per line it writes: the next block's sums then read from cache while this pass,
// bound by the SiLU's arithmetic, hides the memory latency.
template <typename S, typename F>
inline void run_elementwise_ahead(int64_t n, const S* ahead1, const S* ahead2, F f) {
  constexpr int L = Native<S>::kLanes;
  constexpr int64_t kLine = 64 / sizeof(S);
  static_assert(kLine % L == 0, "a cache line holds whole registers");
  int64_t i = 0;
  if (ahead1 != nullptr)
    for (; i + kLine <= n; i += kLine) {
      __builtin_prefetch(ahead1 + i);
      if (ahead2 != nullptr) __builtin_prefetch(ahead2 + i);
      for (int64_t j = 0; j < kLine; j += L) f(Native<S>{}, i + j);
    }
  for (; i + L <= n; i += L) f(Native<S>{}, i);
  for (; i < n; ++i) f(S{}, i);
}

template <int Act, typename S>
void run_forward_act(const S* x, S* y, int64_t n, S mean, S scale, S shift, const S* ahead) {
  run_elementwise_ahead<S>(n, ahead, nullptr, [&](auto t, int64_t i) {
    using T = decltype(t);
    store_lanes(gn_forward(lanes_at<T>(x, i), T(mean), T(scale), T(shift), Act), y + i);
  });
}

template <typename S>
void run_forward(const S* x, S* y, int64_t n, S mean, S scale, S shift, int act, const S* ahead) {
  if (act == kGnActSilu) run_forward_act<kGnActSilu>(x, y, n, mean, scale, shift, ahead);
  else run_forward_act<kGnActNone>(x, y, n, mean, scale, shift, ahead);
}

// dx = g * scale + (x - mean) * c2 + c3 from the stored g (dx may be g itself).
template <typename S>
void run_input_grad(const S* g, const S* x, S* dx, int64_t n, S mean, S scale, S c2, S c3, const S* ahead_dy,
                    const S* ahead_x) {
  run_elementwise_ahead<S>(n, ahead_dy, ahead_x, [&](auto t, int64_t i) {
    using T = decltype(t);
    store_lanes(gn_input_grad(lanes_at<T>(g, i), lanes_at<T>(x, i), T(mean), T(scale), T(c2), T(c3)), dx + i);
  });
}

// Channels_last: per-channel sums down `rows` rows of C, 128 bytes of channels at a time (several
// independent chains), then one vector, then scalars; each channel's sum is the same sequence of
// additions at every width.
template <typename S, typename F>
__attribute__((flatten)) inline void row_channel_sums(int64_t rows, int64_t C, F f, double* o1, double* o2) {
  auto block = [&](auto tag, int64_t c) {
    using T = typename decltype(tag)::type;
    T a1(S(0)), a2(S(0));
    for (int64_t r = 0; r < rows; ++r) {
      T v1, v2;
      f(r * C, c, v1, v2);
      a1 += v1;
      a2 += v2;
    }
    S t1[sizeof(T) / sizeof(S)], t2[sizeof(T) / sizeof(S)];
    store_lanes(a1, t1);
    store_lanes(a2, t2);
    for (int j = 0; j < static_cast<int>(sizeof(T) / sizeof(S)); ++j) {
      o1[c + j] = static_cast<double>(t1[j]);
      o2[c + j] = static_cast<double>(t2[j]);
    }
  };
  constexpr int L = Native<S>::kLanes, B = Acc<S>::kLanes;
  int64_t c = 0;
  for (; c + B <= C; c += B) block(std::type_identity<Acc<S>>{}, c);
  for (; c + L <= C; c += L) block(std::type_identity<Native<S>>{}, c);
  for (; c < C; ++c) block(std::type_identity<S>{}, c);
}

template <typename S>
void row_sums(const S* x, int64_t rows, int64_t C, const S* shift, double* s1, double* s2) {
  row_channel_sums<S>(rows, C, [&](int64_t off, int64_t c, auto& v1, auto& v2) {
    using T = std::remove_reference_t<decltype(v1)>;
    const T d = lanes_at<T>(x + off, c) - lanes_at<T>(shift, c);
    v1 = d;
    v2 = d * d;
  }, s1, s2);
}

template <typename S>
void row_grad_sums(const S* dy, const S* x, S* g_out, int64_t rows, int64_t C, const S* mean, const S* scale,
                   const S* shift, int act, double* sg, double* sgx) {
  auto body = [&](auto act_c) {
    row_channel_sums<S>(rows, C, [&](int64_t off, int64_t c, auto& v1, auto& v2) {
      using T = std::remove_reference_t<decltype(v1)>;
      const T xv = lanes_at<T>(x + off, c), m = lanes_at<T>(mean, c);
      const T g = gn_act_grad(lanes_at<T>(dy + off, c), xv, m, lanes_at<T>(scale, c), lanes_at<T>(shift, c),
                              decltype(act_c)::value);
      store_lanes(g, g_out + off + c);
      v1 = g;
      v2 = g * (xv - m);
    }, sg, sgx);
  };
  if (act == kGnActSilu) body(std::integral_constant<int, kGnActSilu>{});
  else body(std::integral_constant<int, kGnActNone>{});
}

template <int Act, typename S>
void row_forward_act(const S* x, S* y, int64_t rows, int64_t C, const S* mean, const S* scale, const S* shift) {
  for (int64_t r = 0; r < rows; ++r) {
    const S* xr = x + r * C;
    S* yr = y + r * C;
    run_elementwise<S>(C, [&](auto t, int64_t c) {
      using T = decltype(t);
      store_lanes(gn_forward(lanes_at<T>(xr, c), lanes_at<T>(mean, c), lanes_at<T>(scale, c),
                             lanes_at<T>(shift, c), Act),
                  yr + c);
    });
  }
}

template <typename S>
void row_forward(const S* x, S* y, int64_t rows, int64_t C, const S* mean, const S* scale, const S* shift, int act) {
  if (act == kGnActSilu) row_forward_act<kGnActSilu>(x, y, rows, C, mean, scale, shift);
  else row_forward_act<kGnActNone>(x, y, rows, C, mean, scale, shift);
}

template <typename S>
void row_input_grad(const S* g, const S* x, S* dx, int64_t rows, int64_t C, const S* mean, const S* scale,
                    const S* c2, const S* c3) {
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t off = r * C;
    run_elementwise<S>(C, [&](auto t, int64_t c) {
      using T = decltype(t);
      store_lanes(gn_input_grad(lanes_at<T>(g + off, c), lanes_at<T>(x + off, c), lanes_at<T>(mean, c),
                                lanes_at<T>(scale, c), lanes_at<T>(c2, c), lanes_at<T>(c3, c)),
                  dx + off + c);
    });
  }
}

template <typename S>
constexpr GroupNormFns<S> fns() {
  return {&run_sums<S>,     &row_sums<S>,      &run_forward<S>,    &row_forward<S>,
          &run_grad_sums<S>, &row_grad_sums<S>, &run_input_grad<S>, &row_input_grad<S>};
}

}  // namespace

extern const GroupNormKernels group_norm = {fns<float>(), fns<double>()};

}  // namespace vision_ext::cpu::VE_CPU_NS
