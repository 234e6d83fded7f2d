"""Colour features, batched, on CPU and CUDA (issue 12, colour row; the spatial sub-block method).

- `color_histogram`: per-channel or joint histograms, bins and ranges per channel, optional mask, with
  either cv2.calcHist's binning (`edges="cv2"`: a bin holds [lo, hi) of its width, values outside
  [low, high) are dropped) or numpy's (`edges="numpy"`: np.histogram / np.histogramdd, the last bin
  includes `high`). Counts are int64.
- `color_moments`: mean, standard deviation and skewness per channel (differentiable).
- `color_gradient`: the Di Zenzo multichannel gradient (magnitude, direction; differentiable).
- `grid_features`: any registered features per g x g sub-block, (B, g, g, D) plus the column names;
  `register_grid_feature` adds a feature.

Images are (B, C, H, W), (C, H, W) or (H, W) tensors (or numpy arrays of those shapes; an HxWx3 cv2
image is np.moveaxis(img, 2, 0)): uint8 0..255, float32 or float64. Outputs of unbatched images have no
batch dimension. A mask is (H, W), (B, H, W) or (B, 1, H, W), uint8 or bool, nonzero = keep.
"""
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from vision_ext.ops import colour as _ops

ImageLike = Union[Tensor, np.ndarray]
Range = Tuple[float, float]


