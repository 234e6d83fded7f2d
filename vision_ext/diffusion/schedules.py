"""Noise schedules (computed in float64) and inference timestep spacings.

Names and conventions follow diffusers so configs carry over: beta schedules
'linear', 'scaled_linear', 'squaredcos_cap_v2' (cosine, Nichol & Dhariwal) and
'sigmoid' (GeoDiff); spacings 'leading', 'trailing', 'linspace' (Lin et al. 2023, table 2).
"""
import math
from typing import Optional, Sequence

import numpy as np
import torch

BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2", "sigmoid")
SPACINGS = ("leading", "trailing", "linspace")


def _choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"{name}: expected one of {', '.join(repr(a) for a in allowed)}, got {value!r}")


def cosine_betas(num_train_timesteps: int, max_beta: float = 0.999) -> torch.Tensor:
    """beta_t = 1 - abar(t+1)/abar(t), abar(t) = cos^2((t/T + 0.008)/1.008 * pi/2), capped at max_beta."""
    def abar(t):
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
    T = num_train_timesteps
    return torch.tensor([min(1 - abar((i + 1) / T) / abar(i / T), max_beta) for i in range(T)], dtype=torch.float64)


def make_betas(beta_schedule: str = "linear", num_train_timesteps: int = 1000, beta_start: float = 1e-4,
               beta_end: float = 0.02, trained_betas: Optional[Sequence[float]] = None) -> torch.Tensor:
    """The betas of a named schedule (or `trained_betas`), float64, increasing with t."""
    if trained_betas is not None:
        return torch.as_tensor(np.asarray(trained_betas, dtype=np.float64))
    if not isinstance(num_train_timesteps, int) or num_train_timesteps < 1:
        raise ValueError(f"num_train_timesteps: expected a positive int, got {num_train_timesteps!r}")
    _choice("beta_schedule", beta_schedule, BETA_SCHEDULES)
    T = num_train_timesteps
    if beta_schedule == "linear":
        return torch.linspace(beta_start, beta_end, T, dtype=torch.float64)
    if beta_schedule == "scaled_linear":  # latent diffusion: linear in sqrt(beta)
        return torch.linspace(beta_start ** 0.5, beta_end ** 0.5, T, dtype=torch.float64) ** 2
    if beta_schedule == "squaredcos_cap_v2":
        return cosine_betas(T)
    return torch.sigmoid(torch.linspace(-6, 6, T, dtype=torch.float64)) * (beta_end - beta_start) + beta_start


def rescale_zero_terminal_snr(betas: torch.Tensor) -> torch.Tensor:
    """Shift and scale sqrt(abar) so the last timestep has zero SNR and the first keeps its value
    (Lin et al. 2023, algorithm 1); float64 in and out."""
    sqrt_ab = torch.cumprod(1.0 - betas.double(), 0).sqrt()
    first, last = sqrt_ab[0].clone(), sqrt_ab[-1].clone()
    sqrt_ab = (sqrt_ab - last) * (first / (first - last))
    ab = sqrt_ab ** 2
    alphas = torch.cat([ab[:1], ab[1:] / ab[:-1]])
    return 1.0 - alphas


def alphas_cumprod(betas: torch.Tensor) -> torch.Tensor:
    """abar_t = prod_{s <= t} (1 - beta_s), float64."""
    return torch.cumprod(1.0 - betas.double(), 0)


def spaced_timesteps(num_inference_steps: int, num_train_timesteps: int, spacing: str = "leading",
                     steps_offset: int = 0) -> np.ndarray:
    """Descending int64 inference timesteps for a spacing (diffusers' DDPM/DDIM convention)."""
    _choice("timestep_spacing", spacing, SPACINGS)
    n, T = num_inference_steps, num_train_timesteps
    if not isinstance(n, int) or not 1 <= n <= T:
        raise ValueError(f"num_inference_steps: expected an int in [1, {T}] (num_train_timesteps), got {n!r}")
    if spacing == "linspace":
        return np.linspace(0, T - 1, n).round()[::-1].astype(np.int64)
    if spacing == "leading":
        return (np.arange(0, n) * (T // n)).round()[::-1].astype(np.int64) + steps_offset
    return np.round(np.arange(T, 0, -T / n)).astype(np.int64) - 1
