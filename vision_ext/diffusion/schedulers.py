"""DDPM, DDIM and PLMS schedulers with diffusers' constructor arguments and methods,
whose maths runs in our fused one-pass kernels (vision_ext.ops.ddpm).

Noise: with a `torch.Generator` it is drawn exactly as diffusers draws it (so results
equal diffusers' for the same config and generator); with neither a generator nor
`variance_noise` it is drawn inside the kernel by Philox(seed, offset), identical on
CPU and CUDA, with no extra memory pass. Timesteps may be ints or device tensors.

Deliberate differences from diffusers 0.42 (documented in README):
- DDIM and PLMS step to the true previous timestep of the schedule; diffusers uses
  `t - T // n`, which is wrong for 'trailing'/'linspace' spacings (same for 'leading').
- Schedules are float64 (diffusers: float32), and coefficients are fp32+ whatever the
  sample dtype, so fp16/bf16 add_noise keeps its noise at t = 0, 1.
- variance_type 'fixed_large_log' uses sqrt(beta_t) (diffusers takes sqrt(log beta): NaN).
"""
import dataclasses
from types import SimpleNamespace
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from vision_ext.diffusion import schedules as S
from vision_ext.ops import ddpm as ops

PREDICTION_TYPES = ("epsilon", "sample", "v_prediction")
VARIANCE_TYPES = ("fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log", "learned", "learned_range")


@dataclasses.dataclass
class SchedulerOutput:
    """What `step` returns: the sample at the previous timestep and the predicted x0."""

    prev_sample: Tensor
    pred_original_sample: Optional[Tensor] = None

    def __getitem__(self, i):
        return (self.prev_sample, self.pred_original_sample)[i]


