"""The DDPM bench cases with their own measurements: the sampling loop (our and diffusers' schedulers in a
real loop, the scheduler's share beside the loop times) and the step's fraction of copy bandwidth."""
import math

from vision_ext.bench.cases import ddpm as cases
from vision_ext.bench.report import format_row, run_cases


def test_loop_share_case_reports_scheduler_share():
    case = cases._loop_share_case((1, 3, 8, 8), 5, "cpu")
    case.family = "ddpm"
    (row,) = run_cases([case], min_time=0.01)
    assert set(row["metrics"]) == {"ours", *case.peers} and "diffusers" in case.peers
    for impl, figs in row["metrics"].items():
        seconds = row["ours_seconds"] if impl == "ours" else row["peers"][impl]["seconds"]
        # the share is the time inside step() over the loop, consistent with the per-step time
        assert 0 < figs["scheduler_share_%"] < 100
        assert math.isclose(figs["scheduler_share_%"], 100 * 5 * figs["step_ms"] / 1e3 / seconds, rel_tol=1e-9)
    assert "scheduler_share_%" in format_row(row)


def test_sampling_loop_reaches_t0_with_finite_samples():
    import torch

    from vision_ext.diffusion import DDPMScheduler, UNet
    unet = UNet(base_channels=32, channel_mults=(1, 2), num_res_blocks=1, attention_resolutions=(), dropout=0.0,
                image_size=8).eval()
    sched = DDPMScheduler()
    total, in_step, x = cases._sampling_loop(sched, unet, torch.randn(1, 3, 8, 8), 4)
    assert 0 < in_step < total and torch.isfinite(x).all()
    assert sched.timesteps.tolist() == [750, 500, 250, 0]


def test_bandwidth_case_reports_fraction_of_copy():
    # the GPU bandwidth case's measurement, run on the CPU at a small shape: consistent figures
    case = cases._bandwidth_case((2, 3, 16, 16), "cpu")
    case.family = "ddpm"
    (row,) = run_cases([case], min_time=0.01)
    figs = row["metrics"]["ours"]
    nbytes = 2 * 3 * 16 * 16 * 4
    assert math.isclose(figs["GB/s"], 4 * nbytes / row["ours_seconds"] / 1e9, rel_tol=1e-9)
    assert math.isclose(figs["fraction_of_copy_%"], 100 * figs["GB/s"] / figs["copy_GB/s"], rel_tol=1e-9)
    assert "diffusers" in row["peers"] and row["peers"]["diffusers"]["seconds"] > 0
