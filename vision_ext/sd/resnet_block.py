"""The residual block and the 2x resamplers of the Stable Diffusion U-Net and VAE
(diffusers' parameter names: norm1, conv1, time_emb_proj, norm2, conv2, conv_shortcut, conv)."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from vision_ext.nn.functional import conv_bias_act
from vision_ext.sd.norm import GroupNorm, activation


def _inference_cl(x: torch.Tensor, conv2d: nn.Conv2d) -> bool:
    """A channels_last CPU input outside autograd: the inference layout of these models."""
    return (x.device.type == "cpu" and x.dim() == 4 and not x.is_contiguous()
            and x.is_contiguous(memory_format=torch.channels_last)
            and not (torch.is_grad_enabled() and (x.requires_grad or conv2d.weight.requires_grad)))


def _cl_weight(conv2d: nn.Conv2d) -> torch.Tensor:
    """conv2d's weight in channels_last, cached until the weight changes: ATen converts an NCHW weight for
    a channels_last input on every call (5% of the U-Net's time)."""
    w = conv2d.weight
    key = (w.data_ptr(), w.dtype, None if w.is_inference() else w._version)
    cached = conv2d.__dict__.get("_cl_weight_cache")
    if cached is None or cached[0] != key:
        with torch.no_grad():
            cached = (key, w.detach().contiguous(memory_format=torch.channels_last))
        conv2d.__dict__["_cl_weight_cache"] = cached  # not a buffer: stays out of state_dict and .to()
    return cached[1]


def conv(conv2d: nn.Conv2d, x: torch.Tensor, residual: Optional[torch.Tensor] = None) -> torch.Tensor:
    """conv2d(x) (+ residual). Convs that vision_ext.nn.fuse() packed run on our Winograd kernel with the
    bias and the residual in its output transform (vision_ext/nn/functional.py picks it where it measures
    faster than oneDNN). For channels_last inference, a 1x1 conv is the matrix product of the pixels'
    channel vectors (a view; ATen sends 1x1 convs to its slow im2col path) and the other convs get a
    cached channels_last weight; elsewhere it is ATen's conv and add."""
    if getattr(conv2d, "winograd_weight", None) is not None:
        return conv_bias_act(x, conv2d, residual=residual)
    if _inference_cl(x, conv2d) and conv2d.padding_mode == "zeros" and conv2d.groups == 1:
        if conv2d.kernel_size == (1, 1) and conv2d.stride == (1, 1) and conv2d.padding == (0, 0):
            out = F.linear(x.permute(0, 2, 3, 1), conv2d.weight.flatten(1), conv2d.bias).permute(0, 3, 1, 2)
        else:
            out = F.conv2d(x, _cl_weight(conv2d), conv2d.bias, conv2d.stride, conv2d.padding, conv2d.dilation)
    else:
        out = conv2d(x)
    return out if residual is None else out + residual


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
        h = conv(self.conv1, self._norm_act(self.norm1, x))
        if self.time_emb_proj is not None:
            h = h + self.time_emb_proj(self.act(temb))[:, :, None, None]
        skip = conv(self.conv_shortcut, x) if self.conv_shortcut is not None else x
        out = conv(self.conv2, self._norm_act(self.norm2, h), residual=skip)
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
        return conv(self.conv, x)


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
        return conv(self.conv, x)
