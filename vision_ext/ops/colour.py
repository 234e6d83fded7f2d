"""Op contract of the colour family (csrc/ops/colour.cpp): raw wrappers over torch.ops.vision_ext.*,
fake kernels for torch.compile, and autograd of the moments and the Di Zenzo gradient.
User-facing defaults live in vision_ext.features.colour."""
from typing import List, Optional, Sequence, Tuple

import torch

from vision_ext._build import register_cuda_missing
from vision_ext.ops import _corners_grad as _cg

Tensor = torch.Tensor

OPS = ("color_histogram", "color_moments", "color_gradient")
EDGES = {"cv2": 0, "numpy": 1}


def color_histogram(images: Tensor, bins: Sequence[int], low: Sequence[float], high: Sequence[float],
                    mask: Optional[Tensor], joint: bool, edges: int) -> Tensor:
    return torch.ops.vision_ext.color_histogram(images, list(bins), list(low), list(high), mask, joint, edges)


def color_moments(images: Tensor, mask: Optional[Tensor]) -> Tensor:
    return torch.ops.vision_ext.color_moments(images, mask)


def color_gradient(images: Tensor, ksize: int) -> Tuple[Tensor, Tensor]:
    return torch.ops.vision_ext.color_gradient(images, ksize)


# ---- fake kernels -------------------------------------------------------------------------------

def _float_out(images: Tensor) -> torch.dtype:
    return torch.float64 if images.dtype == torch.float64 else torch.float32


def _check_rank(images: Tensor, op: str) -> None:
    torch._check(images.dim() == 4, lambda: f"{op}: images must have shape (B, C, H, W), got {tuple(images.shape)}")


@torch.library.register_fake("vision_ext::color_histogram")
def _histogram_fake(images, bins, low, high, mask, joint, edges):
    _check_rank(images, "color_histogram")
    width = 1
    if joint:
        for n in bins:
            width *= n
    else:
        width = sum(bins)
    return images.new_empty((images.shape[0], width), dtype=torch.int64)


@torch.library.register_fake("vision_ext::color_moments")
def _moments_fake(images, mask):
    _check_rank(images, "color_moments")
    return images.new_empty((images.shape[0], images.shape[1], 3), dtype=_float_out(images))


@torch.library.register_fake("vision_ext::color_gradient")
def _gradient_fake(images, ksize):
    _check_rank(images, "color_gradient")
    b, _, h, w = images.shape
    return (images.new_empty((b, h, w), dtype=_float_out(images)),
            images.new_empty((b, h, w), dtype=_float_out(images)))


# ---- autograd: moments --------------------------------------------------------------------------

def _keep(images: Tensor, mask: Optional[Tensor]) -> Tensor:
    """The mask as a (B, 1, H, W) 0/1 tensor of the images' dtype (ones without a mask)."""
    b, _, h, w = images.shape
    if mask is None:
        return images.new_ones((b, 1, h, w))
    return (mask.reshape(-1, 1, h, w) != 0).to(images.dtype).expand(b, 1, h, w)


def _moments_setup(ctx, inputs, output):
    images, mask = inputs
    ctx.save_for_backward(images, mask, output)


def _moments_backward(ctx, grad):
    """d mean / dx = 1/n, d m2 / dx = 2 (x - mean) / n, d m3 / dx = 3 ((x - mean)^2 - m2) / n, over kept pixels."""
    images, mask, out = ctx.saved_tensors
    if not images.dtype.is_floating_point:
        return None, None
    keep = _keep(images, mask)
    n = keep.sum(dim=(2, 3), keepdim=True)
    mean, m2 = out[..., 0, None, None], out[..., 1, None, None]
    d = torch.where(keep > 0, images - mean, torch.zeros_like(images))
    g = grad.to(images.dtype)
    gm, g2, g3 = g[..., 0, None, None], g[..., 1, None, None], g[..., 2, None, None]
    gi = keep / n * (gm + 2 * g2 * d + 3 * g3 * (d * d - m2))
    return gi, None