def _batched(images: ImageLike) -> Tuple[Tensor, bool]:
    """(B, C, H, W) view of images, and whether the caller passed a batch."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.ascontiguousarray(images))
    if not isinstance(images, Tensor):
        raise TypeError(f"images: expected a torch.Tensor or numpy array, got {type(images).__name__}")
    if images.dim() == 2:
        return images[None, None], False
    if images.dim() == 3:
        return images[None], False
    if images.dim() == 4:
        return images, True
    raise ValueError(f"images: expected shape (H, W), (C, H, W) or (B, C, H, W), got {tuple(images.shape)}")


def _mask(mask: Optional[ImageLike]) -> Optional[Tensor]:
    if isinstance(mask, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(mask))
    return mask


def _per_channel(value, c: int, name: str) -> list:
    one_pair = (name == "ranges" and isinstance(value, (tuple, list)) and len(value) == 2
                and all(isinstance(v, (int, float)) for v in value))
    if isinstance(value, (int, float)) or one_pair:
        return [value] * c
    value = list(value)
    if len(value) == 1:
        return value * c
    if len(value) != c:
        raise ValueError(f"{name}: expected one value for all channels or one per channel ({c}), got {len(value)}")
    return value


def _edges(edges: str) -> int:
    if edges not in _ops.EDGES:
        raise ValueError(f"edges: expected 'cv2' (cv2.calcHist: upper bound exclusive) or 'numpy' "
                         f"(np.histogram: last bin includes the upper bound), got {edges!r}")
    return _ops.EDGES[edges]


def default_range(dtype: torch.dtype) -> Range:
    """The range when none is given: (0, 256) for uint8 (every value its own bin at 256 bins), else (0, 1)."""
    return (0.0, 256.0) if dtype == torch.uint8 else (0.0, 1.0)


def color_histogram(images: ImageLike, bins: Union[int, Sequence[int]] = 256,
                    ranges: Optional[Union[Range, Sequence[Range]]] = None, mask: Optional[ImageLike] = None,
                    joint: bool = False, edges: str = "cv2"):
    """Histograms of every channel, or one joint (multi-dimensional) histogram of all channels.

    bins: one count for all channels or one per channel; ranges: one (low, high) for all or one per
    channel (default: `default_range`). edges: "cv2" equals cv2.calcHist (uniform, upper bound excluded,
    ranges read as float32), "numpy" equals np.histogram per channel and np.histogramdd when joint (a
    float32 image's per-channel edges are rounded to float32, as np.histogram does).

    Returns int64 counts: per channel (B, C, bins) when every channel has the same bins, else a list of
    (B, bins_c); joint (B, *bins), channel 0 first (np.histogramdd's axis order). A mask keeping no pixel
    gives zeros (as both peers do).
    """
    x, batched = _batched(images)
    c = x.shape[1]
    nb = [int(b) for b in _per_channel(bins, c, "bins")]
    rr = _per_channel(default_range(x.dtype) if ranges is None else ranges, c, "ranges")
    for r in rr:
        if len(r) != 2:
            raise ValueError(f"ranges: expected (low, high) pairs, got {r!r}")
    out = _ops.color_histogram(x, nb, [float(r[0]) for r in rr], [float(r[1]) for r in rr], _mask(mask),
                               bool(joint), _edges(edges))
    if joint:
        out = out.reshape((x.shape[0], *nb))
        return out if batched else out[0]
    if all(n == nb[0] for n in nb):
        out = out.reshape(x.shape[0], c, nb[0])
        return out if batched else out[0]
    parts = list(torch.split(out, nb, dim=1))
    return parts if batched else [p[0] for p in parts]


class Moments(NamedTuple):
    """Colour moments per channel, each (B, C) (or (C,) unbatched).

    mean; std = sqrt(mean((x - mean)^2)) (population, numpy's np.std); skewness = cbrt(mean((x - mean)^3)),
    the colour-moments definition (same units as the pixels); skewness_standardised = mean((x - mean)^3) /
    std^3, scipy.stats.skew(x) (bias=True). A channel with no kept pixel gives NaN everywhere (numpy's
    mean of nothing); a constant one gives skewness 0 and skewness_standardised NaN (0 / 0)."""
    mean: Tensor
    std: Tensor
    skewness: Tensor
    skewness_standardised: Tensor


def _cbrt(x: Tensor) -> Tensor:
    return torch.sign(x) * torch.abs(x).pow(1.0 / 3.0)


def color_moments(images: ImageLike, mask: Optional[ImageLike] = None) -> Moments:
    """Mean, standard deviation and skewness of every channel over the (kept) pixels; differentiable
    with respect to float images. float64 for float64 images, else float32 (summed in float64)."""
    x, batched = _batched(images)
    m = _ops.color_moments(x, _mask(mask))
    if not batched:
        m = m[0]
    mean, m2, m3 = m[..., 0], m[..., 1], m[..., 2]
    return Moments(mean, torch.sqrt(m2), _cbrt(m3), m3 / m2.pow(1.5))


def color_gradient(images: ImageLike, ksize: int = 3) -> Tuple[Tensor, Tensor]:
    """Di Zenzo colour gradient: (magnitude, direction), each (B, H, W).

    Per pixel the channel derivatives are cv2.Sobel's (aperture ksize 1/3/5/7 or -1 for Scharr,
    BORDER_REFLECT_101, raw pixel units), summed into the structure tensor (sxx, sxy, syy);
    magnitude = sqrt(largest eigenvalue), direction = 0.5 * atan2(2 sxy, sxx - syy) in (-pi/2, pi/2].
    Differentiable with respect to float images (the gradient is 0 where the tensor is isotropic)."""
    x, batched = _batched(images)
    mag, direction = _ops.color_gradient(x, ksize)
    return (mag, direction) if batched else (mag[0], direction[0])


# ---- grid (sub-block) features ------------------------------------------------------------------

GridFeature = Callable[..., Union[Tensor, Tuple[Tensor, List[str]]]]
_GRID_FEATURES: Dict[str, GridFeature] = {}


def register_grid_feature(name: str, fn: GridFeature) -> None:
    """Make `name` usable in grid_features. fn(images (B, C, h, w), **options) returns (B, D) (columns
    named name[0] .. name[D-1]) or ((B, D), D column names); D must not depend on the block's size."""
    if not callable(fn):
        raise TypeError(f"register_grid_feature: fn must be callable, got {type(fn).__name__}")
    _GRID_FEATURES[name] = fn


def grid_feature_names() -> List[str]:
    return sorted(_GRID_FEATURES)


def _histogram_feature(images, bins=8, ranges=None, edges="cv2", normalize=False):
    h = color_histogram(images, bins, ranges, edges=edges)
    parts = h if isinstance(h, list) else list(h.unbind(1))
    names = [f"histogram.c{c}.b{j}" for c, p in enumerate(parts) for j in range(p.shape[1])]
    out = torch.cat(parts, dim=1).to(_float_dtype(images))
    if normalize:
        out = out / max(1, images.shape[-2] * images.shape[-1])
    return out, names


def _joint_histogram_feature(images, bins=4, ranges=None, edges="cv2", normalize=False):
    h = color_histogram(images, bins, ranges, joint=True, edges=edges)
    shape = h.shape[1:]
    names = ["joint_histogram." + "_".join(str(int(i)) for i in idx) for idx in np.ndindex(*shape)]
    out = h.reshape(h.shape[0], -1).to(_float_dtype(images))
    if normalize:
        out = out / max(1, images.shape[-2] * images.shape[-1])
    return out, names


def _moments_feature(images):
    m = color_moments(images)
    c = images.shape[1]
    names = [f"moments.{s}.c{i}" for s in ("mean", "std", "skewness") for i in range(c)]
    return torch.cat([m.mean, m.std, m.skewness], dim=1), names


def _gradient_feature(images, ksize=3):
    mag, _ = color_gradient(images, ksize)
    return mag.mean(dim=(1, 2))[:, None], ["gradient.mean_magnitude"]


def _float_dtype(images: Tensor) -> torch.dtype:
    return torch.float64 if images.dtype == torch.float64 else torch.float32


register_grid_feature("histogram", _histogram_feature)
register_grid_feature("joint_histogram", _joint_histogram_feature)
register_grid_feature("moments", _moments_feature)
register_grid_feature("gradient", _gradient_feature)


def grid_bounds(n: int, g: int) -> List[Tuple[int, int]]:
    """[start, stop) of g parts of n, as np.array_split: the first n % g parts are one longer."""
    size, extra = divmod(n, g)
    out, start = [], 0
    for i in range(g):
        stop = start + size + (1 if i < extra else 0)
        out.append((start, stop))
        start = stop
    return out


def _feature_spec(spec) -> Tuple[str, dict]:
    name, options = (spec, {}) if isinstance(spec, str) else (spec[0], dict(spec[1]))
    if name not in _GRID_FEATURES:
        raise ValueError(f"features: unknown feature {name!r}; registered: {grid_feature_names()} "
                         "(add one with register_grid_feature)")
    return name, options


def _as_named(out, name: str) -> Tuple[Tensor, List[str]]:
    if isinstance(out, tuple):
        t, names = out
    else:
        t, names = out, [f"{name}[{i}]" for i in range(out.shape[1])]
    if t.dim() != 2 or t.shape[1] != len(names):
        raise ValueError(f"grid feature {name!r}: expected a (B, D) tensor and D names, got {tuple(t.shape)} and "
                         f"{len(names)} names")
    return t, list(names)


def grid_features(image: ImageLike, grid: Union[int, Tuple[int, int]] = (4, 4),
                  features: Sequence = ("histogram", "moments")) -> Tuple[Tensor, List[str]]:
    """Features of every sub-block of a g_rows x g_cols grid: ((B, g_rows, g_cols, D), D column names).

    Rows and columns split like np.array_split (the first H % g_rows block rows and W % g_cols block
    columns are one pixel longer). features: registered names ("histogram", "joint_histogram",
    "moments", "gradient", or any added by register_grid_feature), or (name, options) pairs, e.g.
    ("histogram", {"bins": 16, "normalize": True}). Each is computed on the block crop, so a block's
    features are those of the cropped image (the gradient sees the crop's borders). float32 (float64 for
    float64 images); unbatched images give (g_rows, g_cols, D).
    """
    x, batched = _batched(image)
    gr, gc = (grid, grid) if isinstance(grid, int) else tuple(grid)
    h, w = x.shape[-2:]
    if gr < 1 or gc < 1 or gr > h or gc > w:
        raise ValueError(f"grid: expected 1 <= rows <= H and 1 <= cols <= W for a {h}x{w} image, got {(gr, gc)}")
    specs = [_feature_spec(f) for f in features]
    if not specs:
        raise ValueError("features: expected at least one feature name")
    rows, cols, names, blocks = grid_bounds(h, gr), grid_bounds(w, gc), None, []
    for y0, y1 in rows:
        for x0, x1 in cols:
            crop = x[:, :, y0:y1, x0:x1]
            parts = [_as_named(_GRID_FEATURES[n](crop, **o), n) for n, o in specs]
            if names is None:
                names = [s for _, ns in parts for s in ns]
            blocks.append(torch.cat([t.to(_float_dtype(x)) for t, _ in parts], dim=1))
    out = torch.stack(blocks, dim=1).reshape(x.shape[0], gr, gc, -1)
    return (out if batched else out[0]), names
