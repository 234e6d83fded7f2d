"""Sampling loops: start from Gaussian noise and apply a scheduler's step until t = 0."""
from typing import Optional, Sequence

import torch

from vision_ext.diffusion.schedulers import DDIMScheduler, DDPMScheduler, PLMSScheduler

SAMPLERS = {"ddpm": DDPMScheduler, "ddim": DDIMScheduler, "plms": PLMSScheduler}


def make_scheduler(name: str, **config):
    """A scheduler by sampler name ('ddpm', 'ddim', 'plms') with diffusers-style config."""
    if name not in SAMPLERS:
        raise ValueError(f"sampler: expected one of {', '.join(SAMPLERS)}, got {name!r}")
    cls = SAMPLERS[name]
    return cls.from_config(config)


@torch.no_grad()
def sample(model, scheduler, shape: Sequence[int], num_inference_steps: int = 50,
           generator: Optional[torch.Generator] = None, device="cpu", eta: float = 0.0,
           progress: bool = False) -> torch.Tensor:
    """Draw samples of `shape` with `model(x, t)` and `scheduler`; returns values in model space."""
    scheduler.set_timesteps(num_inference_steps)
    x = torch.randn(tuple(shape), generator=generator, device="cpu").to(device) * scheduler.init_noise_sigma
    if generator is None and hasattr(scheduler, "set_seed"):
        scheduler.set_seed(int(torch.randint(0, 2 ** 62, (1,)).item()))
    elif generator is not None:
        scheduler.set_seed(int(torch.randint(0, 2 ** 62, (1,), generator=generator).item()))
    steps = scheduler.timesteps
    if progress:
        from tqdm import tqdm
        steps = tqdm(steps, desc="sampling", leave=False)
    for t in steps:
        t_dev = t.to(device)
        out = model(scheduler.scale_model_input(x, t), t_dev.expand(x.shape[0]))
        kwargs = {"eta": eta} if isinstance(scheduler, DDIMScheduler) else {}
        x = scheduler.step(out, int(t), x, **kwargs).prev_sample
    return x
