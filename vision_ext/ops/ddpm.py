"""Op contract of the DDPM family (csrc/ops/ddpm.cpp): public wrappers, fake
kernels for torch.compile, autograd for the forward-noising ops, and the rebuild
hint for CUDA tensors in CPU-only builds.

Timesteps are integer tensors (one, or one per sample) that may live on the
device: coefficients are gathered from ``alphas_cumprod`` inside the kernels,
so no op here synchronises with the host.
"""
import operator
from typing import Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from vision_ext._build import register_cuda_missing

_OPS = ("add_noise", "ddpm_training_target", "ddpm_step", "ddim_step", "plms_step", "philox_normal_like")
for _name in _OPS:
    register_cuda_missing(f"vision_ext::{_name}")

TimestepLike = Union[int, Tensor]

# The overloads themselves (calling the packet resolves the overload on every call).
ADD_NOISE = torch.ops.vision_ext.add_noise.default
TARGET = torch.ops.vision_ext.ddpm_training_target.default
DDPM_STEP = torch.ops.vision_ext.ddpm_step.default
DDIM_STEP = torch.ops.vision_ext.ddim_step.default
PLMS_STEP = torch.ops.vision_ext.plms_step.default
PHILOX = torch.ops.vision_ext.philox_normal_like.default


_is_compiling = torch.compiler.is_compiling
_grad_enabled = torch.is_grad_enabled
_below_autograd = torch._C._AutoDispatchBelowAutograd


def call(op, args, tensors):
    """op(*args), below the autograd layer when no input needs a gradient. That layer (a Python
    autograd kernel, or the not-implemented fallback) costs several microseconds a call, more than a
    small step's maths; skipping it changes nothing since no output would require grad. Calling the
    overload's C++ function (not the packet) also skips overload resolution and a Python frame."""
    if _is_compiling():
        return op(*args)
    if _grad_enabled():
        for t in tensors:
            if t is not None and t.requires_grad:
                return op(*args)
    with _below_autograd():
        return op._op(*args)


# Philox seeds and offsets travel as the schemas' `int` (int64) and key the generator as uint64: the
# range both agree on, without a silent wrap of negative values, is [0, 2^63 - 1].
PHILOX_INT_MAX = 2 ** 63 - 1


def philox_int(name: str, value) -> int:
    """`value` as a Philox seed/offset int, or a TypeError/ValueError naming `name` and the valid range."""
    if isinstance(value, bool):
        raise TypeError(f"{name}: expected an int in [0, 2^63 - 1], got a bool")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: expected an int in [0, 2^63 - 1], got {type(value).__name__}") from None
    if not 0 <= value <= PHILOX_INT_MAX:
        raise ValueError(f"{name}: {value} is outside [0, 2^63 - 1] (Philox seeds and offsets are non-negative "
                         "64-bit ints); reduce it, e.g. modulo 2**63")
    return value


def as_timesteps(t: TimestepLike, like: Tensor) -> Tensor:
    """An int64 tensor on `like`'s device from an int or tensor (tensors are only moved if needed)."""
    if isinstance(t, Tensor):
        if t.device != like.device:
            t = t.to(like.device)
        return t
    if isinstance(t, bool) or not isinstance(t, int):
        raise TypeError(f"timesteps: expected an int or an integer tensor, got {type(t).__name__}")
    return torch.tensor(t, dtype=torch.long, device=like.device)


def add_noise(original: Tensor, noise: Tensor, timesteps: TimestepLike, alphas_cumprod: Tensor) -> Tensor:
    """q_sample: sqrt(ab_t) * original + sqrt(1 - ab_t) * noise, ab_t gathered per sample in fp32+ maths."""
    return call(ADD_NOISE, (original, noise, as_timesteps(timesteps, original), alphas_cumprod), (original, noise))


def training_target(original: Tensor, noise: Tensor, timesteps: TimestepLike, alphas_cumprod: Tensor,
                    prediction_type: str = "epsilon", min_snr_gamma: float = 0.0) -> Tuple[Tensor, Tensor, Tensor]:
    """(x_t, target, weights) in one pass: target is noise, x0 or v; weights are min-SNR-gamma
    loss weights per sample (all ones when min_snr_gamma <= 0)."""
    return call(TARGET, (original, noise, as_timesteps(timesteps, original), alphas_cumprod, prediction_type,
                         float(min_snr_gamma)), (original, noise))


def ddpm_step(model_output: Tensor, sample: Tensor, timestep: TimestepLike, prev_timestep: TimestepLike,
              alphas_cumprod: Tensor, noise: Optional[Tensor] = None, threshold: Optional[Tensor] = None,
              seed: int = 0, offset: int = 0, prediction_type: str = "epsilon", variance_type: str = "fixed_small",
              clip_sample_range: float = 0.0, final_alpha_cumprod: float = 1.0) -> Tuple[Tensor, Tensor]:
    """One fused DDPM reverse step -> (prev_sample, pred_original_sample). Noise is `noise` when given,
    else Philox(seed, offset) drawn in the kernel; none is added at timestep 0. clip_sample_range <= 0
    disables clipping; `threshold` (float32 [B]) applies dynamic thresholding instead."""
    return call(DDPM_STEP, (model_output, sample, as_timesteps(timestep, sample),
                            as_timesteps(prev_timestep, sample), alphas_cumprod, noise, threshold,
                            philox_int("seed", seed), philox_int("offset", offset), prediction_type, variance_type,
                            float(clip_sample_range), float(final_alpha_cumprod)), (model_output, sample, noise))


