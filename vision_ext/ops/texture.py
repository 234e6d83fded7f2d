"""Op contract of the texture family (csrc/ops/texture.cpp): raw wrappers over torch.ops.vision_ext.*,
fake kernels for torch.compile, and the name tables. User-facing defaults (skimage's signatures,
numpy in / out) live in vision_ext.features.texture.

None of the ops is differentiable: LBP and GLCM are counts of comparisons, and HOG bins each
gradient into one orientation (a piecewise-constant function of the image), so no autograd is
registered and a tensor that requires grad gives outputs that do not."""
from typing import List, Sequence, Tuple

import torch

from vision_ext._build import register_cuda_missing

Tensor = torch.Tensor

OPS = ("local_binary_pattern", "graycomatrix", "graycoprops", "hog")

LBP_METHODS = {"default": 0, "ror": 1, "uniform": 2, "nri_uniform": 3, "var": 4}
GLCM_PROPS = ("contrast", "dissimilarity", "homogeneity", "energy", "correlation", "ASM", "mean", "variance", "std",
              "entropy")
HOG_NORMS = {"L1": 0, "L1-sqrt": 1, "L2": 2, "L2-Hys": 3}


def local_binary_pattern(image: Tensor, P: int, R: float, method: int) -> Tensor:
    return torch.ops.vision_ext.local_binary_pattern(image, P, R, method)


def graycomatrix(image: Tensor, distances: Sequence[float], angles: Sequence[float], levels: int, symmetric: bool,
                 normed: bool) -> Tensor:
    return torch.ops.vision_ext.graycomatrix(image, [float(d) for d in distances], [float(a) for a in angles], levels,
                                             symmetric, normed)


def graycoprops(P: Tensor, props: List[int]) -> Tensor:
    return torch.ops.vision_ext.graycoprops(P, list(props))


def hog(image: Tensor, orientations: int, pixels_per_cell: Sequence[int], cells_per_block: Sequence[int],
        block_norm: int, transform_sqrt: bool, visualize: bool) -> Tuple[Tensor, Tensor]:
    return torch.ops.vision_ext.hog(image, orientations, list(pixels_per_cell), list(cells_per_block), block_norm,
                                    transform_sqrt, visualize)


# ---- fake kernels -------------------------------------------------------------------------------

@torch.library.register_fake("vision_ext::local_binary_pattern")
def _lbp_fake(image, P, R, method):
    torch._check(image.dim() in (2, 3), lambda: f"image must be (H, W) or (B, H, W), got {image.shape}")
    return image.new_empty(image.shape, dtype=torch.float64)


@torch.library.register_fake("vision_ext::graycomatrix")
def _glcm_fake(image, distances, angles, levels, symmetric, normed):
    torch._check(image.dim() in (2, 3), lambda: f"image must be (H, W) or (B, H, W), got {image.shape}")
    torch._check(levels != -1 or image.dtype in (torch.uint8, torch.int8),
                 lambda: "graycomatrix: levels is required for dtypes other than uint8")
    n = 256 if levels == -1 else levels
    shape = (n, n, len(distances), len(angles))
    if image.dim() == 3:
        shape = (image.shape[0],) + shape
    return image.new_empty(shape, dtype=torch.float64 if normed else torch.int32)


@torch.library.register_fake("vision_ext::graycoprops")
def _props_fake(P, props):
    torch._check(P.dim() >= 4, lambda: f"P must be (..., L, L, nd, na), got {P.shape}")
    return P.new_empty(tuple(P.shape[:-4]) + (len(props), P.shape[-2], P.shape[-1]), dtype=torch.float64)


@torch.library.register_fake("vision_ext::hog")
def _hog_fake(image, orientations, pixels_per_cell, cells_per_block, block_norm, transform_sqrt, visualize):
    torch._check(image.dim() in (3, 4), lambda: f"image must be (C, H, W) or (B, C, H, W), got {image.shape}")
    h, w = image.shape[-2], image.shape[-1]
    nr, nc = h // pixels_per_cell[0], w // pixels_per_cell[1]
    br, bc = nr - cells_per_block[0] + 1, nc - cells_per_block[1] + 1
    torch._check(br > 0 and bc > 0, lambda: "hog: the image is too small for pixels_per_cell and cells_per_block")
    lead = (image.shape[0],) if image.dim() == 4 else ()
    dtype = torch.float64 if image.dtype == torch.uint8 else image.dtype
    feats = image.new_empty(lead + (br, bc, cells_per_block[0], cells_per_block[1], orientations), dtype=dtype)
    vis = image.new_empty(lead + (h, w) if visualize else (0,), dtype=dtype)
    return feats, vis


for _op in OPS:
    register_cuda_missing(f"vision_ext::{_op}")
