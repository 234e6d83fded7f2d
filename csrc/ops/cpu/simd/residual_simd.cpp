// The residual family's CPU loops, compiled once per level (residual_simd.h). Every element goes
// through the shared formulas of csrc/include/vision_ext (epilogue_value, bn_output,
// bn_grad_input, winograd::weight_2d) instantiated with 16-lane vectors (simd/wide.h); a row's tail
// is the same vector code on a partial load, so tails and bodies round alike. fp16/bf16 are
// converted with bit operations here (round to nearest even, as c10::Half / c10::BFloat16 do).
//
// Vectors wider than the base level's registers are passed between this file's internal helpers
// only (no ABI boundary), so GCC's note that their calling convention depends on -mavx is moot.
#pragma GCC diagnostic ignored "-Wpsabi"

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "isa.h"
#include "vec.h"
#include "wide.h"
#include "residual_simd.h"
#include "vision_ext/batch_norm.h"
#include "vision_ext/epilogue.h"
#include "vision_ext/winograd.h"

namespace vision_ext::cpu::VE_CPU_NS {
namespace {

using vision_ext::bn_grad_input;
using vision_ext::bn_output;
using vision_ext::epilogue_value;

// One logical width at every level (the compiler maps it onto 1, 2 or 4 registers): the lane
// partials of a sum, hence its rounding, are then the same at every level, and so are the bits.
constexpr int kW = 16;

template <typename S> using Raw = typename RawVec<S, kW>::type;  // fp16/bf16 conversions only
template <typename M> using W = Wide<M, kW>;
using D = W<double>;

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

template <typename To, typename From>
inline To bits_as(From v) {
  static_assert(sizeof(To) == sizeof(From));
  To t;
  std::memcpy(&t, &v, sizeof(t));
  return t;
}

// ---- storage types ----------------------------------------------------------------------------
struct Half {};    // IEEE binary16 bits
struct BFloat {};  // bfloat16 bits

Raw<float> half_to_float(Raw<uint16_t> h) {
  const Raw<uint32_t> w = __builtin_convertvector(h, Raw<uint32_t>);
  const Raw<uint32_t> sign = (w & 0x8000u) << 16, em = w & 0x7fffu;  // em: exponent and mantissa
  const Raw<uint32_t> normal = (em << 13) + (112u << 23);             // rebias 15 -> 127
  const Raw<uint32_t> special = (em << 13) | 0x7f800000u;             // inf, NaN (payload kept)
  // Subnormal halves are m * 2^-24: exact as a float product, never a float subnormal.
  const Raw<uint32_t> sub =
      bits_as<Raw<uint32_t>>(__builtin_convertvector(bits_as<Raw<int32_t>>(em), Raw<float>) * 0x1p-24f);
  const Raw<uint32_t> out = em >= 0x7c00u ? special : (em < 0x0400u ? sub : normal);
  return bits_as<Raw<float>>(out | sign);
}

Raw<uint16_t> float_to_half(Raw<float> f) {
  const Raw<uint32_t> u = bits_as<Raw<uint32_t>>(f);
  const Raw<uint32_t> sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
  // Normal halves: drop 13 mantissa bits rounding to nearest even (a carry bumps the exponent).
  const Raw<uint32_t> normal = (a - (112u << 23) + 0x0fffu + ((a >> 13) & 1u)) >> 13;
  // Below 2^-14: |f| * 2^24 rounded to an integer by the float adder (round to nearest even).
  const Raw<float> scaled = bits_as<Raw<float>>(a) * 0x1p24f + 0x1p23f;
  const Raw<uint32_t> sub = bits_as<Raw<uint32_t>>(scaled) - 0x4b000000u;
  const Raw<uint32_t> h = a > 0x7f800000u ? Raw<uint32_t>{} + 0x7e00u      // NaN: quiet, sign kept
                          : a >= 0x477ff000u ? Raw<uint32_t>{} + 0x7c00u  // rounds past 65504: inf
                          : a >= 0x38800000u ? normal
                                             : sub;
  return __builtin_convertvector(h | sign, Raw<uint16_t>);
}

Raw<float> bfloat_to_float(Raw<uint16_t> h) {
  return bits_as<Raw<float>>(__builtin_convertvector(h, Raw<uint32_t>) << 16);
}

Raw<uint16_t> float_to_bfloat(Raw<float> f) {
  const Raw<uint32_t> u = bits_as<Raw<uint32_t>>(f);
  const Raw<uint32_t> rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  const Raw<uint32_t> out = (u & 0x7fffffffu) > 0x7f800000u ? Raw<uint32_t>{} + 0x7fc0u : rounded;
  return __builtin_convertvector(out, Raw<uint16_t>);
}

// n <= kW elements of T at p as a vector, the other lanes 0; and the first n lanes stored. A whole
// vector moves a register at a time; only a row's tail goes through a buffer.
template <typename T>
VE_WIDE W<T> load_n(const T* p, int64_t n) {
  if (n == kW) return W<T>::load(p);
  T buf[kW] = {};
  std::memcpy(buf, p, sizeof(T) * n);
  return W<T>::load(buf);
}
template <typename T>
VE_WIDE void store_n(W<T> v, T* p, int64_t n) {
  if (n == kW) return v.store(p);
  T buf[kW];
  v.store(buf);
  std::memcpy(p, buf, sizeof(T) * n);
}

// Io<S>: storage St, accumulate type M, loads/stores of n <= kW elements (lanes past n load as 0 and
// are not stored). fp16/bf16 convert through GCC vectors of kW lanes (the bit tricks above).
template <typename S> struct Io {
  using St = S;
  using M = S;
  VE_WIDE static W<M> load(const St* p, int64_t n) { return load_n(p, n); }
  VE_WIDE static void store(W<M> v, St* p, int64_t n) { store_n(v, p, n); }
};
template <typename Bits>
struct HalfIo {
  using St = uint16_t;
  using M = float;
  static W<float> load(const St* p, int64_t n) {
    Raw<uint16_t> h{};
    std::memcpy(&h, p, sizeof(St) * n);
    const Raw<float> f = Bits::to_float(h);
    return W<float>::load(reinterpret_cast<const float*>(&f));
  }
  static void store(W<float> v, St* p, int64_t n) {
    Raw<float> f;
    v.store(reinterpret_cast<float*>(&f));
    const Raw<uint16_t> h = Bits::from_float(f);
    std::memcpy(p, &h, sizeof(St) * n);
  }
};
struct HalfBits {
  static Raw<float> to_float(Raw<uint16_t> h) { return half_to_float(h); }
  static Raw<uint16_t> from_float(Raw<float> f) { return float_to_half(f); }
};
struct BFloatBits {
  static Raw<float> to_float(Raw<uint16_t> h) { return bfloat_to_float(h); }
  static Raw<uint16_t> from_float(Raw<float> f) { return float_to_bfloat(f); }
};
template <> struct Io<Half> : HalfIo<HalfBits> {};
template <> struct Io<BFloat> : HalfIo<BFloatBits> {};

template <typename S, typename M = typename Io<S>::M>
VE_WIDE W<M> load(const typename Io<S>::St* p, int64_t n) {
  return Io<S>::load(p, n);
}
template <typename S, typename M>
VE_WIDE void store(W<M> v, typename Io<S>::St* p, int64_t n) {
  Io<S>::store(v, p, n);
}
template <typename M>
VE_WIDE W<M> load_acc(const M* p, int64_t n) {
  return load_n(p, n);
}

// v with the lanes from n on set to 0 (a row's tail: load_n leaves them 0, but x - shift does not).
template <typename M>
VE_WIDE W<M> zero_past(W<M> v, int64_t n) {
  if (n == kW) return v;
  M buf[kW];
  v.store(buf);
  for (int64_t i = n; i < kW; ++i) buf[i] = M(0);
  return W<M>::load(buf);
}
// The mask bits of columns [col, col + n) of one row (col a multiple of 16: whole bytes).
inline unsigned mask_word(const unsigned char* row_mask, int64_t col, int64_t n) {
  const unsigned lo = row_mask[col / 8];
  return n > 8 ? lo | static_cast<unsigned>(row_mask[col / 8 + 1]) << 8 : lo;
}

inline double lane_sum(D v) {
  double s = 0.0;
  for (int i = 0; i < kW; ++i) s += v.get(i);
  return s;
}

template <typename F>
inline void with_kind(ScalarKind kind, F&& f) {
  switch (kind) {
    case ScalarKind::f32: f(float{}); break;
    case ScalarKind::f64: f(double{}); break;
    case ScalarKind::f16: f(Half{}); break;
    case ScalarKind::bf16: f(BFloat{}); break;
  }
}

// The coefficient of channel ch (NCHW: the row's, found once per row) or of the columns (NHWC)
// as kW lanes.
template <typename M>
VE_WIDE W<M> per_channel(const M* v, bool channels_last, int64_t ch, int64_t j, int64_t n) {
  return channels_last ? load_acc(v + j, n) : W<M>(v[ch]);
}

// ---- residual epilogue --------------------------------------------------------------------------
template <typename S>
void epilogue_rows(const EpilogueParams& p, int64_t r0, int64_t r1) {
  using St = typename Io<S>::St;
  using M = typename Io<S>::M;
  using V = W<M>;
  const auto* x = static_cast<const St*>(p.x);
  const auto* res = static_cast<const St*>(p.residual);
  const auto* scale = static_cast<const M*>(p.scale);
  const auto* shift = static_cast<const M*>(p.shift);
  auto* out = static_cast<St*>(p.out);
  const bool inner = p.flags.inner_relu, outer = p.flags.outer_relu;
  const int64_t L = p.row_len;
  const bool cl = p.channels_last;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t ch = cl ? 0 : r % p.channels;
    for (int64_t j = 0; j < L; j += kW) {
      const int64_t n = min64(kW, L - j);
      const V s = scale ? per_channel(scale, cl, ch, j, n) : V(M(1));
      const V t = shift ? per_channel(shift, cl, ch, j, n) : V(M(0));
      const V rv = res ? load<S>(res + r * L + j, n) : V(M(0));
      store<S>(epilogue_value<V>(load<S>(x + r * L + j, n), s, t, rv, inner, outer), out + r * L + j, n);
    }
  }
}

void epilogue(const EpilogueParams& p, ScalarKind kind, int64_t r0, int64_t r1) {
  with_kind(kind, [&](auto s) { epilogue_rows<decltype(s)>(p, r0, r1); });
}

// ---- batch norm + residual + ReLU: forward --------------------------------------------------------
// Adds two per-channel sums over `rows` to a/b. term(r, ch, j, n, ta, tb) gives the kW-lane terms of
// columns [j, j + n) of row r, lanes past n zero. NCHW (one channel): every lane sums its own
// columns, the lanes are added in order at the end; NHWC: per column, rows in order.
// The layout is a template argument so that each loop keeps only its own accumulators in registers
// (16 doubles are 4 ymm registers: NCHW's two sums and two terms fill AVX2's sixteen).
template <bool CL, typename Term>
void sum_rows_as(const int64_t row_len, int64_t channels, BnRows rows, const Term& term, double* a, double* b) {
  D sa(0.0), sb(0.0);
  for (int64_t i = 0; i < rows.count; ++i) {
    const int64_t r = rows.first + i * rows.step;
    const int64_t ch = CL ? 0 : r % channels;
    for (int64_t j = 0; j < row_len; j += kW) {
      const int64_t n = min64(kW, row_len - j);
      D ta, tb;
      term(r, ch, j, n, ta, tb);
      if constexpr (!CL) {
        sa += ta;
        sb += tb;
      } else {
        store_n(load_acc(a + j, n) + ta, a + j, n);
        store_n(load_acc(b + j, n) + tb, b + j, n);
      }
    }
  }
  if constexpr (!CL) {
    *a += lane_sum(sa);
    *b += lane_sum(sb);
  }
}

template <typename Term>
void sum_rows(const int64_t row_len, bool channels_last, int64_t channels, BnRows rows, const Term& term, double* a,
              double* b) {
  if (channels_last)
    sum_rows_as<true>(row_len, channels, rows, term, a, b);
  else
    sum_rows_as<false>(row_len, channels, rows, term, a, b);
}

template <typename S>
void bn_stats_rows(const BnForwardParams& p, const double* shift, BnRows rows, double* a, double* b) {
  const auto* x = static_cast<const typename Io<S>::St*>(p.x);
  sum_rows(p.row_len, p.channels_last, p.channels, rows, [&](int64_t r, int64_t ch, int64_t j, int64_t n, D& ta, D& tb) {
    const D sh = per_channel(shift, p.channels_last, ch, j, n);
    ta = zero_past(widen(load<S>(x + r * p.row_len + j, n)) - sh, n);
    tb = ta * ta;
  }, a, b);
}

template <typename S>
void bn_apply_rows(const BnForwardParams& p, const BnApplyCoefs& coef, int64_t r0, int64_t r1) {
  using St = typename Io<S>::St;
  using M = typename Io<S>::M;
  using V = W<M>;
  const auto* x = static_cast<const St*>(p.x);
  const auto* res = static_cast<const St*>(p.residual);
  const auto* centre = static_cast<const M*>(coef.centre);
  const auto* ca = static_cast<const M*>(coef.a);
  const auto* cb = static_cast<const M*>(coef.b);
  auto* out = static_cast<St*>(p.out);
  const int64_t L = p.row_len, mbytes = mask_row_bytes(L);
  const bool cl = p.channels_last;
  for (int64_t r = r0; r < r1; ++r) {
    St* orow = out + r * L;
    const int64_t ch = cl ? 0 : r % p.channels;
    for (int64_t j = 0; j < L; j += kW) {
      const int64_t n = min64(kW, L - j);
      const V ce = per_channel(centre, cl, ch, j, n), va = per_channel(ca, cl, ch, j, n),
              vb = per_channel(cb, cl, ch, j, n);
      const V rv = res ? load<S>(res + r * L + j, n) : V(M(0));
      store<S>(bn_output<V>(load<S>(x + r * L + j, n), ce, va, vb, rv, res != nullptr, p.relu), orow + j, n);
      if (!p.mask) continue;
      // The stored (rounded) value decides, as the backward and the CUDA kernel read it.
      const unsigned bits = positive_lane_bits(load<S>(orow + j, n));
      unsigned char* m = p.mask + r * mbytes + j / 8;
      m[0] = static_cast<unsigned char>(bits);
      if (n > 8) m[1] = static_cast<unsigned char>(bits >> 8);
    }
  }
}

void bn_stats(const BnForwardParams& p, ScalarKind kind, const double* shift, BnRows rows, double* a, double* b) {
  with_kind(kind, [&](auto s) { bn_stats_rows<decltype(s)>(p, shift, rows, a, b); });
}

void bn_apply(const BnForwardParams& p, ScalarKind kind, const BnApplyCoefs& coef, int64_t r0, int64_t r1) {
  with_kind(kind, [&](auto s) { bn_apply_rows<decltype(s)>(p, coef, r0, r1); });
}

// ---- backward ----------------------------------------------------------------------------------
// gm: the output gradient of columns [j, j + n) of row r where the forward's output was positive.
template <typename S, typename M = typename Io<S>::M>
VE_WIDE W<M> masked_grad(const BnBackwardParams& p, int64_t r, int64_t j, int64_t n) {
  const auto* g = static_cast<const typename Io<S>::St*>(p.grad_out);
  const W<M> gv = load<S>(g + r * p.row_len + j, n);
  if (!p.mask) return gv;
  const unsigned bits = mask_word(p.mask + r * mask_row_bytes(p.row_len), j, n);
  return keep_lanes(bits, gv);
}

template <typename S>
void bn_grad_sums_rows(const BnBackwardParams& p, BnRows rows, double* a, double* b) {
  const auto* x = static_cast<const typename Io<S>::St*>(p.x);
  const auto* mean = static_cast<const typename Io<S>::M*>(p.mean);
  sum_rows(p.row_len, p.channels_last, p.channels, rows, [&](int64_t r, int64_t ch, int64_t j, int64_t n, D& ta, D& tb) {
    const auto m = per_channel(mean, p.channels_last, ch, j, n);
    ta = widen(masked_grad<S>(p, r, j, n));
    tb = zero_past(ta * widen(load<S>(x + r * p.row_len + j, n) - m), n);
  }, a, b);
}

template <typename S>
void bn_grad_apply_rows(const BnBackwardParams& p, const BnGradCoefs& coef, int64_t r0, int64_t r1) {
  using St = typename Io<S>::St;
  using M = typename Io<S>::M;
  using V = W<M>;
  const auto* x = static_cast<const St*>(p.x);
  const auto* mean = static_cast<const M*>(p.mean);
  const auto* ck = static_cast<const M*>(coef.k);
  const auto* c1 = static_cast<const M*>(coef.c1);
  const auto* c0 = static_cast<const M*>(coef.c0);
  auto* gx = static_cast<St*>(p.grad_x);
  auto* gres = static_cast<St*>(p.grad_residual);
  const int64_t L = p.row_len;
  const bool cl = p.channels_last;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t ch = cl ? 0 : r % p.channels;
    for (int64_t j = 0; j < L; j += kW) {
      const int64_t n = min64(kW, L - j);
      const V m = per_channel(mean, cl, ch, j, n), k = per_channel(ck, cl, ch, j, n),
              v1 = per_channel(c1, cl, ch, j, n), v0 = per_channel(c0, cl, ch, j, n);
      const V gm = masked_grad<S>(p, r, j, n);
      store<S>(bn_grad_input<V>(gm, load<S>(x + r * L + j, n) - m, k, v1, v0), gx + r * L + j, n);
      if (gres) store<S>(gm, gres + r * L + j, n);
    }
  }
}

