"""The down, mid and up stages of the SD 1.x U-Net, with diffusers' block names and layouts:
CrossAttnDownBlock2D, DownBlock2D, UNetMidBlock2DCrossAttn, UpBlock2D, CrossAttnUpBlock2D."""
from typing import List, Optional, Tuple

import torch
from torch import nn

from vision_ext.sd.attention import Transformer2DModel
from vision_ext.sd.resnet_block import Downsample2D, ResnetBlock2D, Upsample2D


class _Common:
    """Arguments every stage shares (kept together so the U-Net builds stages in one call)."""

    def __init__(self, temb_channels: int, groups: int, eps: float, act_fn: str, cross_attention_dim: int,
                 use_linear_projection: bool, only_cross_attention: bool, downsample_padding: int = 1):
        self.__dict__.update(locals())
        del self.__dict__["self"]

    def resnet(self, cin: int, cout: int, scale: float = 1.0) -> ResnetBlock2D:
        return ResnetBlock2D(cin, cout, self.temb_channels, self.groups, self.eps, self.act_fn, scale)

    def transformer(self, channels: int, heads: int, layers: int) -> Transformer2DModel:
        if channels % heads:
            raise ValueError(f"num_attention_heads: {heads} heads do not divide {channels} channels")
        return Transformer2DModel(heads, channels // heads, channels, layers,
                                  self.cross_attention_dim, self.groups, self.use_linear_projection,
                                  self.only_cross_attention)


class DownBlock2D(nn.Module):
    """num_layers residual blocks, then a stride-2 conv unless it is the last stage."""

    has_cross_attention = False

    def __init__(self, c: _Common, in_channels: int, out_channels: int, num_layers: int, add_downsample: bool,
                 heads: int = 1, transformer_layers: int = 1):
        super().__init__()
        self.resnets = nn.ModuleList([c.resnet(in_channels if i == 0 else out_channels, out_channels)
                                      for i in range(num_layers)])
        if self.has_cross_attention:
            self.attentions = nn.ModuleList([c.transformer(out_channels, heads, transformer_layers)
                                              for _ in range(num_layers)])
        self.downsamplers = nn.ModuleList([Downsample2D(out_channels, c.downsample_padding)]) \
            if add_downsample else None

    def forward(self, x: torch.Tensor, temb: torch.Tensor, context: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        skips = []
        for i, resnet in enumerate(self.resnets):
            x = resnet(x, temb)
            if self.has_cross_attention:
                x = self.attentions[i](x, context)
            skips.append(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0](x)
            skips.append(x)
        return x, skips


class CrossAttnDownBlock2D(DownBlock2D):
    """DownBlock2D with a spatial transformer after each residual block."""

    has_cross_attention = True


class UNetMidBlock2DCrossAttn(nn.Module):
    """resnet, then (transformer, resnet) num_layers times, at the lowest resolution."""

    def __init__(self, c: _Common, channels: int, heads: int, transformer_layers: int = 1, num_layers: int = 1,
                 output_scale_factor: float = 1.0):
        super().__init__()
        self.resnets = nn.ModuleList([c.resnet(channels, channels, output_scale_factor)
                                      for _ in range(num_layers + 1)])
        self.attentions = nn.ModuleList([c.transformer(channels, heads, transformer_layers)
                                         for _ in range(num_layers)])

    def forward(self, x: torch.Tensor, temb: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        x = self.resnets[0](x, temb)
        for attn, resnet in zip(self.attentions, self.resnets[1:]):
            x = resnet(attn(x, context), temb)
        return x


class UpBlock2D(nn.Module):
    """num_layers residual blocks, each on the running features concatenated with one skip
    (the last skips first), then nearest 2x + conv unless it is the last stage."""

    has_cross_attention = False

    def __init__(self, c: _Common, in_channels: int, prev_output_channel: int, out_channels: int,
                 num_layers: int, add_upsample: bool, heads: int = 1, transformer_layers: int = 1):
        super().__init__()
        resnets = []
        for i in range(num_layers):
            skip_channels = in_channels if i == num_layers - 1 else out_channels
            resnet_in = prev_output_channel if i == 0 else out_channels
            resnets.append(c.resnet(resnet_in + skip_channels, out_channels))
        self.resnets = nn.ModuleList(resnets)
        if self.has_cross_attention:
            self.attentions = nn.ModuleList([c.transformer(out_channels, heads, transformer_layers)
                                              for _ in range(num_layers)])
        self.upsamplers = nn.ModuleList([Upsample2D(out_channels)]) if add_upsample else None

    def forward(self, x: torch.Tensor, skips: List[torch.Tensor], temb: torch.Tensor,
                context: Optional[torch.Tensor] = None, upsample_size=None) -> torch.Tensor:
        for i, resnet in enumerate(self.resnets):
            x = resnet(torch.cat([x, skips.pop()], dim=1), temb)
            if self.has_cross_attention:
                x = self.attentions[i](x, context)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x, upsample_size)
        return x


class CrossAttnUpBlock2D(UpBlock2D):
    """UpBlock2D with a spatial transformer after each residual block."""

    has_cross_attention = True


DOWN_BLOCKS = {"DownBlock2D": DownBlock2D, "CrossAttnDownBlock2D": CrossAttnDownBlock2D}
UP_BLOCKS = {"UpBlock2D": UpBlock2D, "CrossAttnUpBlock2D": CrossAttnUpBlock2D}
MID_BLOCKS = ("UNetMidBlock2DCrossAttn",)
