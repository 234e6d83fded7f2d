"""DDPM benchmark cases: our fused step / add_noise against diffusers' schedulers, and the
scheduler's share of a whole sampling loop with a small U-Net."""
import time

from vision_ext.bench.core import Case


def _diffusers_ddpm(timesteps=None):
    """diffusers' DDPMScheduler (set to `timesteps` steps if given), or None where diffusers, a benchmark
    peer and not a dependency, is not installed."""
    try:
        import diffusers
    except ImportError:
        return None
    sched = diffusers.DDPMScheduler()
    if timesteps is not None:
        sched.set_timesteps(timesteps)
    return sched


def _step_case(shape, device):
    import torch

    from vision_ext.diffusion import DDPMScheduler

    ours = DDPMScheduler()
    ours.set_timesteps(1000)
    peers = {}
    ref = _diffusers_ddpm(1000)
    if ref is not None:
        peers["diffusers"] = lambda m, x: ref.step(m, 500, x, generator=torch.Generator().manual_seed(0)).prev_sample

    def setup():
        g = torch.Generator().manual_seed(0)
        return torch.randn(shape, generator=g).to(device), torch.randn(shape, generator=g).to(device)

    # Fresh noise on both sides: diffusers draws torch.randn, ours draws Philox in the kernel, so only the
    # noise-free parts agree; compare the means (noise averages out) instead of elementwise values.
    def same_mean(a, b):
        return abs(float(a.float().mean()) - float(b.float().mean())) < 0.05

    return Case(op="ddpm_step", shape="x".join(map(str, shape)), device=device,
                ours=lambda m, x: ours.step(m, 500, x).prev_sample, peers=peers, setup=setup, matches=same_mean)


def _add_noise_case(shape, device):
    import torch

    from vision_ext.diffusion import DDPMScheduler
    ours = DDPMScheduler()
    peers = {}
    ref = _diffusers_ddpm()
    if ref is not None:
        peers["diffusers"] = lambda x, n, t: ref.add_noise(x, n, t)

    def setup():
        g = torch.Generator().manual_seed(0)
        x, n = torch.randn(shape, generator=g), torch.randn(shape, generator=g)
        t = torch.randint(0, 1000, (shape[0],), generator=g)
        return x.to(device), n.to(device), t.to(device)

    return Case(op="add_noise", shape="x".join(map(str, shape)), device=device,
                ours=lambda x, n, t: ours.add_noise(x, n, t), peers=peers, setup=setup)


def _sampling_loop(scheduler, unet, x, steps: int):
    """(loop seconds, seconds inside scheduler.step, final sample) of a full sampling loop from x."""
    import torch

    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)  # time the work, not the launches
    scheduler.set_timesteps(steps)
    in_step = 0.0
    with torch.no_grad():
        start = time.perf_counter()
        for t in scheduler.timesteps:
            out = unet(x, t.expand(x.shape[0]).to(x.device))
            sync()
            t0 = time.perf_counter()
            x = scheduler.step(out, t, x).prev_sample
            sync()
            in_step += time.perf_counter() - t0
        total = time.perf_counter() - start
    return total, in_step, x


def _loop_share_case(shape, steps: int, device):
    """The scheduler's share of a DDPM sampling loop with a small U-Net (issue floor: <= 3%): ours and
    diffusers' schedulers drive the same model from the same start, one after the other."""
    import torch

    from vision_ext.diffusion import DDPMScheduler, UNet
    unet = UNet(in_channels=shape[1], base_channels=32, channel_mults=(1, 2), num_res_blocks=1,
                attention_resolutions=(), dropout=0.0, image_size=shape[2]).to(device).eval()
    scheds = {"ours": DDPMScheduler(), "diffusers": _diffusers_ddpm()}
    if scheds["diffusers"] is None:
        del scheds["diffusers"]

    def setup():
        return (torch.randn(shape, generator=torch.Generator().manual_seed(0)).to(device),)

    def measure(x):
        _sampling_loop(scheds["ours"], unet, x, 3)  # warm-up (first-call allocations, oneDNN primitives)
        figures = {}
        for name, sched in scheds.items():
            total, in_step, _ = _sampling_loop(sched, unet, x, steps)
            figures[name] = {"seconds": total, "step_ms": 1e3 * in_step / steps,
                             "scheduler_share_%": 100.0 * in_step / total}
        return figures

    return Case(op=f"ddpm_loop_share({steps} steps)", shape="x".join(map(str, shape)), device=device,
                ours=lambda x: _sampling_loop(scheds["ours"], unet, x, steps)[2],
                peers={k: (lambda x, s=s: _sampling_loop(s, unet, x, steps)[2])
                       for k, s in scheds.items() if k != "ours"},
                setup=setup, measure=measure)


