"""Blob detectors with scikit-image 0.26's parameters and results, batched, on CPU and CUDA.

- `blob_log`: skimage.feature.blob_log (scale-normalised Laplacian of Gaussian),
- `blob_dog`: skimage.feature.blob_dog (difference of Gaussians),
- `blob_doh`: skimage.feature.blob_doh (determinant of Hessian, box filters on the integral image).

Each finds the 3x3x3 local maxima of the scale space above the threshold and removes the smaller
of two blobs that overlap by more than `overlap`, as scikit-image does; the filters are scipy's
(mode 'reflect', truncate 4), built here with the same kernels, and DoH uses the same boxes, so
the responses carry the same bits (docs/EXACTNESS.md, "Blobs"). The scale space is streamed: memory stays a few image planes
whatever num_sigma is. Blob positions are peaks, not differentiable.

Images are (H, W), (B, H, W) or (B, 1, H, W): uint8 (read as value / 255, like img_as_float),
float32 or float64 (both computed in float64). A numpy (H, W) image gives skimage's (N, 3) array
of (y, x, sigma) rows; a (B, H, W) array a list of them; tensors give `Blobs`.
"""
import dataclasses
import itertools
import math
import numbers
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor, nn

from vision_ext.features.corners import _image  # numpy / tensor in, the corner family's rule
from vision_ext.ops import blobs as _ops

ImageLike = Union[Tensor, np.ndarray]
TRUNCATE = 4.0  # scipy.ndimage's default, which scikit-image keeps


@dataclasses.dataclass
class Blobs:
    """Blobs of a batch: `blobs` (B, K, 3) float64 rows (y, x, sigma), `counts` (B,) int64.

    Rows at or beyond `counts[i]` are zero padding. Rows are in scikit-image's order: strongest
    response first (ties in raster order), pruned blobs left out. A blob's radius is about
    sigma * sqrt(2) (`radii`).
    """

    blobs: Tensor
    counts: Tensor

    def __len__(self) -> int:
        return self.blobs.shape[0]

    def __getitem__(self, i: int) -> Tensor:
        """(N, 3) rows (y, x, sigma) of image i, without padding."""
        return self.blobs[i, :int(self.counts[i])]

    def numpy(self, i: int = 0) -> np.ndarray:
        """Image i as skimage's (N, 3) float64 array."""
        return self[i].detach().cpu().numpy()

    def radii(self, i: int = 0) -> Tensor:
        return self[i][:, 2] * math.sqrt(2)

    def to(self, *args, **kwargs) -> "Blobs":
        return Blobs(self.blobs.to(*args, **kwargs), self.counts.to(*args, **kwargs))


# ---- scipy's Gaussian kernels ---------------------------------------------------------------------

def _gaussian_kernel(sigma, order: int, radius: int) -> np.ndarray:
    """The 1-D Gaussian (order 0) or its second derivative (order 2) on [-radius, radius], computed
    with the operations scipy.ndimage uses (so the taps carry the same bits)."""
    sigma2 = sigma * sigma
    x = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / sigma2 * x ** 2)
    phi = phi / phi.sum()
    if order == 0:
        return phi
    # f = q(x) phi(x); each derivative maps the coefficients of q by (d/dx + p'(x)), p' = -x / sigma^2.
    powers = np.arange(order + 1)
    step = np.diag(powers[1:], 1) + np.diag(np.ones(order) / -sigma2, -1)
    q = np.zeros(order + 1)
    q[0] = 1
    for _ in range(order):
        q = step.dot(q)
    return (x[:, None] ** powers).dot(q) * phi


def _half_kernels(sigma, orders: Sequence[int]) -> Tuple[int, List[np.ndarray]]:
    """(radius, [w[0..radius] for each order]) of the kernels scipy correlates with at `sigma`."""
    radius = int(TRUNCATE * float(sigma) + 0.5)
    return radius, [_gaussian_kernel(sigma, o, radius)[::-1][radius:] for o in orders]


