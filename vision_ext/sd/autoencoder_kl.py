"""The Stable Diffusion VAE (Kingma & Welling 2014 with a KL-regularised latent; diffusers'
AutoencoderKL config and state-dict keys): encode images to a diagonal Gaussian over latents,
decode latents to images."""
from typing import Optional

import torch
from torch import nn

from vision_ext.nn.functional import layout_for
from vision_ext.sd.config import record
from vision_ext.sd.loading import FromPretrained
from vision_ext.sd.noise import Generator, randn
from vision_ext.sd.norm import GroupNorm, activation
from vision_ext.sd.outputs import AutoencoderKLOutput, DecoderOutput
from vision_ext.sd.resnet_block import conv
from vision_ext.sd.vae_blocks import VAE_EPS, DownEncoderBlock2D, UNetMidBlock2D, UpDecoderBlock2D


class DiagonalGaussianDistribution:
    """N(mean, exp(logvar)) per latent element; `parameters` is [mean | logvar] along channels."""

    def __init__(self, parameters: torch.Tensor, deterministic: bool = False):
        self.parameters = parameters
        self.mean, logvar = torch.chunk(parameters, 2, dim=1)
        self.logvar = logvar.clamp(-30.0, 20.0)
        self.deterministic = deterministic
        self.std = torch.exp(0.5 * self.logvar)
        self.var = torch.exp(self.logvar)
        if deterministic:
            self.std = self.var = torch.zeros_like(self.mean)

    def sample(self, generator: Generator = None) -> torch.Tensor:
        return self.mean + self.std * randn(self.mean.shape, generator, self.parameters.device,
                                            self.parameters.dtype)

    def mode(self) -> torch.Tensor:
        return self.mean

    def kl(self, other: Optional["DiagonalGaussianDistribution"] = None) -> torch.Tensor:
        """KL(self || other), other = N(0, 1) by default, summed over C, H, W."""
        if self.deterministic:
            return torch.zeros(self.mean.shape[0], device=self.mean.device)
        if other is None:
            return 0.5 * torch.sum(self.mean ** 2 + self.var - 1.0 - self.logvar, dim=[1, 2, 3])
        return 0.5 * torch.sum((self.mean - other.mean) ** 2 / other.var + self.var / other.var - 1.0
                               - self.logvar + other.logvar, dim=[1, 2, 3])


def _check_types(name: str, types, expected: str):
    bad = [t for t in types if t != expected]
    if bad:
        raise ValueError(f"{name}: only {expected!r} blocks are implemented, got {bad[0]!r}")


