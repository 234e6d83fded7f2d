"""Writing the trained components as a diffusers-format Stable Diffusion folder (model_index.json, vae/,
text_encoder/, tokenizer/, unet/, scheduler/): config.json + safetensors per component, each file written
atomically. Our StableDiffusionPipeline.from_pretrained and diffusers' both load it."""
import json
import os

import torch

from vision_ext.sd.training.stages import SCHEDULE
from vision_ext.training.checkpoint import atomic_write

DIFFUSERS_VERSION = "0.42.1"  # the diffusers release whose folder layout this follows


def _json(path: str, obj: dict) -> None:
    atomic_write(path, lambda f: f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n"), mode="w")


def _safetensors(path: str, state: dict) -> None:
    from safetensors.torch import save

    data = save({k: v.detach().contiguous() for k, v in state.items()}, metadata={"format": "pt"})
    atomic_write(path, lambda f: f.write(data))


def _plain(config: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()}


def scheduler_config(num_train_timesteps: int) -> dict:
    """DDIM over the training schedule, with SD 1.x's leading spacing and offset."""
    return {"_class_name": "DDIMScheduler", "_diffusers_version": DIFFUSERS_VERSION,
            "num_train_timesteps": num_train_timesteps, **SCHEDULE, "clip_sample": False,
            "set_alpha_to_one": False, "steps_offset": 1, "prediction_type": "epsilon",
            "timestep_spacing": "leading"}


def write_pipeline(out: str, vae, scaling_factor: float, text_encoder, unet, num_train_timesteps: int) -> None:
    """The tokenizer/ folder is already in `out` (the run writes it first and trains with it)."""
    vae_cfg = dict(_plain(vae.config), scaling_factor=scaling_factor)
    _json(os.path.join(out, "vae", "config.json"),
          {"_class_name": "AutoencoderKL", "_diffusers_version": DIFFUSERS_VERSION, **vae_cfg})
    _safetensors(os.path.join(out, "vae", "diffusion_pytorch_model.safetensors"), vae.state_dict())
    _json(os.path.join(out, "unet", "config.json"),
          {"_class_name": "UNet2DConditionModel", "_diffusers_version": DIFFUSERS_VERSION, **_plain(unet.config)})
    _safetensors(os.path.join(out, "unet", "diffusion_pytorch_model.safetensors"), unet.state_dict())
    # transformers' layout: CLIPTextModel keeps the transformer under text_model.
    _json(os.path.join(out, "text_encoder", "config.json"),
          {"architectures": ["CLIPTextModel"], "model_type": "clip_text_model", "torch_dtype": "float32",
           **_plain(text_encoder.config)})
    _safetensors(os.path.join(out, "text_encoder", "model.safetensors"),
                 {"text_model." + k: v for k, v in text_encoder.state_dict().items()})
    _json(os.path.join(out, "scheduler", "scheduler_config.json"), scheduler_config(num_train_timesteps))
    _json(os.path.join(out, "model_index.json"), {
        "_class_name": "StableDiffusionPipeline", "_diffusers_version": DIFFUSERS_VERSION,
        "vae": ["diffusers", "AutoencoderKL"], "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
        "scheduler": ["diffusers", "DDIMScheduler"], "safety_checker": [None, None],
        "feature_extractor": [None, None], "image_encoder": [None, None], "requires_safety_checker": False})
