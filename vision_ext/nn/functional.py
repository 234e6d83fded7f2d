"""The fused residual primitives the blocks are written in.

Training: conv, then batch-stat BN + residual add + ReLU in one kernel (saving a
bit mask, not the pre-activation). Eval: conv, then BN's running-stat affine +
add + ReLU in one epilogue pass. Fused (vision_ext.nn.fuse): BN folded into the
conv and bias + add + ReLU fused into the convolution itself.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from vision_ext.ops import residual as ops


def preferred_layout(x: torch.Tensor) -> torch.Tensor:
    """channels_last for CPU activations: oneDNN's convolutions run ~1.4x faster in NHWC."""
    if x.device.type == "cpu" and x.dim() == 4 and x.is_floating_point():
        return x.contiguous(memory_format=torch.channels_last)
    return x


def _check_conv_input(x: torch.Tensor, conv: nn.Conv2d) -> None:
    if x.dim() != 4:
        raise ValueError(f"expected a 4-D (N, C, H, W) input, got shape {tuple(x.shape)}")
    if x.shape[1] != conv.in_channels:
        raise ValueError(f"expected input with {conv.in_channels} channels (dim 1), got {x.shape[1]} "
                         f"(input shape {tuple(x.shape)})")


def conv_bias_act(x: torch.Tensor, conv: nn.Conv2d, residual: Optional[torch.Tensor] = None,
                  inner_relu: bool = False, outer_relu: bool = False) -> torch.Tensor:
    """post(pre(conv(x) + b) + residual) as one fused op (zero-padded Conv2d)."""
    _check_conv_input(x, conv)
    if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
        out = conv(x)  # padding modes our op does not cover: eager, same maths
        out = F.relu(out) if inner_relu else out
        out = out + residual if residual is not None else out
        return F.relu(out) if outer_relu else out
    return ops.conv_bias_act(x, conv.weight, conv.bias, residual, conv.stride, conv.padding, conv.dilation,
                             conv.groups, inner_relu, outer_relu)


def _update_running_stats(bn: nn.BatchNorm2d, mean: torch.Tensor, var: torch.Tensor, count: int) -> None:
    """nn.BatchNorm2d's update: exponential (momentum) or cumulative (momentum=None) average,
    with the unbiased variance."""
    with torch.no_grad():
        bn.num_batches_tracked.add_(1)
        factor = bn.momentum if bn.momentum is not None else 1.0 / float(bn.num_batches_tracked)
        unbiased = var * (count / max(count - 1, 1))
        bn.running_mean.mul_(1 - factor).add_(mean.to(bn.running_mean.dtype), alpha=factor)
        bn.running_var.mul_(1 - factor).add_(unbiased.to(bn.running_var.dtype), alpha=factor)


def batch_norm_act(x: torch.Tensor, bn: nn.BatchNorm2d, residual: Optional[torch.Tensor] = None,
                   relu: bool = True) -> torch.Tensor:
    """relu(bn(x) + residual) with nn.BatchNorm2d's train/eval semantics, in one kernel."""
    if x.dim() != 4 or x.shape[1] != bn.num_features:
        raise ValueError(f"BatchNorm2d({bn.num_features}) expects a 4-D input with {bn.num_features} channels, "
                         f"got shape {tuple(x.shape)}")
    weight = bn.weight if bn.affine else torch.ones(bn.num_features, device=x.device)
    bias = bn.bias if bn.affine else torch.zeros(bn.num_features, device=x.device)
    use_batch_stats = bn.training or not bn.track_running_stats
    if use_batch_stats:
        out, mean, var = ops.bn_add_relu(x, weight, bias, residual, bn.eps, relu)
        if bn.training and bn.track_running_stats:
            _update_running_stats(bn, mean.detach(), var.detach(), x.numel() // x.shape[1])
        return out
    scale = weight * torch.rsqrt(bn.running_var + bn.eps)
    shift = bias - bn.running_mean * scale
    return ops.residual_epilogue(x, scale, shift, residual, False, relu)
