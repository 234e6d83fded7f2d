"""The VAE's encoder and decoder stages (DownEncoderBlock2D, UpDecoderBlock2D, UNetMidBlock2D)
with diffusers' names: residual blocks without time embedding, single-head spatial attention."""
import torch
from torch import nn

from vision_ext.sd.attention import Attention
from vision_ext.sd.resnet_block import Downsample2D, ResnetBlock2D, Upsample2D

VAE_EPS = 1e-6


def _resnets(in_channels: int, out_channels: int, num_layers: int, groups: int, act_fn: str) -> nn.ModuleList:
    return nn.ModuleList([ResnetBlock2D(in_channels if i == 0 else out_channels, out_channels, None, groups,
                                        VAE_EPS, act_fn) for i in range(num_layers)])


class DownEncoderBlock2D(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, num_layers: int, groups: int, act_fn: str,
                 add_downsample: bool):
        super().__init__()
        self.resnets = _resnets(in_channels, out_channels, num_layers, groups, act_fn)
        # padding 0: the stride-2 conv pads one pixel right and bottom only.
        self.downsamplers = nn.ModuleList([Downsample2D(out_channels, padding=0)]) if add_downsample else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for resnet in self.resnets:
            x = resnet(x)
        return self.downsamplers[0](x) if self.downsamplers is not None else x


class UpDecoderBlock2D(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, num_layers: int, groups: int, act_fn: str,
                 add_upsample: bool):
        super().__init__()
        self.resnets = _resnets(in_channels, out_channels, num_layers, groups, act_fn)
        self.upsamplers = nn.ModuleList([Upsample2D(out_channels)]) if add_upsample else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for resnet in self.resnets:
            x = resnet(x)
        return self.upsamplers[0](x) if self.upsamplers is not None else x


class UNetMidBlock2D(nn.Module):
    """resnet, spatial self-attention (optional), resnet."""

    def __init__(self, channels: int, groups: int, act_fn: str, add_attention: bool = True):
        super().__init__()
        self.resnets = _resnets(channels, channels, 2, groups, act_fn)
        self.attentions = nn.ModuleList([
            Attention(channels, heads=1, dim_head=channels, bias=True, norm_num_groups=groups, eps=VAE_EPS,
                      residual_connection=True) if add_attention else nn.Identity()])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resnets[1](self.attentions[0](self.resnets[0](x)))