void bn_grad_sums(const BnBackwardParams& p, ScalarKind kind, BnRows rows, double* a, double* b) {
  with_kind(kind, [&](auto s) { bn_grad_sums_rows<decltype(s)>(p, rows, a, b); });
}

void bn_grad_apply(const BnBackwardParams& p, ScalarKind kind, const BnGradCoefs& coef, int64_t r0, int64_t r1) {
  with_kind(kind, [&](auto s) { bn_grad_apply_rows<decltype(s)>(p, coef, r0, r1); });
}

// ---- Winograd weight transform ------------------------------------------------------------------
// U[q][c][k .. k+n) = (G w[k][c] G^T)[q] in float64 for kW output channels at once; w is gathered
// through its strides (any layout), the 36 results are written straight into the packed layout.
template <typename T>
void pack_channels(const T* w, const int64_t* st, int64_t C, int64_t K, int64_t c0, int64_t c1, T* u) {
  for (int64_t c = c0; c < c1; ++c)
    for (int64_t k = 0; k < K; k += kW) {
      const int64_t n = min64(kW, K - k);
      D g[9], t[36];
      for (int i = 0; i < 9; ++i) {
        g[i] = D(0.0);
        for (int64_t l = 0; l < n; ++l)
          g[i].set(static_cast<int>(l), static_cast<double>(w[(k + l) * st[0] + c * st[1] + (i / 3) * st[2] + (i % 3) * st[3]]));
      }
      winograd::weight_2d(g, t);
      for (int q = 0; q < 36; ++q) {
        T* dst = u + (q * C + c) * K + k;
        if constexpr (std::is_same_v<T, double>)
          store_n(t[q], dst, n);
        else
          store_n(narrow(t[q]), dst, n);
      }
    }
}

void winograd_pack(const void* w, const int64_t* st, int64_t C, int64_t K, int64_t c0, int64_t c1, ScalarKind kind,
                   void* u) {
  if (kind == ScalarKind::f64)
    pack_channels(static_cast<const double*>(w), st, C, K, c0, c1, static_cast<double*>(u));
  else
    pack_channels(static_cast<const float*>(w), st, C, K, c0, c1, static_cast<float*>(u));
}

}  // namespace

extern const ResidualKernels residual = {&epilogue, &bn_stats, &bn_apply, &bn_grad_sums, &bn_grad_apply,
                                         &winograd_pack};

}  // namespace vision_ext::cpu::VE_CPU_NS
