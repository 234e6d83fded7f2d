"""DDPM, DDIM and PLMS schedulers that drop into diffusers pipelines (its constructor arguments,
config / save / load API, `order`, step outputs and stepping), whose maths runs in our fused
one-pass kernels (vision_ext.ops.ddpm).

Noise: with a `torch.Generator` (or a list of them, one per sample) it is drawn exactly as
diffusers draws it (so results equal diffusers' for the same config and generator); with neither
a generator nor `variance_noise` it is drawn inside the kernel by Philox(seed, offset), identical
on CPU and CUDA, with no extra memory pass. Timesteps may be ints or device tensors.

Deliberate differences from diffusers 0.42 (documented in README):
- DDIM and PLMS with 'trailing'/'linspace' spacing step to the schedule's true previous timestep
  (from a timestep off the schedule: the nearest schedule timestep below); diffusers uses
  `t - T // n`, which is not a schedule timestep there. With 'leading' we step as diffusers does.
- Schedules are float64 (diffusers: float32), and coefficients are fp32+ whatever the
  sample dtype, so fp16/bf16 add_noise keeps its noise at t = 0, 1.
- variance_type 'fixed_large_log' uses sqrt(beta_t) (diffusers takes sqrt(log beta): NaN);
  a variance_type diffusers does not name is an error (diffusers runs it as 'fixed_small').
"""
from typing import List, Optional

import numpy as np
import torch
from torch import Tensor

from vision_ext.diffusion import schedules as S
from vision_ext.diffusion.scheduler_config import ConfigMixin, records_config
from vision_ext.diffusion.scheduler_outputs import SchedulerOutput
from vision_ext.ops import ddpm as ops

PREDICTION_TYPES = ("epsilon", "sample", "v_prediction")
VARIANCE_TYPES = ("fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log", "learned", "learned_range")


def _check_variance_type(value) -> None:
    # diffusers takes any value and treats the ones it does not name as 'fixed_small' (a typo such as
    # 'fixed_smal' would sample silently with the wrong variance): we name the supported ones instead.
    if value not in VARIANCE_TYPES:
        raise ValueError(f"variance_type: expected one of {', '.join(map(repr, VARIANCE_TYPES))}, got {value!r} "
                         "(diffusers treats values it does not name as 'fixed_small': pass that for its behaviour)")


def _prev_by_successor(ts: Tensor, T: int) -> Tensor:
    """prev_of[t] for DDPM: the schedule's next timestep after t (-1 past the end), t - 1 off it."""
    prev = torch.arange(-1, T - 1, dtype=torch.long)
    ts = ts.cpu().long()
    if len(ts) and (ts.max() >= T or ts.min() < 0):
        raise ValueError(f"timesteps: schedule leaves [0, {T}) (check steps_offset)")
    prev[ts] = torch.cat([ts[1:], ts.new_tensor([-1])])
    return prev


def _multistep_tables(desc, T: int, spacing: str):
    """(prev_of, up_of) for DDIM and PLMS at every t in [0, T). 'leading': t - T//n and t + T//n, as
    diffusers steps, also off the schedule. 'trailing'/'linspace': the schedule's nearest timestep
    below / above t (diffusers' t -/+ T//n is not a schedule timestep there). -1 is 'x0'; T is 'none'."""
    t = torch.arange(T, dtype=torch.long)
    if spacing == "leading":
        step = T // len(desc)
        return (t - step).clamp(min=-1), t + step
    asc = torch.as_tensor(sorted(desc), dtype=torch.long)
    below = torch.searchsorted(asc, t, right=False) - 1
    above = torch.searchsorted(asc, t, right=True)
    prev = torch.where(below >= 0, asc[below.clamp(min=0)], torch.full_like(t, -1))
    up = torch.where(above < len(asc), asc[above.clamp(max=len(asc) - 1)], torch.full_like(t, T))
    return prev, up


