"""Texture descriptors, equal to scikit-image 0.26's, batched, on CPU and CUDA.

- `local_binary_pattern`: skimage.feature.local_binary_pattern (methods default, ror, uniform,
  nri_uniform, var; the same bilinear circle samples).
- `graycomatrix` / `graycoprops`: skimage.feature.graycomatrix / graycoprops (every property of
  0.26), one kernel for the counts and one for all requested properties.
- `hog`: skimage.feature.hog (every block norm, multichannel, the visualisation image).

numpy arrays in give numpy arrays out with skimage's dtypes; tensors may carry a leading batch axis
(B, H, W). Nothing here is differentiable (vision_ext/ops/texture.py says why).
"""
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor, nn

from vision_ext.ops import texture as _ops

ImageLike = Union[Tensor, np.ndarray]

# numpy dtypes torch.from_numpy takes as they are; others are converted like skimage converts them.
_TORCH_NUMPY = {np.dtype(t) for t in (np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16, np.float32,
                                      np.float64, np.bool_, np.uint16)}


def _tensor(image: ImageLike, name: str = "image", fallback=np.float64) -> Tensor:
    if isinstance(image, Tensor):
        return image
    if not isinstance(image, np.ndarray):
        if isinstance(image, (list, tuple)):
            image = np.asarray(image)
        else:
            raise TypeError(f"{name}: expected a torch.Tensor or numpy array, got {type(image).__name__}")
    if image.dtype not in _TORCH_NUMPY:
        image = image.astype(fallback)
    return torch.from_numpy(np.ascontiguousarray(image))


def _out(t: Tensor, like: ImageLike):
    return t.cpu().numpy() if isinstance(like, np.ndarray) else t


# ---- local binary patterns ----------------------------------------------------------------------

def _lbp_method(method: str) -> int:
    key = str(method).lower()
    if key not in _ops.LBP_METHODS:
        raise ValueError(f"method: expected one of {sorted(_ops.LBP_METHODS)}, got {method!r}")
    return _ops.LBP_METHODS[key]


def local_binary_pattern(image: ImageLike, P: int, R: float, method: str = "default"):
    """skimage.feature.local_binary_pattern of an (H, W) image, or of each image of a (B, H, W) batch.

    Returns float64 codes of the image's shape (numpy for numpy input). P: circle points (1..31 for
    default / ror, 1..64 otherwise), R: radius in pixels (> 0)."""
    t = _tensor(image)
    if t.dim() not in (2, 3):
        raise ValueError(f"image: expected a 2-D grayscale image (H, W) or a batch (B, H, W), got shape "
                         f"{tuple(t.shape)}")
    return _out(_ops.local_binary_pattern(t, int(P), float(R), _lbp_method(method)), image)


class LocalBinaryPattern(nn.Module):
    """local_binary_pattern as a module: (B, H, W) or (H, W) images -> float64 codes."""

    def __init__(self, P: int = 8, R: float = 1.0, method: str = "default"):
        super().__init__()
        self.P, self.R, self.method = int(P), float(R), method
        _lbp_method(method)

    def forward(self, image: Tensor) -> Tensor:
        return local_binary_pattern(image, self.P, self.R, self.method)

    def extra_repr(self) -> str:
        return f"P={self.P}, R={self.R}, method={self.method!r}"


# ---- grey-level co-occurrence -------------------------------------------------------------------

def _vector(values, name: str) -> list:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D list of numbers, got shape {arr.shape}")
    return arr.tolist()


def graycomatrix(image: ImageLike, distances, angles, levels: Optional[int] = None, symmetric: bool = False,
                 normed: bool = False):
    """skimage.feature.graycomatrix: (levels, levels, len(distances), len(angles)) counts (uint32 for
    numpy, int32 tensors) or float64 when normed; a (B, H, W) batch gives a leading B axis."""
    t = _tensor(image, fallback=np.int64)
    if t.dim() not in (2, 3):
        raise ValueError(f"image: expected a 2-D image (H, W) or a batch (B, H, W), got shape {tuple(t.shape)}")
    out = _ops.graycomatrix(t, _vector(distances, "distances"), _vector(angles, "angles"),
                            -1 if levels is None else int(levels), bool(symmetric), bool(normed))
    if isinstance(image, np.ndarray):
        out = out.cpu().numpy()
        return out if normed else out.view(np.uint32)
    return out


def _prop_indices(prop) -> Tuple[list, bool]:
    single = isinstance(prop, str)
    names = [prop] if single else list(prop)
    idx = []
    for p in names:
        if p not in _ops.GLCM_PROPS:
            raise ValueError(f"{p} is an invalid property; expected one of {list(_ops.GLCM_PROPS)}")
        idx.append(_ops.GLCM_PROPS.index(p))
    return idx, single


