"""The models each stage trains, built from an SDTrainConfig: our diffusers/transformers-compatible AutoencoderKL,
CLIPTextModel and UNet2DConditionModel at small sizes, and the contrastive stage's image encoder."""
import math

import torch
from torch import nn

from vision_ext.sd import AutoencoderKL, CLIPTextModel, UNet2DConditionModel
from vision_ext.sd.training.config import MAX_TOKENS, SDTrainConfig

GROUPS = 8  # GroupNorm groups: divides every channel count of the default and quick sizes


def build_vae(cfg: SDTrainConfig) -> AutoencoderKL:
    n = len(cfg.vae_channels)
    return AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * n,
                         up_block_types=("UpDecoderBlock2D",) * n, block_out_channels=tuple(cfg.vae_channels),
                         layers_per_block=1, latent_channels=4, norm_num_groups=GROUPS, sample_size=32)


def build_text_encoder(cfg: SDTrainConfig, token_ids: dict) -> CLIPTextModel:
    """token_ids: vocab_size and the bos/eos/pad ids of the tokenizer folder (vocab.write_tokenizer)."""
    return CLIPTextModel(hidden_size=cfg.text_width, intermediate_size=4 * cfg.text_width,
                         num_hidden_layers=cfg.text_layers, num_attention_heads=cfg.text_heads,
                         max_position_embeddings=MAX_TOKENS, projection_dim=cfg.text_width, **token_ids)


def build_unet(cfg: SDTrainConfig) -> UNet2DConditionModel:
    n = len(cfg.unet_channels)
    return UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4,
                                down_block_types=("CrossAttnDownBlock2D",) * n,
                                up_block_types=("CrossAttnUpBlock2D",) * n, block_out_channels=tuple(cfg.unet_channels),
                                layers_per_block=1, norm_num_groups=GROUPS * 2, cross_attention_dim=cfg.text_width,
                                attention_head_dim=cfg.unet_heads)


class ImageEncoder(nn.Module):
    """32x32 images -> an embedding of the text encoder's width (only for the contrastive loss; not exported)."""

    def __init__(self, width: int):
        super().__init__()
        chans = (3, 32, 64, 128)
        layers = []
        for cin, cout in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.GroupNorm(GROUPS, cout), nn.SiLU()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(chans[-1], width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))


class ContrastiveHeads(nn.Module):
    """CLIP's text projection (pooled text state -> joint space), the image encoder and the learnt temperature."""

    def __init__(self, width: int):
        super().__init__()
        self.text_projection = nn.Linear(width, width, bias=False)
        self.image_encoder = ImageEncoder(width)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
