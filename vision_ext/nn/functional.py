"""The fused residual primitives the blocks are written in.

Every block's forward is expressed with these three functions; they pick the
fused op for the mode the module is in (training: batch-stat BN + add + ReLU;
eval: conv + per-channel affine + add + ReLU in one epilogue; fused: BN folded
into the conv and the epilogue fused into oneDNN/cuDNN).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


def conv_bias_act(x: torch.Tensor, conv: nn.Conv2d, residual: Optional[torch.Tensor] = None,
                  inner_relu: bool = False, outer_relu: bool = False) -> torch.Tensor:
    """post(pre(conv(x) + b) + residual) for a Conv2d with zero padding."""
    out = F.conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding, conv.dilation, conv.groups)
    if inner_relu:
        out = F.relu(out)
    if residual is not None:
        out = out + residual
    return F.relu(out) if outer_relu else out


def batch_norm_act(x: torch.Tensor, bn: nn.BatchNorm2d, residual: Optional[torch.Tensor] = None,
                   relu: bool = True) -> torch.Tensor:
    """relu(bn(x) + residual), with nn.BatchNorm2d's training/eval semantics and running-stat update."""
    out = bn(x)
    if residual is not None:
        out = out + residual
    return F.relu(out) if relu else out