class _Scheduler:
    """Schedule tables, timesteps, add_noise and the shared plumbing of the three schedulers."""

    _config_keys: tuple = ()

    def __init__(self, num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02, beta_schedule="linear",
                 trained_betas=None, prediction_type="epsilon", timestep_spacing="leading", steps_offset=0,
                 rescale_betas_zero_snr=False, **extra):
        S._choice("prediction_type", prediction_type, self._prediction_types)
        S._choice("timestep_spacing", timestep_spacing, S.SPACINGS)
        self.config = SimpleNamespace(num_train_timesteps=num_train_timesteps, beta_start=beta_start,
                                      beta_end=beta_end, beta_schedule=beta_schedule, trained_betas=trained_betas,
                                      prediction_type=prediction_type, timestep_spacing=timestep_spacing,
                                      steps_offset=steps_offset, rescale_betas_zero_snr=rescale_betas_zero_snr,
                                      **extra)
        betas = S.make_betas(beta_schedule, num_train_timesteps, beta_start, beta_end, trained_betas)
        if rescale_betas_zero_snr:
            betas = S.rescale_zero_terminal_snr(betas)
        self.betas = betas
        self.alphas = 1.0 - betas
        self.alphas_cumprod = S.alphas_cumprod(betas)  # float64; kernels read it directly
        self.init_noise_sigma = 1.0
        self.num_inference_steps = None
        self.timesteps = torch.arange(num_train_timesteps - 1, -1, -1, dtype=torch.long)
        self._device_cache = {}
        self._pairs = {}
        self._view_pairs, self._ts_ref, self._ts_version = {}, None, None
        self._seed = None
        self._offset = 0

    _prediction_types = PREDICTION_TYPES

    @classmethod
    def from_config(cls, config, **overrides):
        """Build from a diffusers-style config dict (unknown keys such as '_class_name' are ignored)."""
        cfg = dict(config)
        cfg.update(overrides)
        keys = cls.__init__.__code__.co_varnames[1:cls.__init__.__code__.co_argcount]
        return cls(**{k: v for k, v in cfg.items() if k in keys})

    def __len__(self):
        return self.config.num_train_timesteps

    def scale_model_input(self, sample: Tensor, timestep=None) -> Tensor:
        return sample

    # ---- device tables and timestep tensors (cached: no per-step allocation or copy) ----
    def _on(self, key, device, make):
        k = (key, torch.device(device))
        if k not in self._device_cache:
            self._device_cache[k] = make().to(device)
        return self._device_cache[k]

    def _table(self, device) -> Tensor:
        return self._on("ab", device, lambda: self.alphas_cumprod)

    def _t(self, t, device) -> Tensor:
        if isinstance(t, Tensor):
            return t.to(device=device, dtype=torch.long) if t.device != torch.device(device) else t
        return self._on(("t", int(t)), device, lambda: torch.tensor(int(t), dtype=torch.long))

    def _pair(self, timestep, sample: Tensor):
        """(t, t_prev, table) on the sample's device for one step.

        Iterating `timesteps` yields views of it whose storage offset is their index: those find
        their cached pair from the offset alone. Reading a tensor's value (or even its device) costs
        tens of microseconds inside a sampling loop, whose caches the model has just flushed, and
        the step is meant to be a small share of that loop."""
        if isinstance(timestep, Tensor) and self._ts_ref is not None and timestep._base is self._ts_ref \
                and self._ts_ref._version == self._ts_version:
            device = sample.get_device()  # an int: cheaper than sample.device
            pairs = self._view_pairs.get(device)
            if pairs is None:
                pairs = self._view_pairs[device] = self._pairs_by_index(sample.device)
            return pairs[timestep.storage_offset()]
        return self._pair_of_value(timestep, sample.device)

    def _pairs_by_index(self, device):
        """[(t, t_prev, table)] for every index of the timesteps, on `device`, made at once (a few ops in
        all): a loop visits each timestep once, so filling the table lazily would miss every step."""
        ts = self._ts_ref.to(device)
        table = self._table(device)
        return [(t, tp, table) for t, tp in zip(ts.unbind(0), self.previous_timestep(ts).unbind(0))]

    def _pair_of_value(self, timestep, device):
        """_pair for any int or tensor: ints and CPU scalar tensors hit a per-timestep cache, so a
        step allocates nothing here; other tensors are gathered on their device without a host read."""
        if isinstance(timestep, Tensor):
            if timestep.device.type != "cpu" or timestep.numel() != 1:
                if timestep.device.type == "cpu" and timestep.numel():
                    self._check_timestep(timestep.min().item(), timestep.max().item())
                t = self._t(timestep, device)
                return t, self.previous_timestep(t), self._table(device)
            timestep = int(timestep)
        key = (timestep, device)
        hit = self._pairs.get(key)
        if hit is None:
            self._check_timestep(timestep, timestep)
            hit = self._pairs[key] = (self._t(timestep, device), self._t(self.previous_timestep(timestep), device),
                                      self._table(device))
        return hit

    def _check_timestep(self, low, high) -> None:
        """A clear error for timesteps outside the schedule (an index error deeper down otherwise)."""
        T = self.config.num_train_timesteps
        if low < 0 or high >= T:
            bad = low if low < 0 else high
            raise ValueError(f"timestep: {bad} is outside the schedule's [0, {T - 1}]; step with the values of "
                             "scheduler.timesteps (after set_timesteps(num_inference_steps))")

    def _philox(self):
        """(seed, offset) for in-kernel noise: seeded once from torch's default generator, so
        torch.manual_seed makes sampling reproducible; every step takes a fresh offset."""
        if self._seed is None:
            self._seed = int(torch.randint(0, 2 ** 62, (1,)).item())
        self._offset += 1
        return self._seed, self._offset

    def set_seed(self, seed: int) -> None:
        """Fix the Philox stream used when `step` gets neither a generator nor noise."""
        self._seed, self._offset = ops.philox_int("seed", seed), 0

    def add_noise(self, original_samples: Tensor, noise: Tensor, timesteps) -> Tensor:
        """x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise, one fused pass, fp32+ coefficients."""
        dev = original_samples.device
        t = timesteps if isinstance(timesteps, Tensor) and timesteps.device == dev else self._t(timesteps, dev)
        return ops.add_noise(original_samples, noise, t, self._table(dev))

    def get_velocity(self, sample: Tensor, noise: Tensor, timesteps) -> Tensor:
        """v = sqrt(abar_t) noise - sqrt(1 - abar_t) x0."""
        t = self._t(timesteps, sample.device)
        return ops.training_target(sample, noise, t, self._table(sample.device), "v_prediction")[1]

    def _draw(self, shape, like: Tensor, generator) -> Tensor:
        """Noise as diffusers' randn_tensor draws it (CPU generators draw on the CPU)."""
        gen_device = generator.device if generator is not None else like.device
        if gen_device.type != like.device.type and gen_device.type != "cpu":
            raise ValueError(f"generator: a {gen_device.type} generator cannot make {like.device} noise")
        return torch.randn(shape, generator=generator, device=gen_device, dtype=like.dtype).to(like.device)

    def _threshold(self, model_output: Tensor, sample: Tensor, t: Tensor) -> Tensor:
        """Per-sample dynamic-thresholding value s (Imagen): the quantile of |x0|, clamped to [1, max]."""
        ab = self._table(sample.device)[t.long()].reshape(-1, *([1] * (sample.dim() - 1)))
        x, m = sample.double(), model_output.double()
        pred = self.config.prediction_type
        x0 = m if pred == "sample" else ((x - (1 - ab).sqrt() * m) / ab.sqrt() if pred == "epsilon"
                                         else ab.sqrt() * x - (1 - ab).sqrt() * m)
        x0 = x0.to(sample.dtype).float().reshape(sample.shape[0], -1).abs()
        s = torch.quantile(x0, self.config.dynamic_thresholding_ratio, dim=1)
        return s.clamp(min=1, max=self.config.sample_max_value).float()

    def _clip_range(self) -> float:
        return float(self.config.clip_sample_range) if self.config.clip_sample and not self.config.thresholding else 0.0


