"""The residual block and the 2x resamplers of the Stable Diffusion U-Net and VAE
(diffusers' parameter names: norm1, conv1, time_emb_proj, norm2, conv2, conv_shortcut, conv)."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from vision_ext.sd.norm import GroupNorm, activation


class ResnetBlock2D(nn.Module):
    """GroupNorm-act-conv, plus the projected time embedding, GroupNorm-act-conv, plus the
    (1x1-projected when channels change) input, divided by output_scale_factor."""

    def __init__(self, in_channels: int, out_channels: int, temb_channels: Optional[int], groups: int,
                 eps: float = 1e-6, act_fn: str = "silu", output_scale_factor: float = 1.0,
                 time_embedding_norm: str = "default"):
        super().__init__()
        if time_embedding_norm != "default":
            raise ValueError(f"resnet_time_scale_shift: only 'default' is implemented, got {time_embedding_norm!r}")
        self.silu = act_fn in ("silu", "swish")
        self.act = activation(act_fn)
        self.output_scale_factor = output_scale_factor
        self.norm1 = GroupNorm(groups, in_channels, eps=eps)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb_channels, out_channels) if temb_channels else None
        self.norm2 = GroupNorm(groups, out_channels, eps=eps)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else None

    def _norm_act(self, norm: GroupNorm, x: torch.Tensor) -> torch.Tensor:
        return norm(x, act=True) if self.silu else self.act(norm(x))

    def forward(self, x: torch.Tensor, temb: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = self.conv1(self._norm_act(self.norm1, x))
        if self.time_emb_proj is not None:
            h = h + self.time_emb_proj(self.act(temb))[:, :, None, None]
        h = self.conv2(self._norm_act(self.norm2, h))
        skip = self.conv_shortcut(x) if self.conv_shortcut is not None else x
        out = skip + h
        return out / self.output_scale_factor if self.output_scale_factor != 1.0 else out


class Downsample2D(nn.Module):
    """3x3 stride-2 conv; padding 0 means pad one pixel right and bottom first (the VAE's encoder)."""

    def __init__(self, channels: int, padding: int = 1):
        super().__init__()
        self.padding = padding
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding == 0:
            x = F.pad(x, (0, 1, 0, 1))
        return self.conv(x)


class Upsample2D(nn.Module):
    """Nearest-neighbour 2x (or to `size`, matching a skip of odd size), then a 3x3 conv."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, size: Optional[Sequence[int]] = None) -> torch.Tensor:
        if size is None:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        else:
            x = F.interpolate(x, size=tuple(size), mode="nearest")
        return self.conv(x)
