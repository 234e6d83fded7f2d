"""Fused GroupNorm + SiLU (vision_ext.ops.norm.group_norm) vs eager F.silu(F.group_norm(x)) at the
Stable Diffusion U-Net's shapes: forward in NCHW and channels_last (where eager also returns NCHW,
pytorch#111824), and forward + backward."""
import torch
import torch.nn.functional as F

from vision_ext.bench.core import Case
from vision_ext.ops.norm import group_norm

GROUPS = 32


def _eager(x, w, b):
    return F.silu(F.group_norm(x, GROUPS, w, b, 1e-5))


def _ours(x, w, b):
    return group_norm(x, GROUPS, w, b, 1e-5, "silu")


def _tensors(shape, device, layout, grad=False):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=g).to(device).contiguous(memory_format=layout)
    w = torch.randn(shape[1], generator=g).to(device)
    b = torch.randn(shape[1], generator=g).to(device)
    return tuple(t.requires_grad_(grad) for t in (x, w, b))


def _forward_case(shape, device, layout, name):
    return Case(op=f"group_norm+silu forward {name}", shape="x".join(map(str, shape)), device=device,
                ours=_ours, peers={"F.silu(F.group_norm)": _eager},
                setup=lambda: _tensors(shape, device, layout), family="group_norm")


def _train(fn):
    def step(x, w, b, grad):
        for t in (x, w, b):
            t.grad = None
        fn(x, w, b).backward(grad)
        return x.grad
    return step


def _backward_case(shape, device, layout, name):
    def setup():
        x, w, b = _tensors(shape, device, layout, grad=True)
        return x, w, b, torch.randn(shape, device=device).contiguous(memory_format=layout)

    return Case(op=f"group_norm+silu fwd+bwd {name}", shape="x".join(map(str, shape)), device=device,
                ours=_train(_ours), peers={"F.silu(F.group_norm)": _train(_eager)}, setup=setup,
                needs_grad=True, family="group_norm", rtol=1e-3, atol=1e-3)


def cases(quick: bool, device: str):
    # The SD U-Net's GroupNorm shapes at 512 px latents (64x64) and the VAE decoder's widest/largest ones.
    shapes = [(2, 320, 64, 64)] if quick else [(2, 320, 64, 64), (2, 640, 32, 32), (2, 512, 32, 32),
                                                (2, 128, 256, 256)]
    out = []
    for shape in shapes:
        out.append(_forward_case(shape, device, torch.contiguous_format, "NCHW"))
        out.append(_forward_case(shape, device, torch.channels_last, "channels_last"))
        out.append(_backward_case(shape, device, torch.contiguous_format, "NCHW"))
    return out
