"""Sampling loops shared by the scheduler tests: a deterministic start sample and stand-in model
(the kind diffusers' scheduler tests use), a tiny random diffusers UNet2DModel, and a loop that
drives any scheduler, ours or diffusers', the same way."""
import torch


def ramp_sample(batch=4, channels=3, size=8) -> torch.Tensor:
    """Values k / n for k < n, laid out channel-major so every sample differs."""
    n = batch * channels * size * size
    return (torch.arange(n, dtype=torch.float32).reshape(channels, size, size, batch) / n).permute(3, 0, 1, 2)


def scaled_model(x: torch.Tensor, t) -> torch.Tensor:
    """x * t / (t + 1): a model output that depends on both the sample and the timestep."""
    t = torch.as_tensor(t, dtype=x.dtype)
    return x * t / (t + 1)


def run_loop(scheduler, x, model=scaled_model, timesteps=None, generator=None, **step_kwargs):
    """x after stepping through `timesteps` (default: scheduler.timesteps) with model(x, t)."""
    for t in scheduler.timesteps if timesteps is None else timesteps:
        if generator is not None:
            step_kwargs["generator"] = generator
        x = scheduler.step(model(scheduler.scale_model_input(x, t), t), t, x, **step_kwargs).prev_sample
    return x


def tiny_unet():
    """A random 8x8 RGB UNet2DModel with one attention level (seeded, eval mode)."""
    from diffusers import UNet2DModel

    torch.manual_seed(0)
    return UNet2DModel(block_out_channels=(4, 8), layers_per_block=1, norm_num_groups=4, sample_size=8,
                       in_channels=3, out_channels=3, down_block_types=("DownBlock2D", "AttnDownBlock2D"),
                       up_block_types=("AttnUpBlock2D", "UpBlock2D")).eval()
