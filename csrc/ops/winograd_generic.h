// Device-generic Winograd F(4x4,3x3) through ATen ops: weight packing for every device,
// and the reference/CUDA path of conv3x3_winograd (the CPU fp32 path has its own kernel).
// The transform matrices are built from the torch-free 1-D transforms, so both paths
// share one definition.
#pragma once
#include <ATen/ATen.h>
#include <ATen/OpMathType.h>

#include "residual_common.h"
#include "vision_ext/winograd.h"

namespace vision_ext::winograd {

// The matrix of a 1-D transform with `in` inputs and `out` outputs, applied to unit vectors.
template <int In, int Out, typename F>
inline at::Tensor transform_matrix(F fn, const at::TensorOptions& opts) {
  at::Tensor m = at::zeros({Out, In}, at::kDouble);
  for (int j = 0; j < In; ++j) {
    double e[In] = {}, o[Out];
    e[j] = 1.0;
    fn(e, o);
    for (int i = 0; i < Out; ++i) m[i][j] = o[i];
  }
  return m.to(opts);
}

inline void check_packed(const char* op, const at::Tensor& packed, int64_t c_in) {
  TORCH_CHECK(packed.dim() == 3 && packed.size(0) == 36 && packed.size(1) == c_in, op,
              ": packed_weight must come from winograd_pack_weight: shape (36, C_in=", c_in, ", C_out), got ",
              packed.sizes());
}

inline void check_weight(const at::Tensor& w) {
  TORCH_CHECK(w.dim() == 4 && w.size(2) == 3 && w.size(3) == 3, "vision_ext::winograd_pack_weight: weight must be "
              "(C_out, C_in, 3, 3), got ", w.sizes());
  TORCH_CHECK(at::isFloatingType(w.scalar_type()), "vision_ext::winograd_pack_weight: weight must be floating, got ",
              w.scalar_type());
}

inline at::Tensor pack_weight(const at::Tensor& w) {
  check_weight(w);
  // Pack in float64 then cast: the fp32 transform of G's sixths would add rounding. fp16/bf16 weights
  // pack to float32 (their op maths type): rounding the transformed weights to half precision made
  // the output ~20x less accurate than F.conv2d in that dtype.
  const at::Tensor g = transform_matrix<3, 6>(weight_1d<double>, w.options().dtype(at::kDouble));
  const at::Tensor u = at::matmul(at::matmul(g, w.to(at::kDouble)), g.t());  // (C_out, C_in, 6, 6)
  return u.permute({2, 3, 1, 0}).reshape({36, w.size(1), w.size(0)}).to(at::toOpMathType(w.scalar_type()))
      .contiguous();
}

// Output shape checks shared by both paths; returns (H_out, W_out).
inline std::pair<int64_t, int64_t> check_call(const at::Tensor& x, const at::Tensor& packed,
                                              const std::optional<at::Tensor>& bias,
                                              const std::optional<at::Tensor>& residual, int64_t padding) {
  const char* op = "vision_ext::conv3x3_winograd";
  residual::check_activation(op, "x", x);
  check_packed(op, packed, x.size(1));
  // A half-precision x takes float32 packed weights (what winograd_pack_weight makes of half weights) or,
  // after a module's .half(), its own dtype.
  const at::ScalarType want = at::toOpMathType(x.scalar_type());
  TORCH_CHECK((packed.scalar_type() == want || packed.scalar_type() == x.scalar_type()) &&
                  packed.device() == x.device(),
              op, ": packed_weight must be winograd_pack_weight of a weight of x's dtype, on x's device (", want,
              ", ", x.device(), "), got ", packed.scalar_type(), ", ", packed.device());
  TORCH_CHECK(padding >= 0, op, ": padding must be non-negative, got ", padding);
  const int64_t ho = x.size(2) + 2 * padding - 2, wo = x.size(3) + 2 * padding - 2;
  TORCH_CHECK(ho > 0 && wo > 0, op, ": input spatial size ", x.sizes().slice(2), " is too small for a 3x3 kernel "
              "with padding ", padding);
  if (bias)
    TORCH_CHECK(bias->dim() == 1 && bias->size(0) == packed.size(2), op, ": bias must have shape (C_out,) = (",
                packed.size(2), ",), got ", bias->sizes());
  if (residual) residual::check_residual(op, *residual, {x.size(0), packed.size(2), ho, wo}, x);
  return {ho, wo};
}

inline at::Tensor conv_generic(const at::Tensor& x_in, const at::Tensor& packed_in, const std::optional<at::Tensor>& bias,
                               const std::optional<at::Tensor>& residual, int64_t padding, bool inner_relu,
                               bool outer_relu) {
  const auto [ho, wo] = check_call(x_in, packed_in, bias, residual, padding);
  // fp16/bf16 in fp32: the transforms' coefficients (up to 8, sums of 36 terms) lose too much in half
  // precision; bias and residual join in that type too, and the output takes x's dtype, as on the fast path.
  const at::ScalarType io = x_in.scalar_type(), acc = at::toOpMathType(io);
  const at::Tensor x = x_in.to(acc), packed = packed_in.to(acc);
  const int64_t n = x.size(0), k = packed.size(2), th = (ho + 3) / 4, tw = (wo + 3) / 4;
  const auto opts = x.options();
  const at::Tensor bt = transform_matrix<6, 6>(input_1d<double>, opts);
  const at::Tensor at_ = transform_matrix<6, 4>(output_1d<double>, opts);
  const at::Tensor xp = at::constant_pad_nd(x, {padding, tw * 4 + 2 - x.size(3) - padding, padding,
                                                th * 4 + 2 - x.size(2) - padding});
  const at::Tensor tiles = xp.unfold(2, 6, 4).unfold(3, 6, 4);                 // N, C, th, tw, 6, 6
  const at::Tensor v = at::matmul(at::matmul(bt, tiles), bt.t());              // N, C, th, tw, 6, 6
  const at::Tensor vv = v.permute({4, 5, 0, 2, 3, 1}).reshape({36, n * th * tw, x.size(1)});
  const at::Tensor m = at::bmm(vv, packed).reshape({6, 6, n, th, tw, k}).permute({2, 3, 4, 5, 0, 1});
  const at::Tensor y = at::matmul(at::matmul(at_, m), at_.t());                // N, th, tw, K, 4, 4
  at::Tensor out = y.permute({0, 3, 1, 4, 2, 5}).reshape({n, k, th * 4, tw * 4})
                       .slice(2, 0, ho).slice(3, 0, wo).contiguous(residual::layout_of(x));
  if (bias) out = out + bias->to(acc).view({1, -1, 1, 1});
  if (inner_relu) out = at::relu(out);
  if (residual) out = out + residual->to(acc);
  return (outer_relu ? at::relu(out) : out).to(io);
}

// conv3x3_winograd_weight_grad's checks, shared by both paths: grad_output must be the output
// gradient of a 3x3 stride-1 conv of x with this padding.
inline void check_weight_grad_call(const at::Tensor& x, const at::Tensor& grad, int64_t padding) {
  const char* op = "vision_ext::conv3x3_winograd_weight_grad";
  residual::check_activation(op, "x", x);
  residual::check_activation(op, "grad_output", grad);
  TORCH_CHECK(padding >= 0, op, ": padding must be non-negative, got ", padding);
  TORCH_CHECK(grad.scalar_type() == x.scalar_type() && grad.device() == x.device(), op,
              ": grad_output must have x's dtype and device (", x.scalar_type(), ", ", x.device(), "), got ",
              grad.scalar_type(), ", ", grad.device());
  const int64_t ho = x.size(2) + 2 * padding - 2, wo = x.size(3) + 2 * padding - 2;
  TORCH_CHECK(ho > 0 && wo > 0, op, ": input spatial size ", x.sizes().slice(2), " is too small for a 3x3 kernel "
              "with padding ", padding);
  TORCH_CHECK(grad.size(0) == x.size(0) && grad.size(2) == ho && grad.size(3) == wo, op,
              ": grad_output must be (N, C_out, H + 2 padding - 2, W + 2 padding - 2) = (", x.size(0), ", C_out, ", ho,
              ", ", wo, ") for x of shape ", x.sizes(), ", got ", grad.sizes());
}

// dW (C_out, C_in, 3, 3) = sum over tiles of G^T [(A dy A^T) . (B^T d B)] G through ATen ops (batched
// GEMM over the 36 points), in the op maths type; the reference and CUDA path of the weight gradient.
inline at::Tensor weight_grad_generic(const at::Tensor& x_in, const at::Tensor& grad_in, int64_t padding) {
  check_weight_grad_call(x_in, grad_in, padding);
  const at::ScalarType io = x_in.scalar_type(), acc = at::toOpMathType(io);
  const at::Tensor x = x_in.to(acc), grad = grad_in.to(acc);
  const int64_t n = x.size(0), c = x.size(1), k = grad.size(1), ho = grad.size(2), wo = grad.size(3);
  const int64_t th = (ho + 3) / 4, tw = (wo + 3) / 4;
  const auto opts = x.options();
  const at::Tensor bt = transform_matrix<6, 6>(input_1d<double>, opts);
  const at::Tensor a = transform_matrix<4, 6>(grad_output_1d<double>, opts);   // 6 x 4
  const at::Tensor gt = transform_matrix<6, 3>(grad_weight_1d<double>, opts);  // 3 x 6
  const at::Tensor xp = at::constant_pad_nd(x, {padding, tw * 4 + 2 - x.size(3) - padding, padding,
                                                th * 4 + 2 - x.size(2) - padding});
  const at::Tensor tiles = xp.unfold(2, 6, 4).unfold(3, 6, 4);                  // N, C, th, tw, 6, 6
  const at::Tensor v = at::matmul(at::matmul(bt, tiles), bt.t())
                           .permute({4, 5, 0, 2, 3, 1}).reshape({36, n * th * tw, c});
  const at::Tensor gp = at::constant_pad_nd(grad, {0, tw * 4 - wo, 0, th * 4 - ho}).unfold(2, 4, 4).unfold(3, 4, 4);
  const at::Tensor d = at::matmul(at::matmul(a, gp), a.t())                     // N, K, th, tw, 6, 6
                           .permute({4, 5, 0, 2, 3, 1}).reshape({36, n * th * tw, k});
  const at::Tensor m = at::bmm(d.transpose(1, 2), v).reshape({6, 6, k, c}).permute({2, 3, 0, 1});
  return at::matmul(at::matmul(gt, m), gt.t()).to(io).contiguous();            // K, C, 3, 3
}

}  // namespace vision_ext::winograd
