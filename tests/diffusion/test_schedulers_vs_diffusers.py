"""Our schedulers against diffusers 0.42 for the same config and torch.Generator."""
import itertools

import pytest
import torch

diffusers = pytest.importorskip("diffusers")

from vision_ext.diffusion import DDIMScheduler, DDPMScheduler, PLMSScheduler, make_betas, spaced_timesteps  # noqa: E402


def _rel_err(a, b):
    return ((a - b).abs().max() / (1 + b.abs().max())).item()


# fp32: diffusers' own float32 schedule vs our float64 one (its 1 - abar_t near t = 0 loses ~1e-4).
# fp64: diffusers given our float64 table and float64 samples runs the same maths: equal to 1e-9.
MODES = {"fp32": (torch.float32, 5e-4), "fp64": (torch.float64, 1e-9)}


def _share_table(ref, ours, dtype):
    if dtype == torch.float64:
        ref.alphas_cumprod = ours.alphas_cumprod.clone()
        if hasattr(ref, "final_alpha_cumprod"):
            ref.final_alpha_cumprod = torch.tensor(float(ours.final_alpha_cumprod), dtype=torch.float64)


DDPM_CONFIGS = [
    dict(beta_schedule=s, prediction_type=p, variance_type=v, clip_sample=c, thresholding=th, timestep_spacing=sp)
    for s, p, v, (c, th), sp in itertools.product(
        ["linear", "scaled_linear", "squaredcos_cap_v2", "sigmoid"], ["epsilon", "sample", "v_prediction"],
        ["fixed_small", "fixed_large", "learned_range"], [(True, False), (False, False), (True, True)],
        ["leading", "trailing", "linspace"])
][::5] + [dict(variance_type="learned", clip_sample=False), dict(steps_offset=1, variance_type="fixed_large"),
          dict(rescale_betas_zero_snr=True, prediction_type="v_prediction")]


@pytest.mark.parametrize("cfg", DDPM_CONFIGS, ids=lambda c: "-".join(f"{v}" for v in c.values()))
@pytest.mark.parametrize("steps", [None, 10])
@pytest.mark.parametrize("mode", MODES)
def test_ddpm_step_equals_diffusers(cfg, steps, mode):
    dtype, tol = MODES[mode]
    ref, ours = diffusers.DDPMScheduler(**cfg), DDPMScheduler(**cfg)
    _share_table(ref, ours, dtype)
    if steps:
        ref.set_timesteps(steps)
        ours.set_timesteps(steps)
    assert torch.equal(ref.timesteps, ours.timesteps)
    learned = cfg.get("variance_type", "").startswith("learned")
    x = torch.randn(2, 3, 8, 8, dtype=dtype)
    g_ref, g_ours = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    if learned and mode == "fp32":
        tol = 1e-3  # log(beta_tilde) near t = 0 amplifies diffusers' float32 rounding
    ts = list(ref.timesteps)
    for t in ts[:4] + ts[-3:]:
        mo = torch.randn(2, 6 if learned else 3, 8, 8, dtype=dtype)
        if cfg.get("variance_type") == "learned":
            mo[:, 3:] = mo[:, 3:].abs() * 1e-3
        a = ref.step(mo, t, x, generator=g_ref)
        b = ours.step(mo, t, x, generator=g_ours)
        assert _rel_err(b.prev_sample, a.prev_sample) < tol
        assert _rel_err(b.pred_original_sample, a.pred_original_sample) < tol
        x = a.prev_sample
    # the generators were consumed identically
    assert torch.equal(g_ref.get_state(), g_ours.get_state())


@pytest.mark.parametrize("sched,pred,clip,th,eta,ucm,alpha_one", [
    c for c in itertools.product(["linear", "scaled_linear", "squaredcos_cap_v2"], ["epsilon", "sample", "v_prediction"],
                                 [True, False], [False, True], [0.0, 0.5, 1.0], [False, True], [True, False])][::7])
@pytest.mark.parametrize("mode", MODES)
def test_ddim_step_equals_diffusers(sched, pred, clip, th, eta, ucm, alpha_one, mode):
    dtype, tol = MODES[mode]
    cfg = dict(beta_schedule=sched, prediction_type=pred, clip_sample=clip, thresholding=th, steps_offset=1,
               set_alpha_to_one=alpha_one)
    ref, ours = diffusers.DDIMScheduler(**cfg), DDIMScheduler(**cfg)
    _share_table(ref, ours, dtype)
    ref.set_timesteps(10)
    ours.set_timesteps(10)
    x = torch.randn(2, 3, 8, 8, dtype=dtype)
    g_ref, g_ours = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    if pred == "sample" and mode == "fp32":
        tol = 1e-3  # the last step divides by sqrt(1 - abar_1): diffusers' float32 schedule loses digits
    for t in ref.timesteps:
        mo = torch.randn_like(x)
        a = ref.step(mo, t, x, eta=eta, use_clipped_model_output=ucm, generator=g_ref)
        b = ours.step(mo, t, x, eta=eta, use_clipped_model_output=ucm, generator=g_ours)
        assert _rel_err(b.prev_sample, a.prev_sample) < tol
        assert _rel_err(b.pred_original_sample, a.pred_original_sample) < tol
        x = a.prev_sample