# ---- arguments ------------------------------------------------------------------------------------

def _sigma(name: str, value) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise ValueError(f"{name}: expected one number (per-axis sigmas are not supported), got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}: must be a finite number > 0, got {value}")
    return value


def _sigma_range(min_sigma, max_sigma) -> Tuple[float, float]:
    lo, hi = _sigma("min_sigma", min_sigma), _sigma("max_sigma", max_sigma)
    if hi < lo:
        raise ValueError(f"max_sigma: must be >= min_sigma ({lo}), got {hi}")
    return lo, hi


def _optional_number(name: str, value) -> Optional[float]:
    if value is None:
        return None
    if not isinstance(value, numbers.Real) or math.isnan(float(value)):
        raise ValueError(f"{name}: expected a number or None, got {value!r}")
    return float(value)


def _overlap(value) -> float:
    if not isinstance(value, numbers.Real) or not 0 <= float(value) <= 1:
        raise ValueError(f"overlap: must be in [0, 1] (the overlap fraction above which the smaller blob goes), "
                         f"got {value!r}")
    return float(value)


def _exclude_border(value) -> List[int]:
    """scikit-image's exclude_border: False / 0, an int (True counts as 1, as there), or (rows, cols)."""
    if isinstance(value, tuple):
        if len(value) != 2 or not all(isinstance(v, numbers.Integral) for v in value):
            raise ValueError(f"exclude_border: a tuple must hold two ints (rows, columns), got {value!r}")
        widths = [int(v) for v in value]
    elif isinstance(value, numbers.Integral):
        widths = [int(value)] * 2
    else:
        raise ValueError(f"exclude_border: expected False, an int or a tuple of two ints, got {value!r}")
    if min(widths) < 0:
        raise ValueError(f"exclude_border: widths must be >= 0, got {value!r}")
    return widths


def _num_sigma(value) -> int:
    if not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"num_sigma: must be an int >= 1, got {value!r}")
    return int(value)


def _scale_list(min_sigma: float, max_sigma: float, num_sigma: int, log_scale: bool) -> np.ndarray:
    """skimage's sigma list for blob_log: (num_sigma, 2), one sigma per image axis."""
    lo, hi = np.full(2, min_sigma, dtype=np.float64), np.full(2, max_sigma, dtype=np.float64)
    if log_scale:
        return np.logspace(np.log10(lo), np.log10(hi), num_sigma)
    return np.linspace(lo, hi, num_sigma)


def _taps(sigma_rows: np.ndarray, orders: Sequence[int]):
    """Radii and concatenated half kernels (one list per order) of each row's sigma (both axes equal)."""
    radii, taps = [], [[] for _ in orders]
    for row in sigma_rows:
        r, ks = _half_kernels(row[0], orders)
        radii.append(r)
        for t, k in zip(taps, ks):
            t.extend(k.tolist())
    return radii, taps


# The most pairs whose visiting order is reproduced (a Python set of them, ~150 bytes each). Past
# it blob_prune visits the pairs in index order with O(N) memory: scikit-image itself builds the
# whole set there (skimage#7811: threshold=None on a 512x512 image asks for > 9 GiB).
PAIR_ORDER_LIMIT = 1 << 18


def _skimage_pair_order(peaks: np.ndarray) -> Optional[Tensor]:
    """The close pairs of `peaks` in the order scikit-image's _prune_blobs visits them: the
    iteration order of scipy's cKDTree.query_pairs set (its result depends on that order). None
    without scipy or past PAIR_ORDER_LIMIT pairs: blob_prune then takes them in index order."""
    try:
        from scipy import spatial
    except ImportError:  # pragma: no cover - scipy comes with scikit-image
        return None
    reach = 2 * peaks[:, -1].max() * math.sqrt(2)
    tree = spatial.cKDTree(peaks[:, :-1])
    if (tree.count_neighbors(tree, reach) - len(peaks)) // 2 > PAIR_ORDER_LIMIT:  # counted, not built
        return None
    pairs = tree.query_pairs(reach)
    flat = np.fromiter(itertools.chain.from_iterable(pairs), dtype=np.int64, count=2 * len(pairs))
    return torch.from_numpy(flat.reshape(-1, 2))


