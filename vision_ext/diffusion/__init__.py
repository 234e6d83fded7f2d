"""Denoising diffusion: schedules, diffusers-compatible schedulers on fused kernels,
the DDPM U-Net, sampling pipelines and training."""
from vision_ext.diffusion.schedules import (alphas_cumprod, make_betas, rescale_zero_terminal_snr,
                                            spaced_timesteps)
from vision_ext.diffusion.scheduler_config import FrozenConfig
from vision_ext.diffusion.scheduler_outputs import SchedulerOutput
from vision_ext.diffusion.schedulers import DDIMScheduler, DDPMScheduler, PLMSScheduler

__all__ = ["make_betas", "rescale_zero_terminal_snr", "alphas_cumprod", "spaced_timesteps", "DDPMScheduler",
           "DDIMScheduler", "PLMSScheduler", "SchedulerOutput", "FrozenConfig"]
from vision_ext.diffusion.unet import UNet, timestep_embedding
from vision_ext.diffusion.pipeline import make_scheduler, sample
from vision_ext.diffusion.train import TrainConfig, Trainer, load_digits, load_ema_model

__all__ += ["UNet", "timestep_embedding", "make_scheduler", "sample", "TrainConfig", "Trainer", "load_digits",
            "load_ema_model"]
