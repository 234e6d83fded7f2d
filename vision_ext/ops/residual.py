"""Contract of the fused residual ops (csrc/ops/residual.cpp): wrappers, fake kernels, autograd.

- residual_epilogue: post(pre(x*scale + shift) + residual)
- conv_bias_act:     post(pre(conv2d(x, w) + b) + residual)
- bn_add_relu:       relu?(batchnorm_train(x) + residual), returning batch stats and a bit mask
- conv3x3_winograd(_weight_grad): Winograd F(4x4,3x3) 3x3 convs and their weight gradient
"""
from typing import List, Optional, Sequence, Tuple

import torch

from vision_ext._build import register_cuda_missing

_ops = torch.ops.vision_ext
_NAMES = ("residual_epilogue", "conv_bias_act", "bn_add_relu", "_bn_add_relu_backward", "conv3x3_winograd",
          "conv3x3_winograd_weight_grad")
for _name in _NAMES:
    register_cuda_missing(f"vision_ext::{_name}")


def _layout(x: torch.Tensor) -> torch.memory_format:
    cl = x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)
    return torch.channels_last if cl else torch.contiguous_format


def _pair(v) -> List[int]:
    return [int(v), int(v)] if isinstance(v, int) else [int(a) for a in v]


def _mask_bytes(x: torch.Tensor) -> int:
    n, c, h, w = x.shape
    rows, row_len = (n * h * w, c) if _layout(x) == torch.channels_last else (n * c, h * w)
    return rows * ((row_len + 7) // 8)


# ---------------------------------------------------------------------------------------------
# public wrappers
# ---------------------------------------------------------------------------------------------
def residual_epilogue(x: torch.Tensor, scale: Optional[torch.Tensor] = None, shift: Optional[torch.Tensor] = None,
                      residual: Optional[torch.Tensor] = None, inner_relu: bool = False,
                      outer_relu: bool = False) -> torch.Tensor:
    """post(pre(x * scale[c] + shift[c]) + residual) in one pass (per-channel scale/shift on dim 1)."""
    return _ops.residual_epilogue(x, scale, shift, residual, inner_relu, outer_relu)


def conv_bias_act(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor] = None,
                  residual: Optional[torch.Tensor] = None, stride=1, padding=0, dilation=1, groups: int = 1,
                  inner_relu: bool = False, outer_relu: bool = False) -> torch.Tensor:
    """post(pre(F.conv2d(x, weight, bias, stride, padding, dilation, groups)) + residual), fused."""
    if isinstance(padding, str):
        raise ValueError("conv_bias_act: padding must be an int or a pair of ints, not a string; "
                         "compute explicit padding (e.g. kernel_size // 2 for 'same' with stride 1)")
    return _ops.conv_bias_act(x, weight, bias, residual, _pair(stride), _pair(padding), _pair(dilation),
                              int(groups), inner_relu, outer_relu)


def bn_add_relu(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, residual: Optional[torch.Tensor] = None,
                eps: float = 1e-5, relu: bool = True) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Training-mode batch norm (batch statistics) + residual + ReLU.

    Returns (out, batch_mean, biased_batch_var); the caller updates running statistics.
    """
    out, mean, var, _ = _ops.bn_add_relu(x, weight, bias, residual, eps, relu)
    return out, mean, var


def winograd_pack_weight(weight: torch.Tensor) -> torch.Tensor:
    """(C_out, C_in, 3, 3) -> (36, C_in, C_out) Winograd F(4x4,3x3) weights; pack once, reuse per call.
    fp16/bf16 weights pack to float32 (transformed weights rounded to half precision cost ~20x accuracy)."""
    return _ops.winograd_pack_weight(weight)


def conv3x3_winograd(x: torch.Tensor, packed_weight: torch.Tensor, bias: Optional[torch.Tensor] = None,
                     residual: Optional[torch.Tensor] = None, padding: int = 1, inner_relu: bool = False,
                     outer_relu: bool = False) -> torch.Tensor:
    """Inference-only 3x3 stride-1 conv via Winograd F(4x4,3x3) with the fused epilogue (4x fewer multiplies)."""
    return _ops.conv3x3_winograd(x, packed_weight, bias, residual, int(padding), inner_relu, outer_relu)


def conv3x3_winograd_weight_grad(x: torch.Tensor, grad_output: torch.Tensor, padding: int = 1) -> torch.Tensor:
    """The weight gradient (C_out, C_in, 3, 3) of the 3x3 stride-1 conv of x with this zero padding whose
    output gradient is grad_output, by Winograd F(4x4,3x3) (36 multiplies per tile and channel pair
    instead of 144). What training's backward uses for the Winograd layers."""
    return _ops.conv3x3_winograd_weight_grad(x, grad_output, int(padding))