def _pruned(peaks: Tensor, counts: Tensor, overlap: float) -> Blobs:
    kept = []
    for i in range(peaks.shape[0]):
        rows = peaks[i, :int(counts[i])]
        if rows.shape[0] >= 2:
            rows = _ops.blob_prune(rows, _skimage_pair_order(rows.detach().cpu().numpy()), overlap)
        kept.append(rows)
    k = max((r.shape[0] for r in kept), default=0)
    out = peaks.new_zeros((len(kept), k, 3))
    for i, r in enumerate(kept):
        out[i, :r.shape[0]] = r
    return Blobs(out, torch.tensor([r.shape[0] for r in kept], dtype=torch.int64, device=peaks.device))


def _result(out: Tuple[Tensor, Tensor], overlap: float, image: ImageLike):
    found = _pruned(*out, overlap)
    if not isinstance(image, np.ndarray):
        return found
    if image.ndim == 2:
        return found.numpy(0)
    return [found.numpy(i) for i in range(len(found))]


# ---- detectors ------------------------------------------------------------------------------------

def blob_log(image: ImageLike, min_sigma: float = 1, max_sigma: float = 50, num_sigma: int = 10,
             threshold: Optional[float] = 0.2, overlap: float = 0.5, log_scale: bool = False, *,
             threshold_rel: Optional[float] = None, exclude_border: Union[bool, int, Tuple[int, int]] = False):
    """Laplacian-of-Gaussian blobs, the same as skimage.feature.blob_log with the same arguments.

    The response at sigma is -sigma^2 * LoG (bright blobs on a dark background are positive);
    peaks must exceed `threshold` (None: the stack's minimum) and `threshold_rel` * the stack's
    maximum. Returns (y, x, sigma) rows: see the module docstring for the container.
    """
    img = _image(image)
    lo, hi = _sigma_range(min_sigma, max_sigma)
    rows = _scale_list(lo, hi, _num_sigma(num_sigma), bool(log_scale))
    radii, (smooth, second) = _taps(rows, (0, 2))
    norms = [float(np.mean(s) ** 2) for s in rows]
    ov = _overlap(overlap)
    out = _ops.blob_log(img, rows[:, 0].tolist(), radii, smooth, second, norms,
                        _optional_number("threshold", threshold), _optional_number("threshold_rel", threshold_rel),
                        _exclude_border(exclude_border))
    return _result(out, ov, image)


def blob_dog(image: ImageLike, min_sigma: float = 1, max_sigma: float = 50, sigma_ratio: float = 1.6,
             threshold: Optional[float] = 0.5, overlap: float = 0.5, *, threshold_rel: Optional[float] = None,
             exclude_border: Union[bool, int, Tuple[int, int]] = False):
    """Difference-of-Gaussian blobs, the same as skimage.feature.blob_dog with the same arguments.

    Gaussians at min_sigma * sigma_ratio^i (i = 0..k, k = int(log(max/min) / log(ratio) + 1));
    response i is (G_i - G_i+1) / (sigma_ratio - 1), reported with sigma_i.
    """
    img = _image(image)
    lo, hi = _sigma_range(min_sigma, max_sigma)
    if not isinstance(sigma_ratio, numbers.Real) or not float(sigma_ratio) > 1.0:
        raise ValueError(f"sigma_ratio: must be > 1.0, got {sigma_ratio!r}")
    lo_a, hi_a = np.full(2, lo, dtype=np.float64), np.full(2, hi, dtype=np.float64)
    k = int(np.mean(np.log(hi_a / lo_a) / np.log(sigma_ratio) + 1))
    rows = np.array([lo_a * (sigma_ratio ** i) for i in range(k + 1)])
    radii, (smooth,) = _taps(rows, (0,))
    norm = 1 / (sigma_ratio - 1)
    ov = _overlap(overlap)
    out = _ops.blob_dog(img, rows[:, 0].tolist(), radii, smooth, [float(norm)] * k,
                        _optional_number("threshold", threshold), _optional_number("threshold_rel", threshold_rel),
                        _exclude_border(exclude_border))
    return _result(out, ov, image)