class _Scheduler(ConfigMixin):
    """Schedule tables, timesteps, add_noise and the shared plumbing of the three schedulers."""

    order = 1  # model evaluations per timestep (pipelines slice timesteps[start * order:])
    _prediction_types = PREDICTION_TYPES

    def _setup(self, num_train_timesteps, beta_start, beta_end, beta_schedule, trained_betas, prediction_type,
               timestep_spacing, rescale_betas_zero_snr):
        S._choice("prediction_type", prediction_type, self._prediction_types)
        S._choice("timestep_spacing", timestep_spacing, S.SPACINGS)
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
        self._seed = None
        self._offset = 0
        self._use_schedule(torch.arange(-1, num_train_timesteps - 1, dtype=torch.long))

    def __len__(self):
        return self.config.num_train_timesteps

    def scale_model_input(self, sample: Tensor, *args, **kwargs) -> Tensor:
        return sample

    def _use_schedule(self, prev_of: Tensor) -> None:
        """Adopt `prev_of[t]` (the timestep a step at t goes to) for self.timesteps, and reset the caches."""
        self._prev_of = prev_of
        self._device_cache = {k: v for k, v in self._device_cache.items() if k[0] not in ("prev", "up")}
        self._pairs = {}
        # Views of this timesteps tensor (until it is modified in place) map storage offset -> pair; the
        # offset is the index only for a 1-D root tensor with unit stride. An inference tensor (made under
        # torch.inference_mode) has no version counter to tell an in-place edit: it takes the slower path.
        ts = self.timesteps
        ts_ok = ts is not None and ts._base is None and ts.dim() == 1 and ts.is_contiguous() \
            and ts.storage_offset() == 0 and not ts.is_inference()
        self._view_pairs, self._ts_ref = {}, ts if ts_ok else None
        self._ts_version = ts._version if ts_ok else None
        if ts_ok and ts.is_cuda:
            # Built here, outside any CUDA-graph capture, so the steps of a captured loop neither
            # allocate nor copy from the host (the device tables are made now, once per schedule).
            self._view_pairs[ts.get_device()] = self._pairs_by_index(ts.device)

    def previous_timestep(self, timestep):
        """The timestep a step at `timestep` goes to (-1: the final x0); tensors stay on their device."""
        if isinstance(timestep, Tensor):
            # take(), not [t]: indexing with a 0-d tensor reads its value on the host (a sync)
            return self._on("prev", timestep.device, lambda: self._prev_of).take(timestep.long())
        return int(self._prev_of[self._checked(timestep)])

    def _checked(self, t) -> int:
        t = int(t)
        self._check_timestep(t, t)
        return t

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
        """Noise as diffusers' randn_tensor draws it: CPU generators draw on the CPU, and a list of
        generators draws one sample each."""
        gens = list(generator) if isinstance(generator, (list, tuple)) else [generator]
        if len(gens) not in (1, shape[0]):
            raise ValueError(f"generator: a list of {len(gens)} generators for a batch of {shape[0]}; "
                             "pass one generator or one per sample")
        gen_device = gens[0].device
        if gen_device.type != like.device.type and gen_device.type != "cpu":
            raise ValueError(f"generator: a {gen_device.type} generator cannot make {like.device} noise")
        if len(gens) == 1:
            return torch.randn(shape, generator=gens[0], device=gen_device, dtype=like.dtype).to(like.device)
        one = (1, *shape[1:])
        return torch.cat([torch.randn(one, generator=g, device=gen_device, dtype=like.dtype) for g in gens]
                         ).to(like.device)

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

    _diffusers_class_name = "DDPMScheduler"

    @records_config
    def __init__(self, num_train_timesteps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02,
                 beta_schedule: str = "linear", trained_betas=None, variance_type: str = "fixed_small",
                 clip_sample: bool = True, prediction_type: str = "epsilon", thresholding: bool = False,
                 dynamic_thresholding_ratio: float = 0.995, clip_sample_range: float = 1.0,
                 sample_max_value: float = 1.0, timestep_spacing: str = "leading", steps_offset: int = 0,
                 rescale_betas_zero_snr: bool = False):
        _check_variance_type(variance_type)
        self._setup(num_train_timesteps, beta_start, beta_end, beta_schedule, trained_betas, prediction_type,
                    timestep_spacing, rescale_betas_zero_snr)
        self.variance_type = variance_type
        self.custom_timesteps = False

    def set_timesteps(self, num_inference_steps: Optional[int] = None, device=None,
                      timesteps: Optional[List[int]] = None):
        """Evenly spaced inference timesteps (config.timestep_spacing), or custom `timesteps`
        (strictly descending, in [0, num_train_timesteps)); each step goes to the next one."""
        T = self.config.num_train_timesteps
        if (num_inference_steps is None) == (timesteps is None):
            raise ValueError("set_timesteps: pass exactly one of num_inference_steps or timesteps")
        if timesteps is not None:
            ts = np.asarray(timesteps, dtype=np.int64)
            if ts.ndim != 1 or not len(ts) or np.any(ts[1:] >= ts[:-1]) or ts[0] >= T or ts[-1] < 0:
                raise ValueError(f"timesteps: expected strictly descending ints in [0, {T}), got {list(ts)}")
            self.custom_timesteps, self.num_inference_steps = True, None
        else:
            ts = S.spaced_timesteps(num_inference_steps, T, self.config.timestep_spacing, self.config.steps_offset)
            self.custom_timesteps, self.num_inference_steps = False, num_inference_steps
        self.timesteps = torch.from_numpy(ts.copy()).to(device)
        self._use_schedule(_prev_by_successor(self.timesteps, T))

    def step(self, model_output: Tensor, timestep, sample: Tensor, generator=None, return_dict: bool = True,
             variance_noise: Optional[Tensor] = None):
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