def ddim_step(model_output: Tensor, sample: Tensor, timestep: TimestepLike, prev_timestep: TimestepLike,
              alphas_cumprod: Tensor, noise: Optional[Tensor] = None, threshold: Optional[Tensor] = None,
              seed: int = 0, offset: int = 0, eta: float = 0.0, use_clipped_model_output: bool = False,
              prediction_type: str = "epsilon", clip_sample_range: float = 0.0,
              final_alpha_cumprod: float = 1.0) -> Tuple[Tensor, Tensor]:
    """One fused DDIM step -> (prev_sample, pred_original_sample); noise only when eta > 0."""
    return call(DDIM_STEP, (model_output, sample, as_timesteps(timestep, sample),
                            as_timesteps(prev_timestep, sample), alphas_cumprod, noise, threshold,
                            philox_int("seed", seed), philox_int("offset", offset), float(eta),
                            bool(use_clipped_model_output), prediction_type, float(clip_sample_range),
                            float(final_alpha_cumprod)), (model_output, sample, noise))


def plms_step(sample: Tensor, model_outputs: Sequence[Tensor], weights: Sequence[float], timestep: TimestepLike,
              prev_timestep: TimestepLike, alphas_cumprod: Tensor, prediction_type: str = "epsilon",
              final_alpha_cumprod: float = 1.0) -> Tensor:
    """One fused PLMS step: eps = sum(w_k * model_outputs[k]) then the PNDM transfer to prev_timestep."""
    outputs = list(model_outputs)
    return call(PLMS_STEP, (sample, outputs, [float(w) for w in weights], as_timesteps(timestep, sample),
                            as_timesteps(prev_timestep, sample), alphas_cumprod, prediction_type,
                            float(final_alpha_cumprod)), [sample, *outputs])


def philox_normal_like(input: Tensor, seed: int, offset: int = 0) -> Tensor:
    """Standard normals shaped like `input`, element i from Philox4x32-10 block (i // 4, offset) keyed by
    seed: the very numbers the step kernels draw, identical on CPU and CUDA."""
    return call(PHILOX, (input, philox_int("seed", seed), philox_int("offset", offset)), ())


# ---- fake kernels (shapes only) --------------------------------------------------------------------------

@torch.library.register_fake("vision_ext::add_noise")
def _add_noise_fake(original, noise, timesteps, alphas_cumprod):
    torch._check(original.shape == noise.shape, lambda: "noise and original: expected the same shape")
    return torch.empty_like(original, memory_format=torch.contiguous_format)


@torch.library.register_fake("vision_ext::ddpm_training_target")
def _target_fake(original, noise, timesteps, alphas_cumprod, prediction_type, min_snr_gamma):
    out = torch.empty_like(original, memory_format=torch.contiguous_format)
    return out, torch.empty_like(out), original.new_empty((original.shape[0],), dtype=torch.float32)


@torch.library.register_fake("vision_ext::ddpm_step")
def _ddpm_step_fake(model_output, sample, *args):
    out = torch.empty_like(sample, memory_format=torch.contiguous_format)
    return out, torch.empty_like(out)


@torch.library.register_fake("vision_ext::ddim_step")
def _ddim_step_fake(model_output, sample, *args):
    out = torch.empty_like(sample, memory_format=torch.contiguous_format)
    return out, torch.empty_like(out)


@torch.library.register_fake("vision_ext::plms_step")
def _plms_step_fake(sample, *args):
    return torch.empty_like(sample, memory_format=torch.contiguous_format)


@torch.library.register_fake("vision_ext::philox_normal_like")
def _philox_fake(input, seed, offset):
    return torch.empty_like(input, memory_format=torch.contiguous_format)


# ---- autograd: x_t and the targets are linear in (original, noise) ---------------------------------------

def _coeffs(alphas_cumprod: Tensor, timesteps: Tensor, like: Tensor) -> Tuple[Tensor, Tensor]:
    ab = alphas_cumprod.to(torch.float64)[timesteps.long()].reshape(-1, *([1] * (like.dim() - 1)))
    return ab.sqrt().to(like.dtype), (1 - ab).sqrt().to(like.dtype)


def _add_noise_setup(ctx, inputs, output):
    _, _, timesteps, alphas_cumprod = inputs
    ctx.save_for_backward(timesteps, alphas_cumprod)


def _add_noise_backward(ctx, grad):
    timesteps, alphas_cumprod = ctx.saved_tensors
    a, s = _coeffs(alphas_cumprod, timesteps, grad)
    return grad * a, grad * s, None, None


torch.library.register_autograd("vision_ext::add_noise", _add_noise_backward, setup_context=_add_noise_setup)


def _target_setup(ctx, inputs, output):
    _, _, timesteps, alphas_cumprod, prediction_type, _ = inputs
    ctx.prediction_type = prediction_type
    ctx.save_for_backward(timesteps, alphas_cumprod)


def _target_backward(ctx, grad_xt, grad_target, grad_weights):
    timesteps, alphas_cumprod = ctx.saved_tensors
    a, s = _coeffs(alphas_cumprod, timesteps, grad_xt)
    g_x0, g_noise = grad_xt * a, grad_xt * s
    if ctx.prediction_type == "epsilon":
        g_noise = g_noise + grad_target
    elif ctx.prediction_type == "sample":
        g_x0 = g_x0 + grad_target
    else:  # v = a * noise - s * x0
        g_x0, g_noise = g_x0 - s * grad_target, g_noise + a * grad_target
    return g_x0, g_noise, None, None, None, None


torch.library.register_autograd("vision_ext::ddpm_training_target", _target_backward, setup_context=_target_setup)