torch.library.register_autograd("vision_ext::color_moments", _moments_backward, setup_context=_moments_setup)


# ---- autograd: Di Zenzo gradient ----------------------------------------------------------------

def channel_derivatives(images: Tensor, ksize: int):
    """OpenCV Sobel derivatives (dx, dy) of every channel, (B * C, H, W) each, with BORDER_REFLECT_101,
    from torch ops (the reference of the tests and the linear stage of the backward); and the geometry."""
    b, c, h, w = images.shape
    x = images.reshape(b * c, h, w)
    x = x.double() if x.dtype == torch.uint8 else x
    g = _cg._Geometry(h, w, 1, ksize, _cg.REFLECT101, 1.0, x.device)
    dx, dy = _cg._derivatives(x, g)
    return dx, dy, g


def structure_tensor(dx: Tensor, dy: Tensor, b: int, c: int):
    h, w = dx.shape[-2:]
    dx, dy = dx.reshape(b, c, h, w), dy.reshape(b, c, h, w)
    return (dx * dx).sum(1), (dx * dy).sum(1), (dy * dy).sum(1)


def _gradient_setup(ctx, inputs, output):
    images, ksize = inputs
    ctx.save_for_backward(images)
    ctx.ksize = ksize


def _gradient_backward(ctx, grad_mag, grad_dir):
    """Through lambda_max and atan2 to (sxx, sxy, syy), to each channel's (dx, dy), then the Sobel adjoint.
    Where the tensor is isotropic (s = 0) or the magnitude is 0 the gradient is taken as 0 there."""
    (images,) = ctx.saved_tensors
    if not images.dtype.is_floating_point:
        return None, None
    b, c, h, w = images.shape
    dx, dy, g = channel_derivatives(images, ctx.ksize)
    sxx, sxy, syy = structure_tensor(dx, dy, b, c)
    d = sxx - syy
    s = torch.sqrt(d * d + 4 * sxy * sxy)
    mag = torch.sqrt(torch.clamp(0.5 * (sxx + syy + s), min=0))
    ok_s, ok_m = s > 0, mag > 0
    s1 = torch.where(ok_s, s, torch.ones_like(s))
    gm = torch.zeros_like(mag) if grad_mag is None else grad_mag.to(mag.dtype)
    gd = torch.zeros_like(mag) if grad_dir is None else grad_dir.to(mag.dtype)
    glam = torch.where(ok_m, gm / (2 * torch.where(ok_m, mag, torch.ones_like(mag))), torch.zeros_like(mag))
    u = torch.where(ok_s, d / s1, torch.zeros_like(s))
    v = torch.where(ok_s, sxy / s1, torch.zeros_like(s))
    s2 = s1 * s1
    gxx = glam * 0.5 * (1 + u) + torch.where(ok_s, -gd * sxy / s2, torch.zeros_like(s))
    gyy = glam * 0.5 * (1 - u) + torch.where(ok_s, gd * sxy / s2, torch.zeros_like(s))
    gxy = glam * 2 * v + torch.where(ok_s, gd * d / s2, torch.zeros_like(s))
    dx4, dy4 = dx.reshape(b, c, h, w), dy.reshape(b, c, h, w)
    gdx = (2 * dx4 * gxx[:, None] + dy4 * gxy[:, None]).reshape(b * c, h, w)
    gdy = (2 * dy4 * gyy[:, None] + dx4 * gxy[:, None]).reshape(b * c, h, w)
    gp = _cg._corr_adjoint(_cg._corr_adjoint(gdx, g.deriv, 2), g.smooth, 1)
    gp = gp + _cg._corr_adjoint(_cg._corr_adjoint(gdy, g.smooth, 2), g.deriv, 1)
    return _cg._gather_adjoint(gp, g.iy, g.ix, h, w).reshape(images.shape).to(images.dtype), None


torch.library.register_autograd("vision_ext::color_gradient", _gradient_backward, setup_context=_gradient_setup)

for _op in OPS:
    register_cuda_missing(f"vision_ext::{_op}")