class DDPMScheduler(_Scheduler):
    """Ho et al. 2020 ancestral sampling; arguments as diffusers.DDPMScheduler."""

    def __init__(self, num_train_timesteps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02,
                 beta_schedule: str = "linear", trained_betas=None, variance_type: str = "fixed_small",
                 clip_sample: bool = True, prediction_type: str = "epsilon", thresholding: bool = False,
                 dynamic_thresholding_ratio: float = 0.995, clip_sample_range: float = 1.0,
                 sample_max_value: float = 1.0, timestep_spacing: str = "leading", steps_offset: int = 0,
                 rescale_betas_zero_snr: bool = False):
        S._choice("variance_type", variance_type, VARIANCE_TYPES)
        super().__init__(num_train_timesteps, beta_start, beta_end, beta_schedule, trained_betas, prediction_type,
                         timestep_spacing, steps_offset, rescale_betas_zero_snr, variance_type=variance_type,
                         clip_sample=clip_sample, thresholding=thresholding,
                         dynamic_thresholding_ratio=dynamic_thresholding_ratio, clip_sample_range=clip_sample_range,
                         sample_max_value=sample_max_value)
        self.variance_type = variance_type
        self.custom_timesteps = False
        self._set_prev(self.timesteps)

    def set_timesteps(self, num_inference_steps: Optional[int] = None, device=None,
                      timesteps: Optional[List[int]] = None):
        T = self.config.num_train_timesteps
        if (num_inference_steps is None) == (timesteps is None):
            raise ValueError("set_timesteps: pass exactly one of num_inference_steps or timesteps")
        if timesteps is not None:
            ts = np.asarray(timesteps, dtype=np.int64)
            if np.any(ts[1:] >= ts[:-1]) or ts[0] >= T or ts[-1] < 0:
                raise ValueError(f"timesteps: expected strictly descending ints in [0, {T}), got {list(ts)}")
            self.custom_timesteps, self.num_inference_steps = True, None
        else:
            ts = S.spaced_timesteps(num_inference_steps, T, self.config.timestep_spacing, self.config.steps_offset)
            self.custom_timesteps, self.num_inference_steps = False, num_inference_steps
        self.timesteps = torch.from_numpy(ts.copy()).to(device)
        self._set_prev(self.timesteps.cpu())

    def _set_prev(self, ts: Tensor):
        """prev_of[t]: the next timestep of the schedule after t (-1 past the end), for device lookups."""
        T = self.config.num_train_timesteps
        prev = torch.arange(-1, T - 1, dtype=torch.long)
        ts = ts.cpu().long()
        if len(ts) and (ts.max() >= T or ts.min() < 0):
            raise ValueError(f"timesteps: schedule leaves [0, {T}) (check steps_offset)")
        prev[ts] = torch.cat([ts[1:], ts.new_tensor([-1])])
        self._prev_of = prev
        self._device_cache = {k: v for k, v in self._device_cache.items() if k[0] != "prev"}
        self._pairs = {}
        # Views of this timesteps tensor (until it is modified in place) map storage offset -> pair; the
        # offset is the index only for a 1-D root tensor with unit stride. An inference tensor (made under
        # torch.inference_mode) has no version counter to tell an in-place edit: it takes the slower path.
        ts_ok = self.timesteps._base is None and self.timesteps.dim() == 1 and self.timesteps.is_contiguous() \
            and self.timesteps.storage_offset() == 0 and not self.timesteps.is_inference()
        self._view_pairs, self._ts_ref = {}, self.timesteps if ts_ok else None
        self._ts_version = self.timesteps._version if ts_ok else None
        if ts_ok and self.timesteps.is_cuda:
            # Built here, outside any CUDA-graph capture, so the steps of a captured loop neither
            # allocate nor copy from the host (the device tables are made now, once per schedule).
            self._view_pairs[self.timesteps.get_device()] = self._pairs_by_index(self.timesteps.device)

    def previous_timestep(self, timestep):
        if isinstance(timestep, Tensor):
            return self._on("prev", timestep.device, lambda: self._prev_of)[timestep.long()]
        return int(self._prev_of[int(timestep)])

    def step(self, model_output: Tensor, timestep, sample: Tensor, generator: Optional[torch.Generator] = None,
             return_dict: bool = True, variance_noise: Optional[Tensor] = None):
        t, tp, table = self._pair(timestep, sample)
        noise, seed, offset = variance_noise, 0, 0
        if noise is None and generator is not None:
            if int(timestep) > 0:  # diffusers draws only when t > 0 (a host read, generator path only)
                noise = self._draw(sample.shape, model_output, generator)
        elif noise is None:
            seed, offset = self._philox()
        threshold = self._threshold(model_output[:, :sample.shape[1]], sample, t) if self.config.thresholding else None
        # t, tp and table are already int64 / float64 tensors on the device: straight to the op (the public
        # wrapper's conversions cost more than a small step's maths, inside a sampling loop even more).
        prev, x0 = ops.call(ops.DDPM_STEP, (model_output, sample, t, tp, table, noise, threshold, seed, offset,
                                            self.config.prediction_type, self.variance_type, self._clip_range(),
                                            1.0), (model_output, sample, noise))
        if not return_dict:
            return prev, x0
        return SchedulerOutput(prev, x0)