# ---------------------------------------------------------------------------------------------
# fake kernels (shapes, dtypes, memory formats) for torch.compile / FakeTensor
# ---------------------------------------------------------------------------------------------
@torch.library.register_fake("vision_ext::residual_epilogue")
def _(x, scale, shift, residual, inner_relu, outer_relu):
    torch._check(x.dim() == 4, lambda: "vision_ext::residual_epilogue: x must be a 4-D (N, C, H, W) tensor")
    return torch.empty_like(x, memory_format=_layout(x))


def _conv_out_size(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


@torch.library.register_fake("vision_ext::conv_bias_act")
def _(x, weight, bias, residual, stride, padding, dilation, groups, inner_relu, outer_relu):
    torch._check(x.dim() == 4 and weight.dim() == 4, lambda: "vision_ext::conv_bias_act: x and weight must be 4-D")
    h = _conv_out_size(x.shape[2], weight.shape[2], stride[0], padding[0], dilation[0])
    w = _conv_out_size(x.shape[3], weight.shape[3], stride[1], padding[1], dilation[1])
    out = x.new_empty((x.shape[0], weight.shape[0], h, w))
    return out.contiguous(memory_format=_layout(x))


@torch.library.register_fake("vision_ext::winograd_pack_weight")
def _(weight):
    acc = torch.float32 if weight.dtype in (torch.float16, torch.bfloat16) else weight.dtype
    return weight.new_empty((36, weight.shape[1], weight.shape[0]), dtype=acc)


@torch.library.register_fake("vision_ext::conv3x3_winograd")
def _(x, packed_weight, bias, residual, padding, inner_relu, outer_relu):
    h, w = x.shape[2] + 2 * padding - 2, x.shape[3] + 2 * padding - 2
    out = x.new_empty((x.shape[0], packed_weight.shape[2], h, w))
    return out.contiguous(memory_format=torch.channels_last if x.device.type == "cpu" and x.dtype == torch.float32
                          else _layout(x))


@torch.library.register_fake("vision_ext::conv3x3_winograd_weight_grad")
def _(x, grad_output, padding):
    torch._check(x.dim() == 4 and grad_output.dim() == 4,
                 lambda: "vision_ext::conv3x3_winograd_weight_grad: x and grad_output must be 4-D")
    return x.new_empty((grad_output.shape[1], x.shape[1], 3, 3))


@torch.library.register_fake("vision_ext::bn_add_relu")
def _(x, weight, bias, residual, eps, relu):
    acc = torch.float64 if x.dtype == torch.float64 else torch.float32
    c = x.shape[1]
    mask = x.new_empty((_mask_bytes(x) if relu else 0,), dtype=torch.uint8)
    return (torch.empty_like(x, memory_format=_layout(x)), x.new_empty((c,), dtype=acc),
            x.new_empty((c,), dtype=acc), mask)


@torch.library.register_fake("vision_ext::_bn_add_relu_backward")
def _(grad_out, x, weight, mean, var, mask, eps, has_residual):
    gres = torch.empty_like(x, memory_format=_layout(x)) if has_residual else x.new_empty((0,))
    return (torch.empty_like(x, memory_format=_layout(x)), weight.new_empty(weight.shape),
            weight.new_empty(weight.shape), gres)


# ---------------------------------------------------------------------------------------------
# autograd
# ---------------------------------------------------------------------------------------------
def _epilogue_setup(ctx, inputs, output):
    x, scale, shift, residual, inner_relu, outer_relu = inputs
    ctx.inner_relu, ctx.outer_relu = inner_relu, outer_relu
    ctx.has = (scale is not None, shift is not None, residual is not None)
    ctx.save_for_backward(x, scale, shift, output)


def _channel_view(v: torch.Tensor) -> torch.Tensor:
    return v.view(1, -1, 1, 1)


def _epilogue_backward(ctx, grad):
    x, scale, shift, out = ctx.saved_tensors
    has_scale, has_shift, has_res = ctx.has
    g = grad * (out > 0) if ctx.outer_relu else grad
    g_res = g if has_res and ctx.needs_input_grad[3] else None
    if ctx.inner_relu:
        pre = x * (_channel_view(scale) if has_scale else 1) + (_channel_view(shift) if has_shift else 0)
        g = g * (pre > 0)
    g_x = g * _channel_view(scale).to(g.dtype) if has_scale else g
    g_scale = (g * x).sum((0, 2, 3)).to(scale.dtype) if has_scale and ctx.needs_input_grad[1] else None
    g_shift = g.sum((0, 2, 3)).to(shift.dtype) if has_shift and ctx.needs_input_grad[2] else None
    return g_x, g_scale, g_shift, g_res, None, None


torch.library.register_autograd("vision_ext::residual_epilogue", _epilogue_backward, setup_context=_epilogue_setup)


def _conv_setup(ctx, inputs, output):
    x, weight, bias, residual, stride, padding, dilation, groups, inner_relu, outer_relu = inputs
    ctx.conv_args = (stride, padding, dilation, groups)
    ctx.inner_relu, ctx.outer_relu = inner_relu, outer_relu
    ctx.has_bias, ctx.has_res = bias is not None, residual is not None
    ctx.save_for_backward(x, weight, bias, output)


def _conv_backward(ctx, grad):
    x, weight, bias, out = ctx.saved_tensors
    stride, padding, dilation, groups = ctx.conv_args
    g = grad * (out > 0) if ctx.outer_relu else grad
    g_res = g if ctx.has_res and ctx.needs_input_grad[3] else None
    if ctx.inner_relu:
        # The inner ReLU's mask needs conv(x) + b, which the fused forward never stored: recompute it.
        pre = torch.nn.functional.conv2d(x, weight, bias, stride, padding, dilation, groups)
        g = g * (pre > 0)
    g_x, g_w, g_b = torch.ops.aten.convolution_backward(
        g, x, weight, [weight.shape[0]] if ctx.has_bias else None, stride, padding, dilation, False, [0, 0],
        groups, [ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.has_bias and ctx.needs_input_grad[2]])
    return g_x, g_w, g_b, g_res, None, None, None, None, None, None


torch.library.register_autograd("vision_ext::conv_bias_act", _conv_backward, setup_context=_conv_setup)


def _bn_setup(ctx, inputs, output):
    x, weight, bias, residual, eps, relu = inputs
    _, mean, var, mask = output
    ctx.eps, ctx.has_res = eps, residual is not None
    ctx.save_for_backward(x, weight, mean, var, mask)


def _bn_backward(ctx, grad_out, _grad_mean, _grad_var, _grad_mask):
    x, weight, mean, var, mask = ctx.saved_tensors
    g_x, g_w, g_b, g_res = _ops._bn_add_relu_backward(grad_out.contiguous(memory_format=_layout(x)), x, weight,
                                                      mean, var, mask, ctx.eps, ctx.has_res)
    return g_x, g_w, g_b, (g_res if ctx.has_res else None), None, None


torch.library.register_autograd("vision_ext::bn_add_relu", _bn_backward, setup_context=_bn_setup)