def test_ddim_trailing_uses_true_previous_timestep():
    """diffusers steps DDIM from t to t - T//n even when the schedule's next timestep differs; we don't."""
    ours = DDIMScheduler(timestep_spacing="linspace", clip_sample=False)
    ours.set_timesteps(7)
    ts = ours.timesteps.tolist()
    assert [ours.previous_timestep(t) for t in ts] == ts[1:] + [-1]
    assert ts[0] - ts[1] != 1000 // 7  # the case diffusers gets wrong


@pytest.mark.parametrize("sched,pred,alpha_one,offset,steps,spacing", [
    c for c in itertools.product(["linear", "scaled_linear", "squaredcos_cap_v2"], ["epsilon", "v_prediction"],
                                 [False, True], [0, 1], [10, 50], ["leading", "trailing"])][::3])
@pytest.mark.parametrize("mode", MODES)
def test_plms_equals_diffusers_pndm(sched, pred, alpha_one, offset, steps, spacing, mode):
    dtype, tol = MODES[mode]
    cfg = dict(beta_schedule=sched, prediction_type=pred, set_alpha_to_one=alpha_one, steps_offset=offset,
               timestep_spacing=spacing)
    ref, ours = diffusers.PNDMScheduler(skip_prk_steps=True, **cfg), PLMSScheduler(**cfg)
    _share_table(ref, ours, dtype)
    ref.set_timesteps(steps)
    ours.set_timesteps(steps)
    assert torch.equal(ref.timesteps, ours.timesteps)
    x = torch.randn(2, 3, 8, 8, dtype=dtype)
    for t in ref.timesteps:
        mo = torch.randn_like(x)
        a, b = ref.step(mo, t, x), ours.step(mo, t, x)
        assert _rel_err(b.prev_sample, a.prev_sample) < tol
        x = a.prev_sample


@pytest.mark.parametrize("schedule", ["linear", "scaled_linear", "squaredcos_cap_v2", "sigmoid"])
def test_betas_and_add_noise_equal_diffusers(schedule):
    ref = diffusers.DDPMScheduler(beta_schedule=schedule)
    torch.testing.assert_close(make_betas(schedule).float(), ref.betas, rtol=1e-5, atol=1e-7)
    ours = DDPMScheduler(beta_schedule=schedule)
    x, n = torch.randn(4, 3, 16, 16), torch.randn(4, 3, 16, 16)
    t = torch.tensor([0, 10, 500, 999])
    torch.testing.assert_close(ours.add_noise(x, n, t), ref.add_noise(x, n, t), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(ours.get_velocity(x, n, t), ref.get_velocity(x, n, t), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("spacing", ["leading", "trailing", "linspace"])
@pytest.mark.parametrize("steps,offset", [(10, 0), (7, 1), (1000, 0), (3, 0)])
def test_spacings_equal_diffusers(spacing, steps, offset):
    ref = diffusers.DDIMScheduler(timestep_spacing=spacing, steps_offset=offset)
    ref.set_timesteps(steps)
    assert spaced_timesteps(steps, 1000, spacing, offset).tolist() == ref.timesteps.tolist()


def test_zero_snr_rescale_equals_diffusers():
    from diffusers.schedulers.scheduling_ddpm import rescale_zero_terminal_snr as ref_rescale

    from vision_ext.diffusion import rescale_zero_terminal_snr
    b = make_betas("scaled_linear", 1000, 0.00085, 0.012)
    torch.testing.assert_close(rescale_zero_terminal_snr(b).float(), ref_rescale(b.float()), rtol=1e-4, atol=1e-6)


def test_device_tensor_timestep_matches_int():
    s = DDPMScheduler()
    s.set_timesteps(50)
    x, mo = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8)
    t = int(s.timesteps[3])
    z = torch.randn_like(x)
    a = s.step(mo, t, x, variance_noise=z).prev_sample
    b = s.step(mo, s.timesteps[3], x, variance_noise=z).prev_sample
    torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("kwargs,match", [
    (dict(beta_schedule="cosine"), "beta_schedule"), (dict(prediction_type="eps"), "prediction_type"),
    (dict(variance_type="small"), "variance_type"), (dict(timestep_spacing="uniform"), "timestep_spacing")])
def test_unknown_option_names(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DDPMScheduler(**kwargs)


def test_plms_rejects_prk():
    with pytest.raises(ValueError, match="skip_prk_steps"):
        PLMSScheduler(skip_prk_steps=False)