class DDIMScheduler(_Scheduler):
    """Song et al. 2021 (eta = 0 deterministic); arguments as diffusers.DDIMScheduler."""

    def __init__(self, num_train_timesteps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02,
                 beta_schedule: str = "linear", trained_betas=None, clip_sample: bool = True,
                 set_alpha_to_one: bool = True, steps_offset: int = 0, prediction_type: str = "epsilon",
                 thresholding: bool = False, dynamic_thresholding_ratio: float = 0.995,
                 clip_sample_range: float = 1.0, sample_max_value: float = 1.0, timestep_spacing: str = "leading",
                 rescale_betas_zero_snr: bool = False):
        super().__init__(num_train_timesteps, beta_start, beta_end, beta_schedule, trained_betas, prediction_type,
                         timestep_spacing, steps_offset, rescale_betas_zero_snr, clip_sample=clip_sample,
                         set_alpha_to_one=set_alpha_to_one, thresholding=thresholding,
                         dynamic_thresholding_ratio=dynamic_thresholding_ratio, clip_sample_range=clip_sample_range,
                         sample_max_value=sample_max_value)
        self.final_alpha_cumprod = 1.0 if set_alpha_to_one else float(self.alphas_cumprod[0])

    def set_timesteps(self, num_inference_steps: int, device=None):
        ts = S.spaced_timesteps(num_inference_steps, self.config.num_train_timesteps, self.config.timestep_spacing,
                                self.config.steps_offset)
        self.num_inference_steps = num_inference_steps
        self.timesteps = torch.from_numpy(ts.copy()).to(device)
        DDPMScheduler._set_prev(self, self.timesteps)

    previous_timestep = DDPMScheduler.previous_timestep

    def step(self, model_output: Tensor, timestep, sample: Tensor, eta: float = 0.0,
             use_clipped_model_output: bool = False, generator: Optional[torch.Generator] = None,
             variance_noise: Optional[Tensor] = None, return_dict: bool = True):
        if self.num_inference_steps is None:
            raise ValueError("DDIMScheduler.step: call set_timesteps(num_inference_steps) first")
        if variance_noise is not None and generator is not None:
            raise ValueError("step: pass either generator or variance_noise, not both")
        t, tp, table = self._pair(timestep, sample)
        noise, seed, offset = variance_noise, 0, 0
        if eta > 0 and noise is None:
            if generator is not None:
                noise = self._draw(model_output.shape, model_output, generator)
            else:
                seed, offset = self._philox()
        threshold = self._threshold(model_output, sample, t) if self.config.thresholding else None
        prev, x0 = ops.call(ops.DDIM_STEP, (model_output, sample, t, tp, table, noise, threshold, seed, offset,
                                            float(eta), bool(use_clipped_model_output), self.config.prediction_type,
                                            self._clip_range(), self.final_alpha_cumprod), (model_output, sample, noise))
        if not return_dict:
            return prev, x0
        return SchedulerOutput(prev, x0)