class Encoder(nn.Module):
    def __init__(self, in_channels, out_channels, block_out_channels, layers_per_block, groups, act_fn,
                 double_z=True, mid_block_add_attention=True):
        super().__init__()
        n = len(block_out_channels)
        self.conv_in = nn.Conv2d(in_channels, block_out_channels[0], 3, padding=1)
        self.down_blocks = nn.ModuleList(
            [DownEncoderBlock2D(block_out_channels[max(i - 1, 0)], block_out_channels[i], layers_per_block,
                                groups, act_fn, i < n - 1) for i in range(n)])
        self.mid_block = UNetMidBlock2D(block_out_channels[-1], groups, act_fn, mid_block_add_attention)
        self.conv_norm_out = GroupNorm(groups, block_out_channels[-1], eps=VAE_EPS)
        self.silu, self.act = act_fn in ("silu", "swish"), activation(act_fn)
        self.conv_out = nn.Conv2d(block_out_channels[-1], 2 * out_channels if double_z else out_channels, 3,
                                  padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # channels_last for CPU inference, as in the U-Net (vision_ext/sd/unet_2d_condition.py).
        x = conv(self.conv_in, layout_for(x, self.conv_in))
        for block in self.down_blocks:
            x = block(x)
        x = self.mid_block(x)
        x = self.conv_norm_out(x, act=True) if self.silu else self.act(self.conv_norm_out(x))
        return conv(self.conv_out, x).contiguous()


class Decoder(nn.Module):
    def __init__(self, in_channels, out_channels, block_out_channels, layers_per_block, groups, act_fn,
                 mid_block_add_attention=True):
        super().__init__()
        rev = list(reversed(block_out_channels))
        n = len(rev)
        self.conv_in = nn.Conv2d(in_channels, rev[0], 3, padding=1)
        self.mid_block = UNetMidBlock2D(rev[0], groups, act_fn, mid_block_add_attention)
        self.up_blocks = nn.ModuleList(
            [UpDecoderBlock2D(rev[max(i - 1, 0)], rev[i], layers_per_block + 1, groups, act_fn, i < n - 1)
             for i in range(n)])
        self.conv_norm_out = GroupNorm(groups, block_out_channels[0], eps=VAE_EPS)
        self.silu, self.act = act_fn in ("silu", "swish"), activation(act_fn)
        self.conv_out = nn.Conv2d(block_out_channels[0], out_channels, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.mid_block(conv(self.conv_in, layout_for(z, self.conv_in)))
        for block in self.up_blocks:
            x = block(x)
        x = self.conv_norm_out(x, act=True) if self.silu else self.act(self.conv_norm_out(x))
        return conv(self.conv_out, x).contiguous()


def _rename_legacy_attention(key: str) -> str:
    """Old checkpoints name the VAE attention's projections query/key/value/proj_attn."""
    for old, new in ((".query.", ".to_q."), (".key.", ".to_k."), (".value.", ".to_v."),
                     (".proj_attn.", ".to_out.0.")):
        key = key.replace(old, new)
    return key


class AutoencoderKL(FromPretrained, nn.Module):
    """encode(x [B, 3, H, W]).latent_dist -> DiagonalGaussianDistribution over [B, latent, H/f, W/f];
    decode(z).sample -> [B, 3, H, W]; f = 2^(len(block_out_channels) - 1). Images are in [-1, 1];
    diffusion runs on latents * config.scaling_factor."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, down_block_types=("DownEncoderBlock2D",),
                 up_block_types=("UpDecoderBlock2D",), block_out_channels=(64,), layers_per_block: int = 1,
                 act_fn: str = "silu", latent_channels: int = 4, norm_num_groups: int = 32,
                 sample_size: int = 32, scaling_factor: float = 0.18215, shift_factor: Optional[float] = None,
                 latents_mean=None, latents_std=None, force_upcast: bool = True, use_quant_conv: bool = True,
                 use_post_quant_conv: bool = True, mid_block_add_attention: bool = True):
        values = {k: v for k, v in locals().items() if k not in ("self", "__class__")}
        super().__init__()
        n = len(block_out_channels)
        if len(down_block_types) != n or len(up_block_types) != n:
            raise ValueError(f"down_block_types/up_block_types: expected {n} entries each (one per "
                             f"block_out_channels), got {len(down_block_types)} and {len(up_block_types)}")
        _check_types("down_block_types", down_block_types, "DownEncoderBlock2D")
        _check_types("up_block_types", up_block_types, "UpDecoderBlock2D")
        self.config = record(type(self), values)
        self.encoder = Encoder(in_channels, latent_channels, block_out_channels, layers_per_block,
                               norm_num_groups, act_fn, True, mid_block_add_attention)
        self.decoder = Decoder(latent_channels, out_channels, block_out_channels, layers_per_block,
                               norm_num_groups, act_fn, mid_block_add_attention)
        self.quant_conv = nn.Conv2d(2 * latent_channels, 2 * latent_channels, 1) if use_quant_conv else None
        self.post_quant_conv = nn.Conv2d(latent_channels, latent_channels, 1) if use_post_quant_conv else None

    _rename = staticmethod(_rename_legacy_attention)

    @property
    def dtype(self) -> torch.dtype:
        return self.encoder.conv_in.weight.dtype

    def encode(self, x: torch.Tensor, return_dict: bool = True):
        if x.dim() != 4 or x.shape[1] != self.config.in_channels:
            raise ValueError(f"x: expected [B, {self.config.in_channels}, H, W] images, got {tuple(x.shape)}")
        moments = self.encoder(x)
        if self.quant_conv is not None:
            moments = self.quant_conv(moments)
        dist = DiagonalGaussianDistribution(moments)
        return AutoencoderKLOutput(dist) if return_dict else (dist,)

    def decode(self, z: torch.Tensor, return_dict: bool = True, generator: Generator = None):
        """(`generator` is accepted, and unused, as in diffusers' decode.)"""
        if z.dim() != 4 or z.shape[1] != self.config.latent_channels:
            raise ValueError(f"z: expected [B, {self.config.latent_channels}, h, w] latents, got {tuple(z.shape)}")
        if self.post_quant_conv is not None:
            z = self.post_quant_conv(z)
        x = self.decoder(z)
        return DecoderOutput(x) if return_dict else (x,)

    def forward(self, sample: torch.Tensor, sample_posterior: bool = False, return_dict: bool = True,
                generator: Generator = None):
        dist = self.encode(sample).latent_dist
        z = dist.sample(generator) if sample_posterior else dist.mode()
        return self.decode(z, return_dict)
