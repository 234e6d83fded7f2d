"""Timestep conditioning of the U-Net: sinusoidal features of t and the MLP that embeds them
(diffusers' keys time_embedding.linear_1 / linear_2)."""
import math

import torch
from torch import nn

from vision_ext.sd.norm import activation


def sinusoidal_timesteps(t: torch.Tensor, dim: int, flip_sin_to_cos: bool = True, freq_shift: float = 0.0,
                         max_period: float = 10000.0) -> torch.Tensor:
    """[B] timesteps -> [B, dim] with frequencies max_period^(-i / (dim/2 - freq_shift)), as
    [sin | cos] ([cos | sin] when flipped), zero-padded to an odd dim."""
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device)
    freqs = torch.exp(exponent / (half - freq_shift))
    args = t.float()[:, None] * freqs[None, :]
    parts = [torch.cos(args), torch.sin(args)] if flip_sin_to_cos else [torch.sin(args), torch.cos(args)]
    emb = torch.cat(parts, dim=-1)
    return nn.functional.pad(emb, (0, 1)) if dim % 2 else emb


class TimestepEmbedding(nn.Module):
    """linear, activation, linear."""

    def __init__(self, in_channels: int, time_embed_dim: int, act_fn: str = "silu"):
        super().__init__()
        self.linear_1 = nn.Linear(in_channels, time_embed_dim)
        self.act = activation(act_fn)
        self.linear_2 = nn.Linear(time_embed_dim, time_embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_2(self.act(self.linear_1(x)))
