"""Stable Diffusion 1.x/2.x on our code: the VAE, CLIP text encoder and tokenizer, the
text-conditioned U-Net and the text-to-image pipeline, loading diffusers-format folders from disk."""
from vision_ext.sd.autoencoder_kl import AutoencoderKL, DiagonalGaussianDistribution
from vision_ext.sd.clip_text import CLIPTextModel
from vision_ext.sd.norm import group_norm_silu
from vision_ext.sd.pipeline import StableDiffusionPipeline
from vision_ext.sd.scheduler_config import make_scheduler
from vision_ext.sd.tokenizer import CLIPTokenizer
from vision_ext.sd.unet_2d_condition import UNet2DConditionModel

__all__ = ["AutoencoderKL", "DiagonalGaussianDistribution", "CLIPTextModel", "CLIPTokenizer",
           "UNet2DConditionModel", "StableDiffusionPipeline", "make_scheduler", "group_norm_silu"]