def blob_doh(image: ImageLike, min_sigma: float = 1, max_sigma: float = 30, num_sigma: int = 10,
             threshold: Optional[float] = 0.01, overlap: float = 0.5, log_scale: bool = False, *,
             threshold_rel: Optional[float] = None):
    """Determinant-of-Hessian blobs, the same as skimage.feature.blob_doh with the same arguments.

    The Hessian at sigma is approximated with box filters of side int(3 sigma) on the integral
    image (SURF's scheme, as scikit-image does); dark and bright blobs both respond. A blob's
    radius is about sigma.
    """
    img = _image(image)
    lo, hi = _sigma_range(min_sigma, max_sigma)
    n = _num_sigma(num_sigma)
    if log_scale:
        sigmas = np.logspace(math.log(lo, 10), math.log(hi, 10), n)
    else:
        sigmas = np.linspace(lo, hi, n)
    ov = _overlap(overlap)
    out = _ops.blob_doh(img, sigmas.tolist(), _optional_number("threshold", threshold),
                        _optional_number("threshold_rel", threshold_rel))
    return _result(out, ov, image)


class BlobLoG(nn.Module):
    """nn.Module form of `blob_log`; returns Blobs."""

    def __init__(self, min_sigma: float = 1, max_sigma: float = 50, num_sigma: int = 10,
                 threshold: Optional[float] = 0.2, overlap: float = 0.5, log_scale: bool = False, *,
                 threshold_rel: Optional[float] = None, exclude_border: Union[bool, int, Tuple[int, int]] = False):
        super().__init__()
        self.kwargs = dict(min_sigma=min_sigma, max_sigma=max_sigma, num_sigma=num_sigma, threshold=threshold,
                           overlap=overlap, log_scale=log_scale, threshold_rel=threshold_rel,
                           exclude_border=exclude_border)

    def forward(self, image: Tensor) -> Blobs:
        return blob_log(image, **self.kwargs)


class BlobDoG(nn.Module):
    """nn.Module form of `blob_dog`; returns Blobs."""

    def __init__(self, min_sigma: float = 1, max_sigma: float = 50, sigma_ratio: float = 1.6,
                 threshold: Optional[float] = 0.5, overlap: float = 0.5, *, threshold_rel: Optional[float] = None,
                 exclude_border: Union[bool, int, Tuple[int, int]] = False):
        super().__init__()
        self.kwargs = dict(min_sigma=min_sigma, max_sigma=max_sigma, sigma_ratio=sigma_ratio, threshold=threshold,
                           overlap=overlap, threshold_rel=threshold_rel, exclude_border=exclude_border)

    def forward(self, image: Tensor) -> Blobs:
        return blob_dog(image, **self.kwargs)


class BlobDoH(nn.Module):
    """nn.Module form of `blob_doh`; returns Blobs."""

    def __init__(self, min_sigma: float = 1, max_sigma: float = 30, num_sigma: int = 10,
                 threshold: Optional[float] = 0.01, overlap: float = 0.5, log_scale: bool = False, *,
                 threshold_rel: Optional[float] = None):
        super().__init__()
        self.kwargs = dict(min_sigma=min_sigma, max_sigma=max_sigma, num_sigma=num_sigma, threshold=threshold,
                           overlap=overlap, log_scale=log_scale, threshold_rel=threshold_rel)

    def forward(self, image: Tensor) -> Blobs:
        return blob_doh(image, **self.kwargs)


__all__: List[str] = ["Blobs", "blob_log", "blob_dog", "blob_doh", "BlobLoG", "BlobDoG", "BlobDoH"]
