"""The DDPM U-Net (Ho et al. 2020): residual blocks with time-embedding injection and
GroupNorm, single-head self-attention at chosen resolutions, sinusoidal time embedding
and skip connections. UNet(3, 128, (1, 2, 2, 2), 2, (16,), 0.1, 32) is the paper's
CIFAR-10 model (35.7M parameters).

Residual paths run on our fused kernels (vision_ext.nn.functional.conv_bias_act): a block's
second conv adds its bias and the skip in one op, attention's output projection adds the
residual likewise (on CUDA always; on the CPU for the convs that fuse() packed). After
`vision_ext.nn.fuse(unet)` (eval mode; call it again after changing weights), CPU fp32 3x3 convs
with >= 64 channels run on our Winograd kernel with bias and skip fused into its output
transform: inference with the paper's CIFAR-10 model is about 1.5x faster than eager PyTorch.
"""
import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from vision_ext.nn.functional import conv_bias_act
from vision_ext.sd.norm import group_norm_silu


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of (float) timesteps, [B] -> [B, dim] (the transformer's positions)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, device=t.device, dtype=torch.float32) / (half - 1))
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.sin(args), torch.cos(args)], dim=1)
    return F.pad(emb, (0, 1)) if dim % 2 else emb


def _norm(ch: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(32, ch), ch)


def _norm_act(block: nn.Module, norm: nn.GroupNorm, x: torch.Tensor, act: bool = True) -> torch.Tensor:
    """norm(x), then SiLU when `act`: one fused op (vision_ext/ops/norm.py, which keeps channels_last), or
    eager nn.GroupNorm + F.silu when the block's `fused` flag is off (UNet.set_fused(False))."""
    if block.fused:
        return group_norm_silu(x, norm.num_groups, norm.weight, norm.bias, norm.eps, act)
    y = norm(x)
    return F.silu(y) if act else y


def _conv(block: nn.Module, x: torch.Tensor, conv: nn.Conv2d, residual=None) -> torch.Tensor:
    """conv(x) + bias (+ residual) as one op on our fused kernels, or in eager PyTorch when the block's
    `fused` flag is off (UNet.set_fused(False): the same network as the benchmarks' baseline).
    On the CPU the win is Winograd, so only convs that vision_ext.nn.fuse() packed take our op: the
    unpacked oneDNN route measured 4-9% slower than ATen's conv + add on the U-Net's shapes. On CUDA
    the op saves the separate add's memory pass."""
    packed = getattr(conv, "winograd_weight", None) is not None
    if block.fused and (packed or (residual is not None and x.is_cuda)):
        return conv_bias_act(x, conv, residual=residual)
    out = conv(x)
    return out if residual is None else out + residual


class ResBlock(nn.Module):
    """GN-SiLU-conv, + projected time embedding, GN-SiLU-dropout-conv, plus the (1x1) skip."""

    fused = True

    def __init__(self, in_ch: int, out_ch: int, temb_ch: int, dropout: float):
        super().__init__()
        self.norm1, self.conv1 = _norm(in_ch), nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.temb = nn.Linear(temb_ch, out_ch)
        self.norm2, self.drop, self.conv2 = _norm(out_ch), nn.Dropout(dropout), nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x, temb):
        h = _conv(self, _norm_act(self, self.norm1, x), self.conv1)
        h = h + self.temb(F.silu(temb))[:, :, None, None]
        return _conv(self, self.drop(_norm_act(self, self.norm2, h)), self.conv2, residual=self.skip(x))