class _Multistep(_Scheduler):
    """DDIM and PLMS: spaced schedules whose steps go to `_multistep_tables`' previous timestep."""

    def _set_spaced(self, num_inference_steps: int, device, repeat_second: bool = False):
        T = self.config.num_train_timesteps
        desc = S.spaced_timesteps(num_inference_steps, T, self.config.timestep_spacing, self.config.steps_offset)
        if desc.max() >= T:
            raise ValueError(f"steps_offset: the schedule reaches {int(desc.max())}, past num_train_timesteps - 1")
        self.num_inference_steps = num_inference_steps
        # PLMS repeats the second timestep: its first step is a Heun-like double evaluation.
        ts = np.concatenate([desc[:1], desc[1:2], desc[1:]]) if repeat_second and len(desc) > 1 else desc
        self.timesteps = torch.from_numpy(ts.astype(np.int64)).to(device)
        prev_of, self._up_of = _multistep_tables([int(v) for v in desc], T, self.config.timestep_spacing)
        self._use_schedule(prev_of)
        if self.timesteps.is_cuda:  # now, not inside a CUDA-graph capture (PLMS's second step reads it)
            self._on("up", self.timesteps.device, lambda: self._up_of)


class DDIMScheduler(_Multistep):
    """Song et al. 2021 (eta = 0 deterministic); arguments as diffusers.DDIMScheduler."""

    _diffusers_class_name = "DDIMScheduler"

    @records_config
    def __init__(self, num_train_timesteps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02,
                 beta_schedule: str = "linear", trained_betas=None, clip_sample: bool = True,
                 set_alpha_to_one: bool = True, steps_offset: int = 0, prediction_type: str = "epsilon",
                 thresholding: bool = False, dynamic_thresholding_ratio: float = 0.995,
                 clip_sample_range: float = 1.0, sample_max_value: float = 1.0, timestep_spacing: str = "leading",
                 rescale_betas_zero_snr: bool = False):
        self._setup(num_train_timesteps, beta_start, beta_end, beta_schedule, trained_betas, prediction_type,
                    timestep_spacing, rescale_betas_zero_snr)
        self.final_alpha_cumprod = 1.0 if set_alpha_to_one else float(self.alphas_cumprod[0])

    def set_timesteps(self, num_inference_steps: int, device=None):
        self._set_spaced(num_inference_steps, device)

    def step(self, model_output: Tensor, timestep, sample: Tensor, eta: float = 0.0,
             use_clipped_model_output: bool = False, generator=None,
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


# PLMS weights of the last 1..4 model outputs (newest first): Adams-Bashforth of orders 1 to 4.
_AB_WEIGHTS = {1: [1.0], 2: [1.5, -0.5], 3: [23 / 12, -16 / 12, 5 / 12], 4: [55 / 24, -59 / 24, 37 / 24, -9 / 24]}


class PLMSScheduler(_Multistep):
    """Pseudo linear multistep (Liu et al. 2022): diffusers.PNDMScheduler with skip_prk_steps=True.

    Each step starts at the `timestep` it is given (so a loop may start part-way, as img2img does)
    and keeps diffusers' history: the first step is taken twice, the second time (counter 1) from
    the first step's sample, starting at the timestep above the given one, with the mean of both
    model outputs; later steps use Adams-Bashforth on the last 2-4 outputs."""

    _diffusers_class_name = "PNDMScheduler"
    _prediction_types = ("epsilon", "v_prediction")

    @records_config
    def __init__(self, num_train_timesteps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02,
                 beta_schedule: str = "linear", trained_betas=None, skip_prk_steps: bool = True,
                 set_alpha_to_one: bool = False, prediction_type: str = "epsilon",
                 timestep_spacing: str = "leading", steps_offset: int = 0):
        if not skip_prk_steps:
            raise ValueError("skip_prk_steps: PLMSScheduler runs PLMS only; pass skip_prk_steps=True "
                             "(the Runge-Kutta warm-up of PNDM is not implemented)")
        self._setup(num_train_timesteps, beta_start, beta_end, beta_schedule, trained_betas, prediction_type,
                    timestep_spacing, False)
        self.final_alpha_cumprod = 1.0 if set_alpha_to_one else float(self.alphas_cumprod[0])
        self.timesteps = None
        self._reset_history()

    def _reset_history(self):
        self.ets: List[Tensor] = []
        self.counter = 0
        self.cur_sample = None

    def set_timesteps(self, num_inference_steps: int, device=None):
        self._set_spaced(num_inference_steps, device, repeat_second=True)
        self._reset_history()

    def _redo_pair(self, timestep, device):
        """(t_from, t, table) of the counter-1 step, which goes to `timestep` from the timestep above
        it (diffusers' t + T // n for 'leading'); device tensors are gathered without a host read."""
        table = self._table(device)
        if isinstance(timestep, Tensor) and (timestep.device.type != "cpu" or timestep.numel() != 1):
            t = self._t(timestep, device)
            return self._on("up", device, lambda: self._up_of).take(t.long()), t, table
        t = self._checked(timestep)
        up = int(self._up_of[t])
        if up >= self.config.num_train_timesteps:
            raise ValueError(f"timestep: the second PLMS step goes to t={t} from the timestep above it, but there "
                             f"is none in [0, {self.config.num_train_timesteps}); pass the schedule's timesteps")
        return self._t(up, device), self._t(t, device), table

    def step(self, model_output: Tensor, timestep, sample: Tensor, return_dict: bool = True):
        if self.num_inference_steps is None:
            raise ValueError("PLMSScheduler.step: call set_timesteps(num_inference_steps) first")
        if self.counter == 1:
            t, tp, table = self._redo_pair(timestep, sample.device)
        else:
            t, tp, table = self._pair(timestep, sample)
            self.ets = self.ets[-3:] + [model_output]
        if self.counter == 0:
            outs, w = [model_output], _AB_WEIGHTS[1]
            self.cur_sample = sample
        elif self.counter == 1:
            outs, w = [model_output, self.ets[-1]], [0.5, 0.5]
            sample, self.cur_sample = self.cur_sample, None
        else:
            outs = self.ets[::-1]
            w = _AB_WEIGHTS[len(outs)]
        prev = ops.plms_step(sample, outs, w, t, tp, table, self.config.prediction_type, self.final_alpha_cumprod)
        self.counter += 1
        if not return_dict:
            return (prev,)
        return SchedulerOutput(prev, None)


for _cls in (DDPMScheduler, DDIMScheduler, PLMSScheduler):
    _cls._related = (DDPMScheduler, DDIMScheduler, PLMSScheduler)