class PLMSScheduler(_Scheduler):
    """Pseudo linear multistep (Liu et al. 2022): diffusers.PNDMScheduler with skip_prk_steps=True."""

    _prediction_types = ("epsilon", "v_prediction")

    def __init__(self, num_train_timesteps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02,
                 beta_schedule: str = "linear", trained_betas=None, skip_prk_steps: bool = True,
                 set_alpha_to_one: bool = False, prediction_type: str = "epsilon",
                 timestep_spacing: str = "leading", steps_offset: int = 0):
        if not skip_prk_steps:
            raise ValueError("skip_prk_steps: PLMSScheduler runs PLMS only; pass skip_prk_steps=True "
                             "(the Runge-Kutta warm-up of PNDM is not implemented)")
        super().__init__(num_train_timesteps, beta_start, beta_end, beta_schedule, trained_betas, prediction_type,
                         timestep_spacing, steps_offset, False, skip_prk_steps=True,
                         set_alpha_to_one=set_alpha_to_one)
        self.final_alpha_cumprod = 1.0 if set_alpha_to_one else float(self.alphas_cumprod[0])
        self.timesteps = None

    def set_timesteps(self, num_inference_steps: int, device=None):
        T, n = self.config.num_train_timesteps, num_inference_steps
        desc = S.spaced_timesteps(n, T, self.config.timestep_spacing, self.config.steps_offset)
        self.num_inference_steps = n
        self._desc = [int(v) for v in desc]  # distinct timesteps, descending
        # The second timestep is repeated: PLMS's first step is a Heun-like double evaluation.
        ts = np.concatenate([desc[:1], desc[1:2], desc[1:]]) if n > 1 else desc
        self.timesteps = torch.from_numpy(ts.astype(np.int64)).to(device)
        self.ets: List[Tensor] = []
        self.counter = 0
        self.cur_sample = None

    def _pair(self):
        """(t, t_prev) for the current counter: counter 1 redoes the first step from the start sample."""
        d, c = self._desc, self.counter
        i = 0 if c <= 1 else c - 1
        return d[i], (d[i + 1] if i + 1 < len(d) else -1)

    def step(self, model_output: Tensor, timestep, sample: Tensor, return_dict: bool = True):
        if self.num_inference_steps is None:
            raise ValueError("PLMSScheduler.step: call set_timesteps(num_inference_steps) first")
        t, tp = self._pair()
        if self.counter != 1:
            self.ets = self.ets[-3:] + [model_output]
        if len(self.ets) == 1 and self.counter == 0:
            outs, w = [model_output], [1.0]
            self.cur_sample = sample
        elif len(self.ets) == 1 and self.counter == 1:
            outs, w = [model_output, self.ets[-1]], [0.5, 0.5]
            sample, self.cur_sample = self.cur_sample, None
        elif len(self.ets) == 2:
            outs, w = self.ets[::-1], [1.5, -0.5]
        elif len(self.ets) == 3:
            outs, w = self.ets[::-1], [23 / 12, -16 / 12, 5 / 12]
        else:
            outs, w = self.ets[::-1], [55 / 24, -59 / 24, 37 / 24, -9 / 24]
        dev = sample.device
        prev = ops.plms_step(sample, outs, w, self._t(t, dev), self._t(tp, dev), self._table(dev),
                             self.config.prediction_type, self.final_alpha_cumprod)
        self.counter += 1
        if not return_dict:
            return (prev,)
        return SchedulerOutput(prev, None)
