// Argument checks, layout and allocation shared by the CPU and CUDA GroupNorm (+ SiLU) ops, so
// both devices accept the same inputs and word their errors alike; register_group_norm_ops<Backend>
// registers the family with a backend's kernels (Backend::forward / Backend::backward).
#pragma once
#include <ATen/ATen.h>
#include <torch/library.h>

#include <cmath>
#include <optional>
#include <string>
#include <tuple>

#include "vision_ext/group_norm.h"

namespace vision_ext::group_norm {

// The problem as the kernels see it: x is (N, C, HW) in NCHW order, or (N, HW, C) channels_last.
struct Shape {
  int64_t n, c, hw, groups;
  bool channels_last;
  int64_t group_channels() const { return c / groups; }
};

// channels_last only where it differs from the contiguous layout (4-D, not also contiguous).
inline bool is_channels_last(const at::Tensor& x) {
  return x.dim() == 4 && !x.is_contiguous() && x.is_contiguous(at::MemoryFormat::ChannelsLast);
}

inline at::MemoryFormat layout_of(const at::Tensor& x) {
  return is_channels_last(x) ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
}

// Statistics (and the per-channel parameters inside the kernels) in float64 for float64 x, else float32.
inline at::ScalarType acc_type_of(const at::Tensor& x) {
  return x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

inline int parse_act(const std::string& act, const char* op) {
  if (act == "silu") return kGnActSilu;
  if (act == "none") return kGnActNone;
  TORCH_CHECK(false, op, ": act must be \"silu\" or \"none\" (None in Python), got \"", act, "\"");
  return kGnActNone;
}

inline Shape check_input(const char* op, const at::Tensor& x, int64_t groups) {
  TORCH_CHECK(x.dim() >= 2, op, ": x must have shape (N, C, *), got ", x.dim(), "-D with shape ", x.sizes());
  const auto st = x.scalar_type();
  TORCH_CHECK(st == at::kFloat || st == at::kDouble || st == at::kHalf || st == at::kBFloat16, op,
              ": x must be float32, float64, float16 or bfloat16, got ", st, "; convert it with .float()");
  const int64_t n = x.size(0), c = x.size(1);
  TORCH_CHECK(groups >= 1, op, ": groups must be >= 1, got ", groups);
  TORCH_CHECK(c % groups == 0, op, ": groups must divide the channels, got C = x.shape[1] = ", c, " and groups = ",
              groups, "; use a divisor of C (e.g. math.gcd(32, C))");
  const int64_t hw = n * c == 0 ? 0 : x.numel() / (n * c);
  return Shape{n, c, hw, groups, is_channels_last(x)};
}

inline void check_parameter(const char* op, const char* name, const std::optional<at::Tensor>& v,
                            const at::Tensor& x) {
  if (!v.has_value()) return;
  TORCH_CHECK(v->dim() == 1 && v->size(0) == x.size(1), op, ": ", name, " must have shape (C,) = (", x.size(1),
              ",) to match x's channels, got ", v->sizes());
  TORCH_CHECK(v->device() == x.device(), op, ": ", name, " is on ", v->device(), " but x is on ", x.device(),
              "; move both to the same device");
  TORCH_CHECK(at::isFloatingType(v->scalar_type()), op, ": ", name, " must be floating point, got ",
              v->scalar_type());
}

// weight / bias as contiguous (C,) vectors in the accumulate type; absent ones are `fill` (1 or 0).
inline at::Tensor parameter_or(const std::optional<at::Tensor>& v, const at::Tensor& x, double fill) {
  const auto opts = x.options().dtype(acc_type_of(x));
  return v.has_value() ? v->to(opts).contiguous() : at::full({x.size(1)}, fill, opts);
}

inline at::Tensor as_kernel_layout(const at::Tensor& x, const Shape& s) {
  return x.contiguous(s.channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous);
}

// What a backend's forward gets: x in the kernel layout, (C,) parameters in the accumulate type,
// and the outputs allocated (out in x's layout, mean / rstd (N, groups)).
struct ForwardArgs {
  Shape s;
  at::Tensor x, weight, bias, out, mean, rstd;
  double eps;
  int act;
};

struct BackwardArgs {
  Shape s;
  at::Tensor grad_out, x, mean, rstd, weight, bias, grad_x, grad_weight, grad_bias;  // grad_weight/bias: acc type
  int act;
};

template <class Backend>
std::tuple<at::Tensor, at::Tensor, at::Tensor> forward(const at::Tensor& x, int64_t groups,
                                                       const std::optional<at::Tensor>& weight,
                                                       const std::optional<at::Tensor>& bias, double eps,
                                                       const std::string& act) {
  constexpr const char* op = "vision_ext::group_norm";
  const Shape s = check_input(op, x, groups);
  check_parameter(op, "weight", weight, x);
  check_parameter(op, "bias", bias, x);
  TORCH_CHECK(eps >= 0.0, op, ": eps must be >= 0, got ", eps);
  const int a = parse_act(act, op);
  typename Backend::Guard guard(x.device());
  ForwardArgs f{s, as_kernel_layout(x, s), parameter_or(weight, x, 1.0), parameter_or(bias, x, 0.0), {}, {}, {},
                eps, a};
  f.out = at::empty_like(f.x, layout_of(x));
  f.mean = at::empty({s.n, groups}, x.options().dtype(acc_type_of(x)));
  f.rstd = at::empty_like(f.mean);
  if (f.out.numel() > 0) {
    Backend::forward(f);
  } else {  // no elements: the statistics of nothing, as ATen reports them
    f.mean.zero_();
    f.rstd.fill_(1.0 / std::sqrt(eps));
  }
  return {f.out, f.mean, f.rstd};
}

template <class Backend>
std::tuple<at::Tensor, at::Tensor, at::Tensor> backward(const at::Tensor& grad_out, const at::Tensor& x,
                                                        const at::Tensor& mean, const at::Tensor& rstd,
                                                        const std::optional<at::Tensor>& weight,
                                                        const std::optional<at::Tensor>& bias, int64_t groups,
                                                        const std::string& act) {
  constexpr const char* op = "vision_ext::_group_norm_backward";
  const Shape s = check_input(op, x, groups);
  check_parameter(op, "weight", weight, x);
  check_parameter(op, "bias", bias, x);
  const int a = parse_act(act, op);
  TORCH_CHECK(grad_out.sizes() == x.sizes() && grad_out.scalar_type() == x.scalar_type() &&
                  grad_out.device() == x.device(),
              op, ": grad_out must match x (shape ", x.sizes(), ", ", x.scalar_type(), ", ", x.device(), "), got ",
              grad_out.sizes(), ", ", grad_out.scalar_type(), ", ", grad_out.device());
  for (const at::Tensor* t : {&mean, &rstd})
    TORCH_CHECK(t->dim() == 2 && t->size(0) == s.n && t->size(1) == groups && t->device() == x.device(), op,
                ": mean and rstd must be the (N, groups) = (", s.n, ", ", groups,
                ") statistics group_norm returned, got ", t->sizes(), " on ", t->device());
  typename Backend::Guard guard(x.device());
  const auto acc = x.options().dtype(acc_type_of(x));
  BackwardArgs b{s, as_kernel_layout(grad_out, s), as_kernel_layout(x, s), mean.to(acc).contiguous(),
                 rstd.to(acc).contiguous(), parameter_or(weight, x, 1.0), parameter_or(bias, x, 0.0), {}, {}, {}, a};
  b.grad_x = at::empty_like(b.x, layout_of(x));
  b.grad_weight = at::zeros({s.c}, acc);
  b.grad_bias = at::zeros({s.c}, acc);
  if (b.grad_x.numel() > 0) Backend::backward(b);
  const at::ScalarType wt = weight.has_value() ? weight->scalar_type() : x.scalar_type();
  const at::ScalarType bt = bias.has_value() ? bias->scalar_type() : x.scalar_type();
  return {b.grad_x, b.grad_weight.to(wt), b.grad_bias.to(bt)};
}

template <class Backend>
void register_group_norm_ops(torch::Library& m) {
  m.impl("group_norm", &forward<Backend>);
  m.impl("_group_norm_backward", &backward<Backend>);
}

}  // namespace vision_ext::group_norm
