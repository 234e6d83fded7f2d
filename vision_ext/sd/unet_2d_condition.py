"""The text-conditioned U-Net of Stable Diffusion 1.x/2.x (diffusers' UNet2DConditionModel layout,
config keys and state-dict keys), configurable down to the tiny test sizes."""
import contextlib
from typing import Optional

import torch
from torch import nn

from vision_ext.nn.functional import layout_for
from vision_ext.sd.attention import Attention
from vision_ext.sd.config import init_args, per_block, record
from vision_ext.sd.embeddings import TimestepEmbedding, sinusoidal_timesteps
from vision_ext.sd.loading import FromPretrained
from vision_ext.sd.norm import GroupNorm, activation
from vision_ext.sd.outputs import UNet2DConditionOutput
from vision_ext.sd.resnet_block import conv
from vision_ext.sd.unet_blocks import DOWN_BLOCKS, MID_BLOCKS, UP_BLOCKS, _Common, UNetMidBlock2DCrossAttn

# diffusers options this model does not implement: a config must leave them at these values.
_UNSUPPORTED = {"class_embed_type": None, "addition_embed_type": None, "encoder_hid_dim": None,
                "encoder_hid_dim_type": None, "num_class_embeds": None, "time_cond_proj_dim": None,
                "dual_cross_attention": False, "resnet_time_scale_shift": "default", "resnet_skip_time_act": False,
                "resnet_out_scale_factor": 1.0, "time_embedding_type": "positional", "time_embedding_dim": None,
                "time_embedding_act_fn": None, "timestep_post_act": None, "conv_in_kernel": 3,
                "conv_out_kernel": 3, "attention_type": "default", "class_embeddings_concat": False,
                "reverse_transformer_layers_per_block": None, "cross_attention_norm": None,
                "projection_class_embeddings_input_dim": None,
                "addition_time_embed_dim": None}


