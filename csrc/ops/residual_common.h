// Argument checks and layout plumbing shared by the CPU and CUDA glue of the
// residual family (torch-dependent, so it lives beside the ops, not in include/).
#pragma once
#include <ATen/ATen.h>

#include <optional>
#include <string>

#include "vision_ext/epilogue.h"

namespace vision_ext::residual {

// The two layouts the kernels read; anything else is made contiguous first.
inline bool is_channels_last(const at::Tensor& t) {
  return t.dim() == 4 && !t.is_contiguous() && t.is_contiguous(at::MemoryFormat::ChannelsLast);
}

inline at::MemoryFormat layout_of(const at::Tensor& t) {
  return is_channels_last(t) ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
}

inline void check_activation(const char* op, const char* name, const at::Tensor& x) {
  TORCH_CHECK(x.dim() == 4, op, ": ", name, " must be a 4-D (N, C, H, W) tensor, got ", x.dim(),
              "-D with shape ", x.sizes());
  TORCH_CHECK(at::isFloatingType(x.scalar_type()), op, ": ", name,
              " must be float32, float64, float16 or bfloat16, got ", x.scalar_type(),
              "; convert it with .float()");
}

// A per-channel vector (scale, shift, bias, BN weight) of length C on x's device.
inline void check_per_channel(const char* op, const char* name, const at::Tensor& v, const at::Tensor& x) {
  TORCH_CHECK(v.dim() == 1 && v.size(0) == x.size(1), op, ": ", name, " must have shape (C,) = (", x.size(1),
              ",) to match x's channels, got ", v.sizes());
  TORCH_CHECK(v.device() == x.device(), op, ": ", name, " is on ", v.device(), " but x is on ", x.device(),
              "; move both to the same device");
  TORCH_CHECK(at::isFloatingType(v.scalar_type()), op, ": ", name, " must be floating point, got ",
              v.scalar_type());
}

inline void check_residual(const char* op, const at::Tensor& residual, at::IntArrayRef out_sizes,
                           const at::Tensor& x) {
  TORCH_CHECK(residual.sizes() == out_sizes, op, ": residual must have the output's shape ", out_sizes,
              ", got ", residual.sizes(), "; use a downsample/projection shortcut when shapes differ");
  TORCH_CHECK(residual.device() == x.device(), op, ": residual is on ", residual.device(), " but x is on ",
              x.device(), "; move both to the same device");
  TORCH_CHECK(residual.scalar_type() == x.scalar_type(), op, ": residual dtype ", residual.scalar_type(),
              " differs from x's ", x.scalar_type(), "; cast one of them");
}

// Accumulate type of the per-channel vectors: double for double activations, else float.
inline at::ScalarType acc_type_of(const at::Tensor& x) {
  return x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

inline at::Tensor per_channel_as(const std::optional<at::Tensor>& v, const at::Tensor& x) {
  return v.has_value() ? v->to(acc_type_of(x)).contiguous() : at::Tensor();
}

// rows x row_len view of a 4-D tensor in `format` (see epilogue.h).
struct RowLayout {
  int64_t rows;
  int64_t row_len;
  int64_t channels;
  bool channels_last;
};

inline RowLayout row_layout(const at::Tensor& x, at::MemoryFormat format) {
  const bool cl = format == at::MemoryFormat::ChannelsLast;
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
  return cl ? RowLayout{n * hw, c, c, true} : RowLayout{n * c, hw, c, false};
}

inline EpilogueParams epilogue_params(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& shift,
                                      const at::Tensor& residual, at::Tensor& out, bool inner_relu,
                                      bool outer_relu) {
  const RowLayout l = row_layout(x, layout_of(x));
  EpilogueParams p{};
  p.x = x.data_ptr();
  p.scale = scale.defined() ? scale.data_ptr() : nullptr;
  p.shift = shift.defined() ? shift.data_ptr() : nullptr;
  p.residual = residual.defined() ? residual.data_ptr() : nullptr;
  p.out = out.data_ptr();
  p.rows = l.rows;
  p.row_len = l.row_len;
  p.channels = l.channels;
  p.channels_last = l.channels_last;
  p.flags = EpilogueFlags{inner_relu, outer_relu};
  return p;
}

}  // namespace vision_ext::residual
