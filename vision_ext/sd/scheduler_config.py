"""Our schedulers (vision_ext.diffusion) built from a diffusers scheduler_config.json."""
import inspect

from vision_ext.diffusion.schedulers import DDIMScheduler, DDPMScheduler, PLMSScheduler
from vision_ext.sd.config import init_args

SAMPLERS = {"ddim": DDIMScheduler, "ddpm": DDPMScheduler, "plms": PLMSScheduler}
# The sampler a folder's scheduler class stands for (diffusers' PNDM with skip_prk_steps is PLMS).
SAMPLER_OF_CLASS = {"DDIMScheduler": "ddim", "DDPMScheduler": "ddpm", "PNDMScheduler": "plms"}


def default_sampler(config: dict) -> str:
    """The folder's own sampler when we have it, else DDIM."""
    return SAMPLER_OF_CLASS.get(config.get("_class_name"), "ddim")


def make_scheduler(sampler: str, config: dict):
    """SAMPLERS[sampler] with every entry of `config` its constructor accepts (the schedule:
    num_train_timesteps, betas, spacing, steps_offset, prediction_type, clip_sample, ...)."""
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler: expected one of {', '.join(SAMPLERS)}, got {sampler!r}")
    cls = SAMPLERS[sampler]
    args = init_args(cls, config)
    if sampler == "plms":
        args["skip_prk_steps"] = True  # PNDM configs may ask for the Runge-Kutta warm-up; PLMS skips it
    return cls(**args)


def step_kwargs(scheduler, eta: float, generator) -> dict:
    """eta and generator for schedulers whose step takes them (diffusers' prepare_extra_step_kwargs)."""
    params = inspect.signature(scheduler.step).parameters
    out = {}
    if "eta" in params:
        out["eta"] = eta
    if "generator" in params:
        out["generator"] = generator
    return out
