"""Attention layers of the Stable Diffusion U-Net and VAE, with diffusers' parameter names
(to_q, to_k, to_v, to_out.0, group_norm), computed with F.scaled_dot_product_attention (our small-head
kernel for CPU inference with 8- or 16-wide heads, vision_ext/ops/attention.py)."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from vision_ext.ops.attention import attention
from vision_ext.sd.norm import GroupNorm


class Attention(nn.Module):
    """Multi-head attention over token sequences [B, N, C].

    With `norm_num_groups` it is the VAE's spatial self-attention block instead: the input is
    [B, C, H, W], GroupNorm'ed, attended over its H*W positions, and added back to itself
    (divided by `rescale_output_factor`)."""

    def __init__(self, query_dim: int, cross_attention_dim: Optional[int] = None, heads: int = 8,
                 dim_head: int = 64, bias: bool = False, out_bias: bool = True,
                 norm_num_groups: Optional[int] = None, eps: float = 1e-5, residual_connection: bool = False,
                 rescale_output_factor: float = 1.0):
        super().__init__()
        inner = heads * dim_head
        kv_dim = cross_attention_dim if cross_attention_dim is not None else query_dim
        self.heads = heads
        self.is_cross_attention = cross_attention_dim is not None  # keys and values from a context
        self.residual_connection = residual_connection
        self.rescale_output_factor = rescale_output_factor
        self.group_norm = GroupNorm(norm_num_groups, query_dim, eps=eps) if norm_num_groups else None
        self.to_q = nn.Linear(query_dim, inner, bias=bias)
        self.to_k = nn.Linear(kv_dim, inner, bias=bias)
        self.to_v = nn.Linear(kv_dim, inner, bias=bias)
        self.to_out = nn.ModuleList([nn.Linear(inner, query_dim, bias=out_bias), nn.Dropout(0.0)])
        self._kv = None  # (context, k, v) while a sampling loop reuses one context (reuse_context below)

    def reuse_context(self, context: Optional[torch.Tensor]) -> None:
        """Keep to_k(context) and to_v(context) for later calls with this very tensor (None: forget them).
        The cache holds `context` itself, so the identity check cannot match a different tensor."""
        if context is None:
            self._kv = None
            return
        with torch.no_grad():
            self._kv = (context, self.to_k(context), self.to_v(context))

    def forward(self, x: torch.Tensor, context: Optional[torch.Tensor] = None) -> torch.Tensor:
        residual = x
        spatial = x.dim() == 4
        if spatial:
            b, c, h, w = x.shape
        if self.group_norm is not None:
            x = self.group_norm(x if spatial else x.transpose(1, 2))
            x = x if spatial else x.transpose(1, 2)
        if spatial:  # [B, H*W, C] tokens: a view of channels_last x (a copy of NCHW x)
            x = x.permute(0, 2, 3, 1).reshape(b, h * w, c)
        context = x if context is None else context
        q = self.to_q(x)
        if self._kv is not None and self._kv[0] is context and not torch.is_grad_enabled():
            k, v = self._kv[1], self._kv[2]
        else:
            k, v = self.to_k(context), self.to_v(context)
        # F.scaled_dot_product_attention, or our kernel for CPU inference with 8- or 16-wide heads
        # (vision_ext/ops/attention.py). Both return [B, N, heads, d] in memory, so the reshape is a view.
        out = attention(self._split(q), self._split(k), self._split(v))
        out = out.transpose(1, 2).reshape(q.shape)
        out = self.to_out[1](self.to_out[0](out))
        if spatial:  # back to [B, C, H, W] as a channels_last view of the tokens
            out = out.view(b, h, w, c).permute(0, 3, 1, 2)
        if self.residual_connection:
            out = out + residual
        return out / self.rescale_output_factor if self.rescale_output_factor != 1.0 else out

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        """[B, N, heads * d] -> [B, heads, N, d]."""
        b, n, _ = t.shape
        return t.view(b, n, self.heads, -1).transpose(1, 2)


class GEGLU(nn.Module):
    """Linear to 2 x dim_out, then value * gelu(gate) (Shazeer 2020)."""

    def __init__(self, dim_in: int, dim_out: int):
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.proj(x).chunk(2, dim=-1)
        return F.gelu(gate).mul_(value)  # in place on gelu's fresh output: one temporary fewer


class FeedForward(nn.Module):
    """The transformer block's MLP: GEGLU up to mult * dim, linear back (keys net.0.proj, net.2)."""

    def __init__(self, dim: int, mult: int = 4):
        super().__init__()
        inner = dim * mult
        self.net = nn.ModuleList([GEGLU(dim, inner), nn.Dropout(0.0), nn.Linear(inner, dim)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.net:
            x = layer(x)
        return x


class BasicTransformerBlock(nn.Module):
    """Pre-LayerNorm self-attention, cross-attention on the text embeddings, and GEGLU MLP,
    each added back to its input."""

    def __init__(self, dim: int, heads: int, dim_head: int, cross_attention_dim: int,
                 only_cross_attention: bool = False, attention_bias: bool = False):
        super().__init__()
        self.only_cross_attention = only_cross_attention
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, cross_attention_dim if only_cross_attention else None, heads, dim_head,
                               bias=attention_bias)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, cross_attention_dim, heads, dim_head, bias=attention_bias)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        x = self.attn1(self.norm1(x), context if self.only_cross_attention else None) + x
        x = self.attn2(self.norm2(x), context) + x
        return self.ff(self.norm3(x)) + x


def _pointwise(proj: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """A Linear, or a 1x1 Conv2d applied per token as the same matrix product (no NCHW round trip)."""
    if isinstance(proj, nn.Conv2d):
        return F.linear(tokens, proj.weight.flatten(1), proj.bias)
    return proj(tokens)


class Transformer2DModel(nn.Module):
    """GroupNorm, 1x1 conv (or linear) projection to tokens, transformer blocks, projection back,
    plus the input: the spatial transformer of Rombach et al. 2022."""

    def __init__(self, num_attention_heads: int, attention_head_dim: int, in_channels: int, num_layers: int,
                 cross_attention_dim: int, norm_num_groups: int = 32, use_linear_projection: bool = False,
                 only_cross_attention: bool = False, attention_bias: bool = False):
        super().__init__()
        inner = num_attention_heads * attention_head_dim
        self.use_linear_projection = use_linear_projection
        self.norm = GroupNorm(norm_num_groups, in_channels, eps=1e-6)
        proj = (lambda i, o: nn.Linear(i, o)) if use_linear_projection else (lambda i, o: nn.Conv2d(i, o, 1))
        self.proj_in = proj(in_channels, inner)
        self.transformer_blocks = nn.ModuleList(
            [BasicTransformerBlock(inner, num_attention_heads, attention_head_dim, cross_attention_dim,
                                   only_cross_attention, attention_bias) for _ in range(num_layers)])
        self.proj_out = proj(inner, in_channels)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        residual = x
        # Tokens [B, H*W, C]: a view when x is channels_last (the CPU inference layout), else one copy.
        x = self.norm(x).permute(0, 2, 3, 1).reshape(b, h * w, c)
        x = _pointwise(self.proj_in, x)
        for block in self.transformer_blocks:
            x = block(x, context)
        x = _pointwise(self.proj_out, x)
        # A channels_last view, added to the (channels_last) input without a layout change.
        return x.view(b, h, w, c).permute(0, 3, 1, 2) + residual
