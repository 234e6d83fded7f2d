"""A whole sampling loop (U-Net + scheduler steps, timesteps as device tensors, noise drawn in the
kernel) captured in one CUDA graph replays to the result of the eager loop. Capture itself is the
check that nothing in the loop synchronises with the host: a host read of a CUDA tensor, or a
pageable copy, inside torch.cuda.graph raises."""
import pytest
import torch

from vision_ext.diffusion import DDIMScheduler, DDPMScheduler, PLMSScheduler, UNet

SCHEDULERS = {
    "ddpm": (lambda: DDPMScheduler(), {}),
    "ddim_eta1": (lambda: DDIMScheduler(), {"eta": 1.0}),  # eta > 0: DDIM draws Philox noise too
    "plms": (lambda: PLMSScheduler(), {}),
}


def _prepare(sched, steps):
    """Outside any capture: set_timesteps copies the schedule to the device and resets PLMS's history."""
    sched.set_timesteps(steps, device="cuda")
    sched.set_seed(1234)  # the same Philox stream for the eager loop and the captured one


def _loop(sched, unet, x, step_kwargs):
    for t in sched.timesteps:
        x = sched.step(unet(x, t.expand(x.shape[0])), t, x, **step_kwargs).prev_sample
    return x


@pytest.mark.cuda
@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_sampling_loop_replays_as_cuda_graph(name):
    make, kwargs = SCHEDULERS[name]
    unet = UNet(in_channels=3, base_channels=32, channel_mults=(1, 2), num_res_blocks=1,
                attention_resolutions=(8,), dropout=0.0, image_size=16).cuda().eval()
    sched = make()
    x_start = torch.randn(2, 3, 16, 16, device="cuda")
    with torch.no_grad():
        _prepare(sched, 10)
        eager = _loop(sched, unet, x_start.clone(), kwargs)
        static_x = x_start.clone()
        side = torch.cuda.Stream()  # warm-up off the capture stream (first-call allocations, caches)
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            _prepare(sched, 10)
            _loop(sched, unet, static_x, kwargs)
        torch.cuda.current_stream().wait_stream(side)
        _prepare(sched, 10)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_out = _loop(sched, unet, static_x, kwargs)
        static_out.zero_()  # replay must rewrite it
        graph.replay()
        torch.cuda.synchronize()
    assert torch.isfinite(eager).all() and eager.abs().sum() > 0
    torch.testing.assert_close(static_out, eager, rtol=1e-5, atol=1e-5)
    # new inputs through the same graph: a different start gives the eager result for that start
    other = torch.randn_like(x_start)
    static_x.copy_(other)
    graph.replay()
    with torch.no_grad():
        _prepare(sched, 10)
        want = _loop(sched, unet, other.clone(), kwargs)
    torch.testing.assert_close(static_out, want, rtol=1e-5, atol=1e-5)
