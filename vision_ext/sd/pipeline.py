"""Text-to-image sampling with a Stable Diffusion 1.x/2.x checkpoint in diffusers' folder layout
(model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/), on our models and our
schedulers, with classifier-free guidance (Ho & Salimans 2022)."""
import contextlib
import os
import warnings
from typing import List, Optional, Union

import numpy as np
import torch

from vision_ext.sd.autoencoder_kl import AutoencoderKL
from vision_ext.sd.clip_text import CLIPTextModel
from vision_ext.sd.loading import check_folder, read_json
from vision_ext.sd.noise import Generator, randn
from vision_ext.sd.outputs import StableDiffusionPipelineOutput
from vision_ext.sd.scheduler_config import default_sampler, make_scheduler, step_kwargs
from vision_ext.sd.tokenizer import CLIPTokenizer
from vision_ext.sd.unet_2d_condition import UNet2DConditionModel

OUTPUT_TYPES = ("pil", "np", "pt", "latent")


def _prompts(name: str, value, batch: Optional[int] = None) -> List[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{name}: expected a string or a non-empty list of strings, got {type(value).__name__}")
    if batch is not None and len(value) != batch:
        raise ValueError(f"{name}: {len(value)} prompts for {batch} prompts; pass one per prompt or a single string")
    return list(value)


def to_pil(images: np.ndarray):
    """[B, H, W, C] floats in [0, 1] -> list of PIL images."""
    from PIL import Image

    images = (images * 255).round().astype("uint8")
    if images.shape[-1] == 1:
        return [Image.fromarray(im[..., 0], mode="L") for im in images]
    return [Image.fromarray(im) for im in images]


class StableDiffusionPipeline:
    """pipe(prompt, ...).images: text -> CLIP embeddings -> denoise latents with the U-Net and a
    scheduler -> VAE decode. safety_checker / feature_extractor of hub folders are not loaded."""

    def __init__(self, vae: AutoencoderKL, text_encoder: CLIPTextModel, tokenizer: CLIPTokenizer,
                 unet: UNet2DConditionModel, scheduler_config: dict, scheduler=None):
        self.vae, self.text_encoder, self.tokenizer, self.unet = vae, text_encoder, tokenizer, unet
        self.scheduler_config = dict(scheduler_config)
        self.scheduler = scheduler if scheduler is not None else make_scheduler(
            default_sampler(self.scheduler_config), self.scheduler_config)
        self.vae_scale_factor = 2 ** (len(vae.config.block_out_channels) - 1)
        self._progress = {}

    @classmethod
    def from_pretrained(cls, folder, torch_dtype: Optional[torch.dtype] = None, variant: Optional[str] = None,
                        sampler: Optional[str] = None) -> "StableDiffusionPipeline":
        """Load a diffusers-format SD folder from disk (never a download). `sampler` ('ddim', 'ddpm',
        'plms') picks the scheduler; by default the folder's (PNDM -> PLMS), DDIM for other classes."""
        folder = check_folder(folder, "StableDiffusionPipeline.from_pretrained")
        read_json(os.path.join(folder, "model_index.json"))  # a clear error when this is not a pipeline folder
        for sub in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
            check_folder(os.path.join(folder, sub), f"StableDiffusionPipeline.from_pretrained ({sub}/)")
        kw = dict(torch_dtype=torch_dtype, variant=variant)
        config = read_json(os.path.join(folder, "scheduler", "scheduler_config.json"))
        return cls(vae=AutoencoderKL.from_pretrained(folder, "vae", **kw),
                   text_encoder=CLIPTextModel.from_pretrained(folder, "text_encoder", **kw),
                   tokenizer=CLIPTokenizer.from_pretrained(folder, "tokenizer"),
                   unet=UNet2DConditionModel.from_pretrained(folder, "unet", **kw), scheduler_config=config,
                   scheduler=make_scheduler(sampler, config) if sampler else None)

    def to(self, device=None, dtype: Optional[torch.dtype] = None) -> "StableDiffusionPipeline":
        for m in (self.vae, self.text_encoder, self.unet):
            m.to(device=device, dtype=dtype)
        return self

    @property
    def device(self) -> torch.device:
        return self.unet.conv_in.weight.device

    def set_progress_bar_config(self, **kwargs) -> None:
        """tqdm arguments for the denoising loop's bar (disable=True hides it)."""
        self._progress = dict(kwargs)

    def make_scheduler(self, sampler: str):
        """A fresh scheduler of our `sampler` with this folder's schedule."""
        return make_scheduler(sampler, self.scheduler_config)

    @torch.inference_mode()
    def _embed(self, prompts: List[str], max_length: int) -> torch.Tensor:
        for text, ids in zip(prompts, self.tokenizer(prompts).input_ids):
            if len(ids) > max_length:
                warnings.warn(f"prompt {text[:40]!r}...: {len(ids)} tokens, CLIP reads {max_length}; the text past "
                              f"token {max_length - 2} is dropped: {self.tokenizer.decode(ids[max_length - 1:])!r}")
        ids = self.tokenizer(prompts, padding="max_length", max_length=max_length, truncation=True,
                             return_tensors="pt").input_ids
        return self.text_encoder(ids.to(self.device)).last_hidden_state

    def encode_prompt(self, prompt, num_images_per_prompt: int = 1, do_classifier_free_guidance: bool = True,
                      negative_prompt=None) -> torch.Tensor:
        """Text embeddings [B*n, 77, D]; with guidance, [unconditional; conditional] stacked (2*B*n)."""
        prompts = _prompts("prompt", prompt)
        cond = self._embed(prompts, self.tokenizer.model_max_length).to(self.unet.dtype)
        cond = cond.repeat_interleave(num_images_per_prompt, dim=0)
        if not do_classifier_free_guidance:
            return cond
        negatives = [""] * len(prompts) if negative_prompt is None else (
            [negative_prompt] * len(prompts) if isinstance(negative_prompt, str)
            else _prompts("negative_prompt", negative_prompt, len(prompts)))
        uncond = self._embed(negatives, cond.shape[1]).to(self.unet.dtype)
        return torch.cat([uncond.repeat_interleave(num_images_per_prompt, dim=0), cond])

    def _check(self, height, width, num_inference_steps, guidance_scale, output_type, num_images_per_prompt):
        f = self.vae_scale_factor
        if height % f or width % f or height <= 0 or width <= 0:
            raise ValueError(f"height/width: must be positive multiples of {f} (the VAE's downscale factor), "
                             f"got {height}x{width}")
        if not isinstance(num_inference_steps, int) or num_inference_steps < 1:
            raise ValueError(f"num_inference_steps: expected an int >= 1, got {num_inference_steps!r}")
        if output_type not in OUTPUT_TYPES:
            raise ValueError(f"output_type: expected one of {', '.join(OUTPUT_TYPES)}, got {output_type!r}")
        if not isinstance(num_images_per_prompt, int) or num_images_per_prompt < 1:
            raise ValueError(f"num_images_per_prompt: expected an int >= 1, got {num_images_per_prompt!r}")
        if not np.isfinite(guidance_scale):
            raise ValueError(f"guidance_scale: expected a finite number, got {guidance_scale!r}")

    # inference_mode, not no_grad: no version counters or view tracking on the sampling loop's tensors.
    @torch.inference_mode()
    def __call__(self, prompt: Union[str, List[str]], negative_prompt: Union[str, List[str], None] = None,
                 height: Optional[int] = None, width: Optional[int] = None, num_inference_steps: int = 50,
                 guidance_scale: float = 7.5, num_images_per_prompt: int = 1, eta: float = 0.0,
                 generator: Generator = None, latents: Optional[torch.Tensor] = None, sampler: Optional[str] = None,
                 output_type: str = "pil", return_dict: bool = True):
        """Generate images. sampler: 'ddim', 'ddpm' or 'plms' (a fresh scheduler with the folder's
        schedule), or None for self.scheduler. output_type: 'pil' (list of PIL images), 'np'
        ([B, H, W, 3] floats in [0, 1]), 'pt' ([B, 3, H, W] tensor in [0, 1]) or 'latent'."""
        size = self.unet.config.sample_size or 64
        size_h, size_w = (size, size) if isinstance(size, int) else size
        height = height or size_h * self.vae_scale_factor
        width = width or size_w * self.vae_scale_factor
        self._check(height, width, num_inference_steps, guidance_scale, output_type, num_images_per_prompt)
        guided = guidance_scale > 1.0
        embeds = self.encode_prompt(prompt, num_images_per_prompt, guided, negative_prompt)
        batch = embeds.shape[0] // (2 if guided else 1)
        scheduler = self.scheduler if sampler is None else self.make_scheduler(sampler)
        scheduler.set_timesteps(num_inference_steps, device=self.device)
        shape = (batch, self.unet.config.in_channels, height // self.vae_scale_factor, width // self.vae_scale_factor)
        if latents is None:
            latents = randn(shape, generator, self.device, embeds.dtype)
        elif tuple(latents.shape) != shape:
            raise ValueError(f"latents: expected shape {shape} for this prompt batch and size, "
                             f"got {tuple(latents.shape)}")
        latents = latents.to(self.device, embeds.dtype) * scheduler.init_noise_sigma
        extra = step_kwargs(scheduler, eta, generator)
        from tqdm.auto import tqdm

        # The text embeddings are the same at every step: each cross-attention projects them once.
        reuse = getattr(self.unet, "reuse_context", None)
        with reuse(embeds) if reuse is not None else contextlib.nullcontext():
            for t in tqdm(scheduler.timesteps, total=len(scheduler.timesteps), **self._progress):
                # Classifier-free guidance as one forward of the [unconditional; conditional] batch.
                model_in = torch.cat([latents] * 2) if guided else latents
                model_in = scheduler.scale_model_input(model_in, t)
                noise = self.unet(model_in, t, encoder_hidden_states=embeds).sample
                if guided:
                    uncond, cond = noise.chunk(2)
                    noise = uncond + guidance_scale * (cond - uncond)
                latents = scheduler.step(noise, t, latents, **extra).prev_sample
        if output_type == "latent":
            images = latents
        else:
            images = self.vae.decode(latents / self.vae.config.scaling_factor).sample
            images = (images / 2 + 0.5).clamp(0, 1)
            if output_type != "pt":
                images = images.cpu().permute(0, 2, 3, 1).float().numpy()
                if output_type == "pil":
                    images = to_pil(images)
        if not return_dict:
            return (images, None)
        return StableDiffusionPipelineOutput(images=images, nsfw_content_detected=None)
