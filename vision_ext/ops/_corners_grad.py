"""Pure-PyTorch structure tensor of the Harris / min-eigenvalue ops, and its adjoint.

Used as the backward of `harris_response` / `min_eigen_response` (a composite of
torch ops, so it traces under torch.compile and is itself differentiable) and
as an independent reference in the tests. Borders follow OpenCV: the source is
extended for the derivative filters, the derivative products for the window.
"""
from typing import List, Tuple

import torch
import torch.nn.functional as F

CONSTANT, REPLICATE, REFLECT, REFLECT101 = 0, 1, 2, 4


def border_index(p: int, n: int, border: int) -> int:
    """In-image index standing for position p of a line of n pixels; -1 = constant zero."""
    if 0 <= p < n:
        return p
    if border == CONSTANT:
        return -1
    if border == REPLICATE:
        return 0 if p < 0 else n - 1
    if n == 1:
        return 0
    delta = 1 if border == REFLECT101 else 0
    while p < 0 or p >= n:
        p = -p - 1 + delta if p < 0 else n - 1 - (p - n) - delta
    return p


def sobel_taps(ksize: int) -> Tuple[List[float], List[float]]:
    """(smooth, deriv) taps of OpenCV's Sobel aperture ksize (1/3/5/7) or Scharr (-1)."""
    if ksize == -1:
        smooth = [3.0, 10.0, 3.0]
    elif ksize == 1:
        smooth = [1.0]
    else:
        smooth = [1.0]
        for _ in range(ksize - 1):
            smooth = [a + b for a, b in zip(smooth + [0.0], [0.0] + smooth)]
    if ksize in (-1, 1, 3):
        deriv = [-1.0, 0.0, 1.0]
    else:
        s = [1.0]
        for _ in range(ksize - 2):
            s = [a + b for a, b in zip(s + [0.0], [0.0] + s)]
        deriv = [a - b for a, b in zip([0.0] + s, s + [0.0])]
    return smooth, deriv


def derivative_scale(ksize: int, block_size: int, is_uint8: bool) -> float:
    s = float(1 << ((ksize if ksize > 0 else 3) - 1)) * block_size
    if ksize < 0:
        s *= 2.0
    if is_uint8:
        s *= 255.0
    return 1.0 / s


def _index(n: int, lo: int, hi: int, border: int, device) -> torch.Tensor:
    # Constant-border positions point at index n, an appended zero row/column.
    idx = [border_index(p, n, border) for p in range(-lo, n + hi)]
    return torch.tensor([i if i >= 0 else n for i in idx], dtype=torch.long, device=device)


def _gather(x: torch.Tensor, iy: torch.Tensor, ix: torch.Tensor) -> torch.Tensor:
    x = F.pad(x, (0, 1, 0, 1))  # the zero row/column the constant border points at
    return x.index_select(1, iy).index_select(2, ix)


def _gather_adjoint(g: torch.Tensor, iy: torch.Tensor, ix: torch.Tensor, h: int, w: int) -> torch.Tensor:
    b = g.shape[0]
    t = g.new_zeros((b, g.shape[1], w + 1)).index_add(2, ix, g)
    return g.new_zeros((b, h + 1, w + 1)).index_add(1, iy, t)[:, :h, :w]


def _padded(taps: List[float], r: int) -> List[float]:
    extra = r - len(taps) // 2
    return [0.0] * extra + taps + [0.0] * extra


def _corr(x: torch.Tensor, taps: List[float], dim: int) -> torch.Tensor:
    n = x.shape[dim] - (len(taps) - 1)
    out = None
    for k, t in enumerate(taps):
        if t != 0.0:
            term = x.narrow(dim, k, n) * t
            out = term if out is None else out + term
    return out


def _corr_adjoint(g: torch.Tensor, taps: List[float], dim: int) -> torch.Tensor:
    last = len(taps) - 1
    out = None
    for k, t in enumerate(taps):
        if t == 0.0:
            continue
        pad = (k, last - k) if dim == 2 else (0, 0, k, last - k)
        term = F.pad(g * t, pad)
        out = term if out is None else out + term
    return out


