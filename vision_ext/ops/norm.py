"""Contract of the fused GroupNorm (+ SiLU) ops (csrc/ops/group_norm.cpp): wrapper, fake kernels, autograd.

- group_norm: act(F.group_norm(x, groups, weight, bias, eps)) in one op, keeping x's memory format
  (channels_last in, channels_last out; F.group_norm returns NCHW), act None or "silu".
"""
from typing import Optional

import torch

from vision_ext._build import register_cuda_missing

_ops = torch.ops.vision_ext
for _name in ("group_norm", "_group_norm_backward"):
    register_cuda_missing(f"vision_ext::{_name}")

_ACTS = {None: "none", "none": "none", "silu": "silu"}


def _layout(x: torch.Tensor) -> torch.memory_format:
    cl = x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)
    return torch.channels_last if cl else torch.contiguous_format


def _acc(x: torch.Tensor) -> torch.dtype:
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def group_norm(x: torch.Tensor, groups: int, weight: Optional[torch.Tensor] = None,
               bias: Optional[torch.Tensor] = None, eps: float = 1e-5, act: Optional[str] = None) -> torch.Tensor:
    """F.group_norm(x, groups, weight, bias, eps), then SiLU when act="silu", as one op.

    x is (N, C, *) in float32/float64/float16/bfloat16; the output keeps x's memory format.
    Statistics are float32 (float64 for float64 x).
    """
    if act not in _ACTS:
        raise ValueError(f"group_norm: act must be None, 'none' or 'silu', got {act!r}")
    return _ops.group_norm(x, int(groups), weight, bias, float(eps), _ACTS[act])[0]


# ---------------------------------------------------------------------------------------------
# fake kernels (shapes, dtypes, memory formats) for torch.compile / FakeTensor
# ---------------------------------------------------------------------------------------------
@torch.library.register_fake("vision_ext::group_norm")
def _(x, groups, weight, bias, eps, act):
    torch._check(x.dim() >= 2, lambda: "vision_ext::group_norm: x must have shape (N, C, *)")
    torch._check(groups >= 1 and x.shape[1] % groups == 0,
                 lambda: "vision_ext::group_norm: groups must divide the channels x.shape[1]")
    stats = x.new_empty((x.shape[0], groups), dtype=_acc(x))
    return torch.empty_like(x, memory_format=_layout(x)), stats, torch.empty_like(stats)


@torch.library.register_fake("vision_ext::_group_norm_backward")
def _(grad_out, x, mean, rstd, weight, bias, groups, act):
    c = x.shape[1]
    return (torch.empty_like(x, memory_format=_layout(x)),
            x.new_empty((c,), dtype=weight.dtype if weight is not None else x.dtype),
            x.new_empty((c,), dtype=bias.dtype if bias is not None else x.dtype))


# ---------------------------------------------------------------------------------------------
# autograd: the backward op recomputes the pre-activation from x and the saved statistics
# ---------------------------------------------------------------------------------------------
def _setup(ctx, inputs, output):
    x, groups, weight, bias, eps, act = inputs
    _, mean, rstd = output
    ctx.groups, ctx.act = groups, act
    ctx.has = (weight is not None, bias is not None)
    ctx.save_for_backward(x, weight, bias, mean, rstd)


def _backward(ctx, grad_out, _grad_mean, _grad_rstd):
    x, weight, bias, mean, rstd = ctx.saved_tensors
    g_x, g_w, g_b = _ops._group_norm_backward(grad_out, x, mean, rstd, weight, bias, ctx.groups, ctx.act)
    has_w, has_b = ctx.has
    return (g_x if ctx.needs_input_grad[0] else None, None,
            g_w if has_w and ctx.needs_input_grad[2] else None,
            g_b if has_b and ctx.needs_input_grad[3] else None, None, None)


torch.library.register_autograd("vision_ext::group_norm", _backward, setup_context=_setup)
