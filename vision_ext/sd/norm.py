"""GroupNorm (+ optional SiLU): the one place the Stable Diffusion networks normalise.

Every GroupNorm of the U-Net, the VAE and the attention blocks goes through `group_norm_silu`,
which runs our fused op (vision_ext/ops/norm.py): one pass for the statistics and one for
normalise + SiLU, keeping channels_last inputs channels_last (F.group_norm returns NCHW).
"""
import torch
import torch.nn.functional as F
from torch import nn

from vision_ext._build import has_cuda_kernels
from vision_ext.ops.norm import group_norm


def group_norm_silu(x: torch.Tensor, groups: int, weight, bias, eps: float, act: bool) -> torch.Tensor:
    """F.group_norm(x, groups, weight, bias, eps), followed by SiLU when `act` is true."""
    if x.is_cuda and not has_cuda_kernels():  # a CPU-only build of the kernels: eager PyTorch
        y = F.group_norm(x, groups, weight, bias, eps)
        return F.silu(y) if act else y
    return group_norm(x, groups, weight, bias, eps, "silu" if act else None)


class GroupNorm(nn.GroupNorm):
    """nn.GroupNorm (same parameters and state-dict keys) routed through group_norm_silu;
    `forward(x, act=True)` also applies SiLU."""

    def forward(self, x: torch.Tensor, act: bool = False) -> torch.Tensor:
        return group_norm_silu(x, self.num_groups, self.weight, self.bias, self.eps, act)


def activation(name: str):
    """The activation functions the diffusers configs name (act_fn)."""
    table = {"silu": F.silu, "swish": F.silu, "gelu": F.gelu, "relu": F.relu, "mish": F.mish}
    if name not in table:
        raise ValueError(f"act_fn: expected one of {', '.join(table)}, got {name!r}")
    return table[name]