class _Geometry:
    """Index maps and taps of one call, shared by the forward and the adjoint."""

    def __init__(self, h, w, block_size, ksize, border, scale, device):
        smooth, deriv = sobel_taps(ksize)
        self.r = max(len(smooth), len(deriv)) // 2
        self.smooth, self.deriv = _padded(smooth, self.r), _padded(deriv, self.r)
        self.iy, self.ix = _index(h, self.r, self.r, border, device), _index(w, self.r, self.r, border, device)
        lo = block_size // 2
        hi = block_size - 1 - lo
        self.jy, self.jx = _index(h, lo, hi, border, device), _index(w, lo, hi, border, device)
        self.h, self.w, self.bs, self.scale = h, w, block_size, scale


def _derivatives(img, g: _Geometry):
    p = _gather(img, g.iy, g.ix)
    dx = _corr(_corr(p, g.smooth, 1), g.deriv, 2) * g.scale
    dy = _corr(_corr(p, g.deriv, 1), g.smooth, 2) * g.scale
    return dx, dy


def _window(x, g: _Geometry):
    q = _gather(x, g.jy, g.jx)
    return _corr(_corr(q, [1.0] * g.bs, 1), [1.0] * g.bs, 2)


def _window_adjoint(gr, g: _Geometry):
    ones = [1.0] * g.bs
    return _gather_adjoint(_corr_adjoint(_corr_adjoint(gr, ones, 2), ones, 1), g.jy, g.jx, g.h, g.w)


def _as_planes(image: torch.Tensor) -> torch.Tensor:
    return image.reshape(-1, image.shape[-2], image.shape[-1])


def structure_sums(image, block_size, ksize, border):
    """(a, b, c) window sums of Dx², DxDy, Dy² as (B, H, W) tensors, plus derivatives and geometry."""
    img = _as_planes(image)
    is_u8 = image.dtype == torch.uint8
    if is_u8:
        img = img.float()
    g = _Geometry(img.shape[1], img.shape[2], block_size, ksize, border,
                  derivative_scale(ksize, block_size, is_u8), img.device)
    dx, dy = _derivatives(img, g)
    return _window(dx * dx, g), _window(dx * dy, g), _window(dy * dy, g), dx, dy, g


def response_reference(image, block_size, ksize, border, k=0.04, harris=True):
    """Pure-PyTorch response (for tests and as the differentiable definition)."""
    a, b, c, _, _, _ = structure_sums(image, block_size, ksize, border)
    if harris:
        out = a * c - b * b - k * (a + c) ** 2
    else:
        out = (a + c) * 0.5 - torch.sqrt(((a - c) * 0.5) ** 2 + b * b)
    return out.reshape(image.shape)


def response_backward(image, grad, block_size, ksize, border, k, harris):
    """Gradient of the response w.r.t. a float image, built from torch ops."""
    a, b, c, dx, dy, g = structure_sums(image, block_size, ksize, border)
    gr = _as_planes(grad).to(a.dtype)
    if harris:
        tr = a + c
        ga, gb, gc = gr * (c - 2 * k * tr), gr * (-2 * b), gr * (a - 2 * k * tr)
    else:
        s = torch.sqrt(((a - c) * 0.5) ** 2 + b * b)
        safe = torch.where(s > 0, s, torch.ones_like(s))
        u = torch.where(s > 0, (a - c) / (4 * safe), torch.zeros_like(s))
        ga, gc = gr * (0.5 - u), gr * (0.5 + u)
        gb = gr * torch.where(s > 0, -b / safe, torch.zeros_like(s))
    gxx, gxy, gyy = _window_adjoint(ga, g), _window_adjoint(gb, g), _window_adjoint(gc, g)
    gdx = (2 * dx * gxx + dy * gxy) * g.scale
    gdy = (2 * dy * gyy + dx * gxy) * g.scale
    gp = _corr_adjoint(_corr_adjoint(gdx, g.deriv, 2), g.smooth, 1)
    gp = gp + _corr_adjoint(_corr_adjoint(gdy, g.smooth, 2), g.deriv, 1)
    return _gather_adjoint(gp, g.iy, g.ix, g.h, g.w).reshape(image.shape)
