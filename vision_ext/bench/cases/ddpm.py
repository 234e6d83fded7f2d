"""DDPM benchmark cases: our fused step / add_noise against diffusers' schedulers."""
from vision_ext.bench.core import Case


def _step_case(shape, device):
    import torch

    from vision_ext.diffusion import DDPMScheduler
    try:
        import diffusers
    except ImportError:  # diffusers is a benchmark peer, not a dependency
        diffusers = None

    ours = DDPMScheduler()
    ours.set_timesteps(1000)
    peers = {}
    if diffusers is not None:
        ref = diffusers.DDPMScheduler()
        ref.set_timesteps(1000)
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
    try:
        import diffusers
    except ImportError:
        diffusers = None
    ours = DDPMScheduler()
    peers = {}
    if diffusers is not None:
        ref = diffusers.DDPMScheduler()
        peers["diffusers"] = lambda x, n, t: ref.add_noise(x, n, t)

    def setup():
        g = torch.Generator().manual_seed(0)
        x, n = torch.randn(shape, generator=g), torch.randn(shape, generator=g)
        t = torch.randint(0, 1000, (shape[0],), generator=g)
        return x.to(device), n.to(device), t.to(device)

    return Case(op="add_noise", shape="x".join(map(str, shape)), device=device,
                ours=lambda x, n, t: ours.add_noise(x, n, t), peers=peers, setup=setup)


def cases(quick: bool, device: str):
    shapes = [(16, 3, 32, 32)] if quick else [(16, 3, 32, 32), (8, 3, 256, 256)]
    out = []
    for s in shapes:
        out.append(_step_case(s, device))
        out.append(_add_noise_case(s, device))
    return out