class UNet2DConditionModel(FromPretrained, nn.Module):
    """forward(sample [B, C, H, W], timestep, encoder_hidden_states [B, N, D]).sample -> [B, out, H, W].

    `attention_head_dim` is, as in diffusers' SD configs, the number of heads when
    `num_attention_heads` is unset (a historical misnomer kept for config compatibility)."""

    def __init__(self, sample_size=None, in_channels: int = 4, out_channels: int = 4,
                 center_input_sample: bool = False, flip_sin_to_cos: bool = True, freq_shift: int = 0,
                 down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                 mid_block_type: Optional[str] = "UNetMidBlock2DCrossAttn",
                 up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3, only_cross_attention=False,
                 block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, downsample_padding: int = 1,
                 mid_block_scale_factor: float = 1.0, dropout: float = 0.0, act_fn: str = "silu",
                 norm_num_groups: int = 32, norm_eps: float = 1e-5, cross_attention_dim: int = 1280,
                 transformer_layers_per_block=1, attention_head_dim=8, num_attention_heads=None,
                 use_linear_projection: bool = False, upcast_attention: bool = False,
                 mid_block_only_cross_attention=None, **unsupported):
        # (mid_block_only_cross_attention concerns diffusers' simple-cross-attention mid block only.)
        values = {k: v for k, v in locals().items() if k not in ("self", "__class__", "unsupported")}
        super().__init__()
        for key, value in unsupported.items():
            if key in _UNSUPPORTED and value != _UNSUPPORTED[key]:
                raise ValueError(f"{key}={value!r}: not implemented by vision_ext.sd.UNet2DConditionModel "
                                 f"(SD 1.x/2.x U-Nets use {_UNSUPPORTED[key]!r})")
            if key not in _UNSUPPORTED:
                raise TypeError(f"UNet2DConditionModel: unknown argument {key!r}")
        n = len(down_block_types)
        if len(up_block_types) != n or len(block_out_channels) != n:
            raise ValueError("down_block_types, up_block_types and block_out_channels must have the same length "
                             f"(got {n}, {len(up_block_types)}, {len(block_out_channels)})")
        if isinstance(cross_attention_dim, (list, tuple)):
            raise ValueError("cross_attention_dim: one int for all blocks is implemented, got a sequence")
        if norm_num_groups is None:
            raise ValueError("norm_num_groups: None (no GroupNorm) is not implemented; pass an int such as 32")
        for name in list(down_block_types) + list(up_block_types):
            if name not in DOWN_BLOCKS and name not in UP_BLOCKS:
                raise ValueError(f"block type {name!r}: expected one of {', '.join([*DOWN_BLOCKS, *UP_BLOCKS])}")
        if mid_block_type is not None and mid_block_type not in MID_BLOCKS:
            raise ValueError(f"mid_block_type: expected one of {MID_BLOCKS} or None, got {mid_block_type!r}")
        self.config = record(type(self), {**values, **unsupported})
        heads = per_block("num_attention_heads", num_attention_heads or attention_head_dim, n)
        layers = per_block("layers_per_block", layers_per_block, n)
        tlayers = per_block("transformer_layers_per_block", transformer_layers_per_block, n)
        cross_only = per_block("only_cross_attention", only_cross_attention, n)
        self.center_input_sample = center_input_sample
        self.flip_sin_to_cos, self.freq_shift = flip_sin_to_cos, freq_shift
        ch0, temb = block_out_channels[0], block_out_channels[0] * 4

        def common(cross: bool) -> _Common:
            return _Common(temb, norm_num_groups, norm_eps, act_fn, cross_attention_dim, use_linear_projection,
                           cross, downsample_padding)

        self.conv_in = nn.Conv2d(in_channels, ch0, 3, padding=1)
        self.time_embedding = TimestepEmbedding(ch0, temb, act_fn)
        self.down_blocks = nn.ModuleList()
        cout = ch0
        for i, name in enumerate(down_block_types):
            cin, cout = cout, block_out_channels[i]
            self.down_blocks.append(DOWN_BLOCKS[name](common(cross_only[i]), cin, cout, layers[i], i < n - 1,
                                                      heads[i], tlayers[i]))
        self.mid_block = None if mid_block_type is None else UNetMidBlock2DCrossAttn(
            common(False), block_out_channels[-1], heads[-1], tlayers[-1],
            output_scale_factor=mid_block_scale_factor)
        self.up_blocks = nn.ModuleList()
        rev = list(reversed(block_out_channels))
        cout = rev[0]
        for i, name in enumerate(up_block_types):
            prev, cout, cin = cout, rev[i], rev[min(i + 1, n - 1)]
            j = n - 1 - i
            self.up_blocks.append(UP_BLOCKS[name](common(cross_only[j]), cin, prev, cout, layers[j] + 1,
                                                  i < n - 1, heads[j], tlayers[j]))
        self.conv_norm_out = GroupNorm(norm_num_groups, ch0, eps=norm_eps)
        self.act = activation(act_fn)
        self.silu = act_fn in ("silu", "swish")
        self.conv_out = nn.Conv2d(ch0, out_channels, 3, padding=1)
        self.num_upsamplers = n - 1

    @classmethod
    def from_config(cls, config: dict) -> "UNet2DConditionModel":
        known = set(init_args(cls, config)) | set(_UNSUPPORTED)
        return cls(**{k: v for k, v in config.items() if k in known})

    @property
    def dtype(self) -> torch.dtype:
        return self.conv_in.weight.dtype

    @contextlib.contextmanager
    def reuse_context(self, encoder_hidden_states: torch.Tensor):
        """Inside, forward calls given this very encoder_hidden_states tensor reuse each cross-attention's
        key and value projections, computed once here (a sampling loop's text embeddings do not change)."""
        layers = [m for m in self.modules() if isinstance(m, Attention) and m.is_cross_attention]
        try:
            for m in layers:
                m.reuse_context(encoder_hidden_states)
            yield self
        finally:
            for m in layers:
                m.reuse_context(None)

    def forward(self, sample: torch.Tensor, timestep, encoder_hidden_states: torch.Tensor,
                return_dict: bool = True):
        if sample.dim() != 4:
            raise ValueError(f"sample: expected [B, C, H, W], got shape {tuple(sample.shape)}")
        if encoder_hidden_states.dim() != 3 or encoder_hidden_states.shape[0] != sample.shape[0]:
            raise ValueError(f"encoder_hidden_states: expected [{sample.shape[0]}, N, "
                             f"{self.config.cross_attention_dim}], got {tuple(encoder_hidden_states.shape)}")
        factor = 2 ** self.num_upsamplers
        odd = any(s % factor for s in sample.shape[-2:])
        t = torch.as_tensor(timestep, device=sample.device)
        t = t.reshape(-1).expand(sample.shape[0]) if t.numel() == 1 else t
        if t.shape != (sample.shape[0],):
            raise ValueError(f"timestep: expected a scalar or {sample.shape[0]} values, got shape {tuple(t.shape)}")
        emb = sinusoidal_timesteps(t, self.conv_in.out_channels, self.flip_sin_to_cos, self.freq_shift)
        emb = self.time_embedding(emb.to(sample.dtype))
        if self.center_input_sample:
            sample = 2 * sample - 1.0
        # CPU inference runs channels_last end to end (oneDNN's NHWC convs, our NHWC GroupNorm, token views
        # of the transformers' activations); the output is returned in the standard layout.
        x = conv(self.conv_in, layout_for(sample, self.conv_in))
        skips = [x]
        for block in self.down_blocks:
            x, s = block(x, emb, encoder_hidden_states)
            skips.extend(s)
        if self.mid_block is not None:
            x = self.mid_block(x, emb, encoder_hidden_states)
        for i, block in enumerate(self.up_blocks):
            last = i == len(self.up_blocks) - 1
            mine = skips[-len(block.resnets):]
            del skips[-len(block.resnets):]
            # A skip of odd size: upsample to its size rather than 2x (diffusers' forward_upsample_size).
            size = skips[-1].shape[2:] if (odd and not last) else None
            x = block(x, mine, emb, encoder_hidden_states, size)
        x = self.conv_norm_out(x, act=True) if self.silu else self.act(self.conv_norm_out(x))
        x = conv(self.conv_out, x).contiguous()
        return UNet2DConditionOutput(x) if return_dict else (x,)
