"""Op contract of the contour family (csrc/ops/contours.cpp): the raw find_contours wrapper and its
fake kernel (data-dependent sizes), and contour_curvature, an op composed of torch operations
(CompositeImplicitAutograd: it runs wherever torch runs, CUDA included, and is differentiable by
construction). User-facing defaults, numpy handling and list splitting live in
vision_ext.features.contours."""
import math
from typing import Optional, Tuple

import torch

from vision_ext._build import register_cuda_missing

Tensor = torch.Tensor

METHODS = ("numerical", "circle")


def find_contours(image: Tensor, level: Optional[float], fully_connected_high: bool, positive_orientation_high: bool,
                  mask: Optional[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
    return torch.ops.vision_ext.find_contours(image, level, fully_connected_high, positive_orientation_high, mask)


@torch.library.register_fake("vision_ext::find_contours")
def _find_contours_fake(image, level, fully_connected_high, positive_orientation_high, mask):
    torch._check(image.dim() in (2, 3), lambda: f"find_contours: image must be (H, W) or (B, H, W), got "
                                                f"{tuple(image.shape)}")
    ctx = torch.library.get_ctx()
    points, offsets = ctx.new_dynamic_size(), ctx.new_dynamic_size(min=1)  # offsets: contours + 1
    dtype = torch.float32 if image.dtype in (torch.float32, torch.float16, torch.bfloat16) else torch.float64
    b = image.shape[0] if image.dim() == 3 else 1
    return (image.new_empty((points, 2), dtype=dtype), image.new_empty((offsets,), dtype=torch.int64),
            image.new_empty((b + 1,), dtype=torch.int64))


register_cuda_missing("vision_ext::find_contours")


# ---- contour_curvature ----------------------------------------------------------------------------

torch.library.define("vision_ext::contour_curvature",
                     "(Tensor contour, float smoothing, int method, int window, bool closed) -> Tensor")


def contour_curvature(contour: Tensor, smoothing: float, method: int, window: int, closed: bool) -> Tensor:
    """closed: the last point repeats the first (it is dropped, and its value repeats the first's)."""
    return torch.ops.vision_ext.contour_curvature(contour, smoothing, method, window, closed)


def _neighbours(n: int, offsets: Tensor, closed: bool) -> Tensor:
    """(n, len(offsets)) sample indices: wrapped for a closed contour, clamped (nearest) for an open one."""
    idx = torch.arange(n, device=offsets.device)[:, None] + offsets[None, :]
    return idx % n if closed else idx.clamp(0, n - 1)


_ROWS = 512  # points per block of the (points x segments) kernel matrices


def _smoothed_derivatives(p: Tensor, sigma: float, closed: bool) -> Tuple[Tensor, Tensor]:
    """First and second arc-length derivatives, at each point, of the polyline convolved with a Gaussian.

    The polyline's tangent is piecewise constant and its second derivative a sum of turns
    (t_j - t_{j-1}) at the vertices, so both convolutions are exact sums: segment j contributes
    t_j (Phi(b) - Phi(a)) over its arc span [a, b] (in sigmas from the point), vertex v its turn
    times the Gaussian at its arc distance. sigma is in samples: times the mean segment length.
    Closed contours wrap (arc distances taken modulo the perimeter); open ones truncate the kernel
    at the ends and renormalise it by the mass left.
    """
    q = torch.cat([p, p[:1]]) if closed else p
    d = q[1:] - q[:-1]
    seg = d.norm(dim=1)
    t = d / torch.where(seg > 0, seg, torch.ones_like(seg))[:, None]
    s = torch.cat([seg.new_zeros(1), seg.cumsum(0)])
    total = s[-1]
    sig = sigma * seg.mean()
    if closed:
        turns, vpos = t - t.roll(1, 0), s[:-1]
    else:
        turns, vpos = t[1:] - t[:-1], s[1:-1]
    d1s, d2s = [], []
    for r0 in range(0, p.shape[0], _ROWS):
        si = s[r0:min(p.shape[0], r0 + _ROWS), None]
        a, b, v = s[None, :-1] - si, s[None, 1:] - si, vpos[None, :] - si
        if closed:
            shift = total * torch.round((a + b) / (2 * total))
            a, b = a - shift, b - shift
            v = v - total * torch.round(v / total)
        d1 = (torch.special.ndtr(b / sig) - torch.special.ndtr(a / sig)) @ t
        d2 = (torch.exp(-0.5 * (v / sig) ** 2) / (sig * math.sqrt(2 * math.pi))) @ turns
        if not closed:
            mass = torch.special.ndtr((total - si) / sig) - torch.special.ndtr(-si / sig)
            d1, d2 = d1 / mass, d2 / mass
        d1s.append(d1)
        d2s.append(d2)
    return torch.cat(d1s), torch.cat(d2s)


def _three_point_derivatives(p: Tensor, closed: bool) -> Tuple[Tensor, Tensor]:
    """Unsmoothed three-point derivatives in arc length (samples unevenly spaced); an open contour's
    ends take their inner neighbour's values."""
    nb = _neighbours(p.shape[0], torch.tensor([-1, 1], device=p.device), closed)
    prev, nxt = p[nb[:, 0]], p[nb[:, 1]]
    if not closed:
        prev, nxt = prev.clone(), nxt.clone()
        prev[0], nxt[-1] = 2 * p[0] - p[1], 2 * p[-1] - p[-2]  # placeholders, replaced below
    h1 = (p - prev).norm(dim=1, keepdim=True)
    h2 = (nxt - p).norm(dim=1, keepdim=True)
    s = h1 + h2
    d1 = (-h2 / (h1 * s)) * prev + ((h2 - h1) / (h1 * h2)) * p + (h1 / (h2 * s)) * nxt
    d2 = 2.0 * (prev / (h1 * s) - p / (h1 * h2) + nxt / (h2 * s))
    if not closed:
        d1, d2 = torch.cat([d1[1:2], d1[1:-1], d1[-2:-1]]), torch.cat([d2[1:2], d2[1:-1], d2[-2:-1]])
    return d1, d2


def _numerical(p: Tensor, sigma: float, closed: bool) -> Tensor:
    d1, d2 = _smoothed_derivatives(p, sigma, closed) if sigma > 0 else _three_point_derivatives(p, closed)
    return (d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]) / (d1 * d1).sum(1).pow(1.5)


def _circle(p: Tensor, half: int, closed: bool) -> Tensor:
    """Least-squares algebraic circle through each sample, fitted to its 2*half neighbours.

    In the local frame at p_i (u along the chord p_{i+1} - p_{i-1}, v its left normal) the circle
    through the origin is A (u^2 + v^2) + B u + v = 0; A, B minimise the squared residuals over the
    window (2x2 normal equations), and the signed curvature is -2A / sqrt(1 + B^2) (0 for a line).
    """
    n = p.shape[0]
    nb = _neighbours(n, torch.tensor([-1, 1], device=p.device), closed)
    t = p[nb[:, 1]] - p[nb[:, 0]]
    t = t / t.norm(dim=1, keepdim=True)
    nrm = torch.stack([-t[:, 1], t[:, 0]], 1)
    offs = torch.cat([torch.arange(-half, 0), torch.arange(1, half + 1)]).to(p.device)
    idx = _neighbours(n, offs, closed)
    d = p[idx] - p[:, None, :]  # (n, 2 half, 2)
    u = (d * t[:, None, :]).sum(2)
    v = (d * nrm[:, None, :]).sum(2)
    z = u * u + v * v
    szz, szu, suu = (z * z).sum(1), (z * u).sum(1), (u * u).sum(1)
    szv, suv = (z * v).sum(1), (u * v).sum(1)
    det = szz * suu - szu * szu
    a = -(suu * szv - szu * suv) / det
    b = -(szz * suv - szu * szv) / det
    return -2.0 * a / torch.sqrt(1.0 + b * b)


def _check_contour(contour: Tensor, method: int, smoothing: float, window: int) -> None:
    if contour.dim() != 2 or contour.shape[-1] != 2:
        raise ValueError(f"contour: expected an (N, 2) tensor of (row, col) points, got shape {tuple(contour.shape)}")
    if not contour.dtype.is_floating_point:
        raise TypeError(f"contour: expected a floating tensor (float32 / float64), got {contour.dtype}; "
                        "convert with contour.double()")
    if method not in (0, 1):
        raise ValueError(f"method: must be 0 (numerical) or 1 (circle), got {method}")
    if not (smoothing >= 0 and math.isfinite(smoothing)):
        raise ValueError(f"smoothing: must be a finite sigma >= 0 (in samples), got {smoothing}")
    if window < 2:
        raise ValueError(f"window: the circle fit's half-width must be >= 2 samples, got {window}")


@torch.library.impl("vision_ext::contour_curvature", "CompositeImplicitAutograd")
def _contour_curvature(contour, smoothing, method, window, closed):
    _check_contour(contour, method, smoothing, window)
    p = contour[:-1] if closed else contour
    if p.shape[0] < 3:
        raise ValueError(f"contour: needs at least 3 distinct points for a curvature, got {p.shape[0]}"
                         f"{' (closed: the last point repeats the first)' if closed else ''}")
    if method == 1 and closed:  # a window past half the contour would count samples twice
        window = max(1, min(window, (p.shape[0] - 1) // 2))
    k = _numerical(p, smoothing, closed) if method == 0 else _circle(p, window, closed)
    return torch.cat([k, k[:1]]) if closed else k
