"""Stepping as diffusers steps: from the timestep a step is given (PLMS), off the schedule (DDIM,
PLMS with 'leading' spacing), loops started part-way, custom timesteps, and diffusers' own
full-loop values for its deterministic test loop."""
import pytest
import torch
from helpers.scheduler_loops import ramp_sample, run_loop

diffusers = pytest.importorskip("diffusers")

from vision_ext.diffusion import DDIMScheduler, DDPMScheduler, PLMSScheduler  # noqa: E402


def _fp64_pair(ref, ours):
    """diffusers given our float64 table runs the same maths in float64: equal to ~1e-12."""
    ref.alphas_cumprod = ours.alphas_cumprod.clone()
    if hasattr(ref, "final_alpha_cumprod"):
        ref.final_alpha_cumprod = torch.tensor(float(ours.final_alpha_cumprod), dtype=torch.float64)
    return ref, ours


def _randn(*shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_plms_first_step_starts_at_the_given_timestep():
    ref, ours = _fp64_pair(diffusers.PNDMScheduler(skip_prk_steps=True), PLMSScheduler())
    ref.set_timesteps(10)
    ours.set_timesteps(10)
    x, m = _randn(2, 3, 8, 8, seed=0), _randn(2, 3, 8, 8, seed=1)
    got = ours.step(m, 400, x).prev_sample
    torch.testing.assert_close(got, ref.step(m, 400, x).prev_sample, rtol=1e-10, atol=1e-10)
    # the bug this replaced: the first step taken at the schedule's first timestep whatever it was given
    fresh = _fp64_pair(diffusers.PNDMScheduler(skip_prk_steps=True), PLMSScheduler())[0]
    fresh.set_timesteps(10)
    assert (got - fresh.step(m, 900, x).prev_sample).abs().max() > 0.1


CASES = [(DDIMScheduler, diffusers.DDIMScheduler, {}),
         (PLMSScheduler, diffusers.PNDMScheduler, dict(skip_prk_steps=True)),
         (DDPMScheduler, diffusers.DDPMScheduler, {})]


@pytest.mark.parametrize("ours_cls,ref_cls,extra", CASES, ids=["ddim", "plms", "ddpm"])
@pytest.mark.parametrize("start", [0, 3, 6])
@pytest.mark.parametrize("offset", [0, 1])
def test_partial_loop_equals_diffusers(ours_cls, ref_cls, extra, start, offset):
    """img2img: noise an image to timesteps[start * order], then step through the rest."""
    cfg = dict(steps_offset=offset, **extra)
    ref, ours = _fp64_pair(ref_cls(**cfg), ours_cls(**cfg))
    ref.set_timesteps(10)
    ours.set_timesteps(10)
    image, noise = _randn(2, 3, 8, 8, seed=0), _randn(2, 3, 8, 8, seed=1)
    results = []
    for s in (ref, ours):
        ts = s.timesteps[start * s.order:]
        x = s.add_noise(image, noise, ts[:1])
        gen = torch.Generator().manual_seed(3) if ours_cls is not PLMSScheduler else None
        results.append(run_loop(s, x, timesteps=ts, generator=gen))
    torch.testing.assert_close(results[1], results[0], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("eta", [0.0, 0.7])
@pytest.mark.parametrize("t", [1, 10, 49, 55, 0, 999, 20])
def test_ddim_off_schedule_timesteps_step_as_diffusers(t, eta):
    """50 'leading' steps: the schedule is 0, 20, ..., 980; a step at t goes to t - 20."""
    ref, ours = _fp64_pair(diffusers.DDIMScheduler(), DDIMScheduler())
    ref.set_timesteps(50)
    ours.set_timesteps(50)
    x, m, z = _randn(2, 3, 8, 8, seed=0), _randn(2, 3, 8, 8, seed=1), _randn(2, 3, 8, 8, seed=2)
    a = ref.step(m, t, x, eta=eta, variance_noise=z)
    for timestep in (t, torch.tensor(t), torch.tensor([t, t])):  # int, CPU scalar, per-sample (gathered)
        b = ours.step(m, timestep, x, eta=eta, variance_noise=z)
        torch.testing.assert_close(b.prev_sample, a.prev_sample, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(b.pred_original_sample, a.pred_original_sample, rtol=1e-10, atol=1e-10)


def test_plms_off_schedule_loop_steps_as_diffusers():
    """A PLMS loop over timesteps that are not the schedule's (each 7 above it) with 'leading'."""
    ref, ours = _fp64_pair(diffusers.PNDMScheduler(skip_prk_steps=True), PLMSScheduler())
    ref.set_timesteps(20)
    ours.set_timesteps(20)
    shifted = [int(t) + 7 for t in ref.timesteps]
    x = _randn(2, 3, 8, 8, seed=0)
    a = run_loop(ref, x, timesteps=shifted)
    b = run_loop(ours, x, timesteps=shifted)
    torch.testing.assert_close(b, a, rtol=1e-9, atol=1e-9)


def test_plms_timestep_tensors_on_any_path_match_ints():
    """Per-sample timestep tensors take the gather path (no host read); ints take the cached one."""
    x, m = _randn(2, 3, 8, 8, seed=0), _randn(2, 3, 8, 8, seed=1)
    runs = []
    for as_tensor in (False, True):
        s = PLMSScheduler(timestep_spacing="trailing")
        s.set_timesteps(7)
        y = x
        for t in s.timesteps.tolist()[:5]:
            y = s.step(m * (t + 1) / 1000, torch.tensor([t, t]) if as_tensor else t, y).prev_sample
        runs.append(y)
    torch.testing.assert_close(runs[1], runs[0], rtol=0, atol=0)


@pytest.mark.parametrize("spacing", ["trailing", "linspace"])
def test_off_schedule_steps_go_to_the_schedule_timestep_below(spacing):
    """Our rule where diffusers' t - T//n is not a schedule timestep: checked against the DDIM
    formula in float64 (eta = 0, no clipping)."""
    s = DDIMScheduler(timestep_spacing=spacing, clip_sample=False)
    s.set_timesteps(7)
    ts = s.timesteps.tolist()
    assert [s.previous_timestep(t) for t in ts] == ts[1:] + [-1]
    t = ts[2] + 5  # off the schedule, between ts[1] and ts[2]
    assert s.previous_timestep(t) == ts[2] and s.previous_timestep(ts[-1] - 1 if ts[-1] else 0) == -1
    x, eps = _randn(1, 3, 4, 4, seed=0), _randn(1, 3, 4, 4, seed=1)
    ab = s.alphas_cumprod
    x0 = (x - (1 - ab[t]).sqrt() * eps) / ab[t].sqrt()
    want = ab[ts[2]].sqrt() * x0 + (1 - ab[ts[2]]).sqrt() * eps
    torch.testing.assert_close(s.step(eps, t, x).prev_sample, want, rtol=1e-10, atol=1e-10)


def test_ddpm_custom_timesteps_as_diffusers():
    custom = [100, 87, 50, 1, 0]
    ref, ours = _fp64_pair(diffusers.DDPMScheduler(), DDPMScheduler())
    ref.set_timesteps(timesteps=custom)
    ours.set_timesteps(timesteps=custom)
    assert ours.timesteps.tolist() == ref.timesteps.tolist() == custom
    assert ours.custom_timesteps and ref.custom_timesteps
    assert [ours.previous_timestep(t) for t in custom] == [int(ref.previous_timestep(t)) for t in custom]
    x = _randn(2, 3, 8, 8, seed=0)
    a = run_loop(ref, x, generator=torch.Generator().manual_seed(4))
    b = run_loop(ours, x, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(b, a, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("timesteps,kwargs,match", [
    ([1, 5, 3], {}, "descending"), ([1000, 10, 0], {}, "descending"),
    ([10, 0], {"num_inference_steps": 2}, "exactly one")])
def test_ddpm_custom_timesteps_rejected_as_diffusers(timesteps, kwargs, match):
    with pytest.raises(ValueError):
        diffusers.DDPMScheduler().set_timesteps(timesteps=timesteps, **kwargs)
    with pytest.raises(ValueError, match=match):
        DDPMScheduler().set_timesteps(timesteps=timesteps, **kwargs)


def test_out_of_range_timestep_is_an_error():
    s = DDIMScheduler()
    s.set_timesteps(10)
    x = torch.randn(1, 3, 4, 4)
    for t in (1000, -1):
        with pytest.raises(ValueError, match=r"timestep: -?\d+ is outside the schedule's \[0, 999\]"):
            s.step(x, t, x)
    p = PLMSScheduler()
    p.set_timesteps(10)
    p.step(x, 950, x)
    with pytest.raises(ValueError, match="the timestep above it"):
        p.step(x, 950, x)  # the second step would start at 1050


# diffusers' own test loop (ramp sample, model x * t / (t + 1), torch.manual_seed(0)) and the values its
# scheduler tests assert for it: (config, inference steps or None for all 1000, |x| sum, |x| mean).
KNOWN_LOOPS = [
    (DDPMScheduler, {}, None, 258.9606, 0.3372),
    (DDPMScheduler, dict(prediction_type="v_prediction"), None, 202.0296, 0.2631),
    (DDIMScheduler, {}, 10, 172.0067, 0.223967),
    (DDIMScheduler, dict(prediction_type="v_prediction"), 10, 52.5302, 0.0684),
    (DDIMScheduler, dict(set_alpha_to_one=True, beta_start=0.01), 10, 149.8295, 0.1951),
    (DDIMScheduler, dict(set_alpha_to_one=False, beta_start=0.01), 10, 149.0784, 0.1941),
]


@pytest.mark.parametrize("cls,cfg,steps,total,mean", KNOWN_LOOPS)
def test_full_loops_give_diffusers_values(cls, cfg, steps, total, mean):
    s = cls(**cfg)
    if steps:
        s.set_timesteps(steps)
    x = run_loop(s, ramp_sample(), generator=torch.manual_seed(0))
    assert abs(x.abs().sum().item() - total) < 1e-2
    assert abs(x.abs().mean().item() - mean) < 1e-3


@pytest.mark.parametrize("cfg", [{}, dict(prediction_type="v_prediction"), dict(set_alpha_to_one=True)])
@pytest.mark.parametrize("spacing", ["leading", "trailing"])
def test_plms_full_loop_equals_diffusers(cfg, spacing):
    ref = diffusers.PNDMScheduler(skip_prk_steps=True, timestep_spacing=spacing, **cfg)
    ours = PLMSScheduler.from_config(ref.config)
    ref.set_timesteps(10)
    ours.set_timesteps(10)
    a, b = run_loop(ref, ramp_sample()), run_loop(ours, ramp_sample())
    torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4)
    assert b.abs().sum() > 1  # the loop did not collapse to zero