def _bandwidth_case(shape, device):
    """The fused step's memory throughput as a fraction of a plain copy's (issue floor on a GPU: >= 70%).
    The step with in-kernel Philox reads model_output and sample and writes prev_sample and x0: four
    tensors of traffic; a copy moves two. Both are timed interleaved on the same device."""
    import torch

    from vision_ext.bench.core import time_interleaved
    from vision_ext.diffusion import DDPMScheduler
    ours = DDPMScheduler()
    ours.set_timesteps(1000)
    ref = _diffusers_ddpm(1000)

    def setup():
        g = torch.Generator().manual_seed(0)
        return torch.randn(shape, generator=g).to(device), torch.randn(shape, generator=g).to(device)

    def measure(m, x):
        dst = torch.empty_like(x)
        fns = {"step": lambda: ours.step(m, 500, x), "copy": lambda: dst.copy_(x)}
        if ref is not None:
            fns["diffusers"] = lambda: ref.step(m, 500, x)
        t = time_interleaved(fns, (), device, min_time=1.0)
        nbytes = x.numel() * x.element_size()
        step_bw, copy_bw = 4 * nbytes / t["step"], 2 * nbytes / t["copy"]
        figures = {"ours": {"seconds": t["step"], "GB/s": step_bw / 1e9, "copy_GB/s": copy_bw / 1e9,
                            "fraction_of_copy_%": 100.0 * step_bw / copy_bw}}
        if ref is not None:
            figures["diffusers"] = {"seconds": t["diffusers"]}
        return figures

    return Case(op="ddpm_step_bandwidth", shape="x".join(map(str, shape)), device=device,
                ours=lambda m, x: ours.step(m, 500, x).prev_sample, peers={}, setup=setup, measure=measure)


def _unet_case(batch: int, base: int, device: str):
    """U-Net inference (the paper's CIFAR-10 layout at `base` channels): ours on the fused kernels after
    vision_ext.nn.fuse (Winograd 3x3 convs with bias + skip fused on the CPU) against the same network
    and weights in eager PyTorch."""
    import copy

    import torch

    import vision_ext.nn as vnn
    from vision_ext.diffusion import UNet

    torch.manual_seed(0)
    eager = UNet(3, base, (1, 2, 2, 2), 2, (16,), 0.0, 32).to(device).eval().set_fused(False)
    ours = vnn.fuse(copy.deepcopy(eager).set_fused(True))

    def setup():
        g = torch.Generator().manual_seed(0)
        return torch.randn(batch, 3, 32, 32, generator=g).to(device), torch.randint(0, 1000, (batch,), generator=g).to(device)

    def run(net):
        def call(x, t):
            with torch.no_grad():
                return net(x, t)
        return call

    return Case(op=f"ddpm_unet_inference(base {base})", shape=f"{batch}x3x32x32", device=device, ours=run(ours),
                peers={"eager": run(eager)}, setup=setup, rtol=1e-4)


def cases(quick: bool, device: str):
    shapes = [(16, 3, 32, 32)] if quick else [(16, 3, 32, 32), (8, 3, 256, 256)]
    out = []
    for s in shapes:
        out.append(_step_case(s, device))
        out.append(_add_noise_case(s, device))
    out.append(_loop_share_case((2, 3, 16, 16), 100 if quick else 1000, device))
    out.append(_unet_case(2, 64, device) if quick else _unet_case(4, 128, device))
    if device.startswith("cuda"):  # bandwidth floor: 64 MiB per tensor, far past the GPU's L2
        out.append(_bandwidth_case((64, 4, 256, 256), device))
    return out
