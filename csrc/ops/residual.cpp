// Schemas of the fused residual family (conv + bias/BN + add + ReLU).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(vision_ext, m) {
  // out = post(pre(x * scale[c] + shift[c]) + residual); scale/shift per channel (dim 1).
  m.def(
      "residual_epilogue(Tensor x, Tensor? scale, Tensor? shift, Tensor? residual, bool inner_relu, "
      "bool outer_relu) -> Tensor");
  // out = post(pre(conv2d(x, weight) + bias) + residual), as F.conv2d with zero padding.
  m.def(
      "conv_bias_act(Tensor x, Tensor weight, Tensor? bias, Tensor? residual, int[2] stride, "
      "int[2] padding, int[2] dilation, int groups, bool inner_relu, bool outer_relu) -> Tensor");
  // Training batch norm with batch statistics + optional residual + optional ReLU.
  // Returns (out, batch mean, biased batch variance, bit mask of out > 0 or an empty tensor).
  m.def(
      "bn_add_relu(Tensor x, Tensor weight, Tensor bias, Tensor? residual, float eps, bool relu) "
      "-> (Tensor, Tensor, Tensor, Tensor)");
  // Backward of bn_add_relu: (grad_x, grad_weight, grad_bias, grad_residual or an empty tensor).
  m.def(
      "_bn_add_relu_backward(Tensor grad_out, Tensor x, Tensor weight, Tensor mean, Tensor var, "
      "Tensor mask, float eps, bool has_residual) -> (Tensor, Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_FRAGMENT(vision_ext, m) {
  // Winograd F(4x4,3x3) weights (C_out, C_in, 3, 3) -> (36, C_in, C_out): pack once, reuse per call.
  m.def("winograd_pack_weight(Tensor weight) -> Tensor");
  // post(pre(conv3x3(x, weight) + bias) + residual), stride 1, given packed weights.
  m.def(
      "conv3x3_winograd(Tensor x, Tensor packed_weight, Tensor? bias, Tensor? residual, int padding, "
      "bool inner_relu, bool outer_relu) -> Tensor");
  // The weight gradient (C_out, C_in, 3, 3) of a 3x3 stride-1 conv of x whose output gradient is
  // grad_output, by Winograd F(4x4,3x3) (training's backward of conv3x3_winograd layers).
  m.def("conv3x3_winograd_weight_grad(Tensor x, Tensor grad_output, int padding) -> Tensor");
}