def graycoprops(P: ImageLike, prop: Union[str, Sequence[str]] = "contrast"):
    """skimage.feature.graycoprops of a (levels, levels, nd, na) matrix -> (nd, na) float64; extra
    leading axes are batch axes. A list of properties gives (..., len(prop), nd, na), all from one pass."""
    idx, single = _prop_indices(prop)
    t = _tensor(P, "P")
    if t.dim() < 4:
        raise ValueError(f"P: expected a 4-D array (levels, levels, distances, angles), got shape {tuple(t.shape)}")
    out = _ops.graycoprops(t, idx)
    if single:
        out = out.squeeze(-3)
    return _out(out, P)


# ---- histograms of oriented gradients -----------------------------------------------------------

def _float_dtype(dtype) -> torch.dtype:
    """skimage's _supported_float_type: float32 stays float32 (float16 becomes float32), others float64."""
    if dtype in (torch.float16, torch.bfloat16, torch.float32, np.float16, np.float32):
        return torch.float32
    return torch.float64


def _hog_planes(image: ImageLike, channel_axis: Optional[int]) -> Tuple[Tensor, bool]:
    """(B, C, H, W) float planes, and whether the input was a single image."""
    if isinstance(image, np.ndarray):
        image = np.atleast_2d(image)
        t = torch.from_numpy(np.ascontiguousarray(image.astype(np.float64) if image.dtype not in _TORCH_NUMPY
                                                  else image))
        single = True
        dtype = _float_dtype(image.dtype.type)
    else:
        t = _tensor(image)
        dtype = _float_dtype(t.dtype)
        single = t.dim() == (2 if channel_axis is None else 3)
    spatial = t.dim() - (0 if single else 1) - (0 if channel_axis is None else 1)
    if spatial != 2:
        raise ValueError("Only images with two spatial dimensions are supported. If using with color/multichannel "
                         f"images, specify `channel_axis` (got shape {tuple(t.shape)}, channel_axis={channel_axis}).")
    if t.dtype != torch.uint8:  # the op reads uint8 as the float64 image skimage makes of it
        t = t.to(dtype)
    if single:
        t = t.unsqueeze(0)
    if channel_axis is None:
        t = t.unsqueeze(1)
    else:
        ax = channel_axis % (t.dim() - 1) + 1  # an axis of one image
        t = t.movedim(ax, 1)
    return t.contiguous(), single


def hog(image: ImageLike, orientations: int = 9, pixels_per_cell=(8, 8), cells_per_block=(3, 3),
        block_norm: str = "L2-Hys", visualize: bool = False, transform_sqrt: bool = False,
        feature_vector: bool = True, *, channel_axis: Optional[int] = None):
    """skimage.feature.hog with its signature and defaults. Tensors may carry a leading batch axis
    ((B, H, W), or (B, ...) of multichannel images with channel_axis an axis of one image); then the
    outputs have a leading B axis. Returns the features (flat per image when feature_vector), and
    with visualize=True also the HOG image."""
    if block_norm not in _ops.HOG_NORMS:
        raise ValueError(f"Selected block normalization method is invalid: {block_norm!r}; expected one of "
                         f"{list(_ops.HOG_NORMS)}")
    planes, single = _hog_planes(image, channel_axis)
    feats, vis = _ops.hog(planes, int(orientations), [int(v) for v in pixels_per_cell],
                          [int(v) for v in cells_per_block], _ops.HOG_NORMS[block_norm], bool(transform_sqrt),
                          bool(visualize))
    if feature_vector:
        feats = feats.reshape(feats.shape[0], -1)
    if single:
        feats = feats[0]
        vis = vis[0] if visualize else vis
    feats = _out(feats, image)
    if visualize:
        return feats, _out(vis, image)
    return feats


class HOG(nn.Module):
    """hog as a module: (B, H, W) grayscale (or (B, ..., C) with channel_axis) -> (B, features)."""

    def __init__(self, orientations: int = 9, pixels_per_cell=(8, 8), cells_per_block=(3, 3),
                 block_norm: str = "L2-Hys", transform_sqrt: bool = False, channel_axis: Optional[int] = None):
        super().__init__()
        if block_norm not in _ops.HOG_NORMS:
            raise ValueError(f"block_norm: expected one of {list(_ops.HOG_NORMS)}, got {block_norm!r}")
        self.orientations, self.pixels_per_cell, self.cells_per_block = orientations, tuple(pixels_per_cell), \
            tuple(cells_per_block)
        self.block_norm, self.transform_sqrt, self.channel_axis = block_norm, transform_sqrt, channel_axis

    def forward(self, image: Tensor) -> Tensor:
        return hog(image, self.orientations, self.pixels_per_cell, self.cells_per_block, self.block_norm,
                   transform_sqrt=self.transform_sqrt, channel_axis=self.channel_axis)

    def extra_repr(self) -> str:
        return (f"orientations={self.orientations}, pixels_per_cell={self.pixels_per_cell}, "
                f"cells_per_block={self.cells_per_block}, block_norm={self.block_norm!r}")