class AttnBlock(nn.Module):
    """Single-head self-attention over all positions, residual."""

    fused = True

    def __init__(self, ch: int):
        super().__init__()
        self.norm, self.qkv, self.proj = _norm(ch), nn.Conv2d(ch, 3 * ch, 1), nn.Conv2d(ch, ch, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        q, k, v = self.qkv(_norm_act(self, self.norm, x, act=False)).reshape(b, 3, c, h * w).transpose(-1, -2).unbind(1)
        out = F.scaled_dot_product_attention(q, k, v)  # [b, hw, c]
        return _conv(self, out.transpose(-1, -2).reshape(b, c, h, w), self.proj, residual=x)


class Down(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Up(nn.Module):
    fused = True

    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return _conv(self, F.interpolate(x, scale_factor=2.0, mode="nearest"), self.conv)


class UNet(nn.Module):
    """unet(x, t) -> predicted noise (or x0 / v) with x's shape; t is [B] or a scalar."""

    fused = True

    def __init__(self, in_channels: int = 3, base_channels: int = 128, channel_mults: Sequence[int] = (1, 2, 2, 2),
                 num_res_blocks: int = 2, attention_resolutions: Sequence[int] = (16,), dropout: float = 0.1,
                 image_size: int = 32, out_channels: int = None):
        super().__init__()
        if image_size % (2 ** (len(channel_mults) - 1)):
            raise ValueError(f"image_size: {image_size} must be divisible by 2^(len(channel_mults) - 1) = "
                             f"{2 ** (len(channel_mults) - 1)}")
        self.config = dict(in_channels=in_channels, base_channels=base_channels, channel_mults=tuple(channel_mults),
                           num_res_blocks=num_res_blocks, attention_resolutions=tuple(attention_resolutions),
                           dropout=dropout, image_size=image_size, out_channels=out_channels)
        ch, temb = base_channels, 4 * base_channels
        self.base_channels = base_channels
        self.temb = nn.Sequential(nn.Linear(ch, temb), nn.SiLU(), nn.Linear(temb, temb))
        self.conv_in = nn.Conv2d(in_channels, ch, 3, padding=1)
        self.down = nn.ModuleList()
        skips, res = [ch], image_size
        for level, mult in enumerate(channel_mults):
            for _ in range(num_res_blocks):
                blocks = [ResBlock(ch, base_channels * mult, temb, dropout)]
                ch = base_channels * mult
                if res in attention_resolutions:
                    blocks.append(AttnBlock(ch))
                self.down.append(nn.ModuleList(blocks))
                skips.append(ch)
            if level != len(channel_mults) - 1:
                self.down.append(nn.ModuleList([Down(ch)]))
                skips.append(ch)
                res //= 2
        self.mid = nn.ModuleList([ResBlock(ch, ch, temb, dropout), AttnBlock(ch), ResBlock(ch, ch, temb, dropout)])
        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(channel_mults))):
            for _ in range(num_res_blocks + 1):
                blocks = [ResBlock(ch + skips.pop(), base_channels * mult, temb, dropout)]
                ch = base_channels * mult
                if res in attention_resolutions:
                    blocks.append(AttnBlock(ch))
                self.up.append(nn.ModuleList(blocks))
            if level != 0:
                self.up.append(nn.ModuleList([Up(ch)]))
                res *= 2
        self.out = nn.Sequential(_norm(ch), nn.SiLU(), nn.Conv2d(ch, out_channels or in_channels, 3, padding=1))

    def set_fused(self, fused: bool) -> "UNet":
        """Run the residual paths and GroupNorm + SiLU on our fused kernels (default) or in eager PyTorch;
        same weights."""
        for m in self.modules():
            if isinstance(m, (UNet, ResBlock, AttnBlock, Up)):
                m.fused = bool(fused)
        return self

    @staticmethod
    def _run(blocks, h, temb):
        for blk in blocks:
            h = blk(h, temb) if isinstance(blk, ResBlock) else blk(h)
        return h

    def _check_input(self, x: torch.Tensor) -> None:
        """Shapes the network can carry: the skips are concatenated with the upsampled path, so H and W
        must halve exactly at every level (like diffusers' UNet2DModel, other sizes than image_size work)."""
        cfg = self.config
        if x.dim() != 4 or x.shape[1] != cfg["in_channels"]:
            raise ValueError(f"UNet: expected x of shape (N, {cfg['in_channels']}, H, W), got {tuple(x.shape)}")
        factor = 2 ** (len(cfg["channel_mults"]) - 1)
        if x.shape[2] % factor or x.shape[3] % factor:
            raise ValueError(f"UNet: image size {x.shape[2]}x{x.shape[3]} must be a multiple of {factor} "
                             f"(2^(len(channel_mults) - 1)) in both H and W; this model was built for "
                             f"{cfg['image_size']}x{cfg['image_size']}: resize or pad the input")

    def forward(self, x: torch.Tensor, t) -> torch.Tensor:
        self._check_input(x)
        t = torch.as_tensor(t, device=x.device)
        if t.dim() == 0:
            t = t.expand(x.shape[0])
        temb = self.temb(timestep_embedding(t, self.base_channels).to(self.temb[0].weight.dtype))
        h = self.conv_in(x)
        hs = [h]
        for blocks in self.down:
            h = self._run(blocks, h, temb)
            hs.append(h)
        h = self._run(self.mid, h, temb)
        for blocks in self.up:
            if isinstance(blocks[0], ResBlock):
                h = torch.cat([h, hs.pop()], dim=1)
            h = self._run(blocks, h, temb)
        norm, _, conv = self.out
        return conv(_norm_act(self, norm, h)) if self.fused else self.out(h)
