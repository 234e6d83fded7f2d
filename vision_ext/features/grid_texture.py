"""Texture features per grid block (grid_features in vision_ext/features/colour.py): the notes' spatial
sub-block method applied to LBP and GLCM, each a fixed-size vector whatever the block's size."""
import torch

from vision_ext.features.colour import register_grid_feature
from vision_ext.features.texture import graycomatrix, graycoprops, local_binary_pattern

GLCM_GRID_PROPS = ("contrast", "dissimilarity", "homogeneity", "energy", "correlation", "ASM")


def _grey(images):
    """(B, C, h, w) -> (B, h, w) uint8 grey levels: the channel mean rounded; float images in [0, 1]
    are scaled to 0..255 first (as skimage's img_as_ubyte)."""
    x = images.double()
    if images.is_floating_point():
        x = x * 255.0
    return x.mean(dim=1).round().clamp(0, 255).to(torch.uint8)


def _lbp_feature(images, P=8, R=1.0):
    """Normalised histogram of uniform LBP codes (P + 2 bins: the rotation-invariant uniform patterns and
    'other'), the usual texture descriptor built on local_binary_pattern."""
    codes = local_binary_pattern(_grey(images), P, R, "uniform").long()
    hist = torch.stack([torch.bincount(c.flatten(), minlength=P + 2) for c in codes]).double()
    return hist / hist.sum(dim=1, keepdim=True).clamp(min=1), [f"lbp.u{j}" for j in range(P + 2)]


def _glcm_feature(images, distance=1, levels=256):
    """graycoprops of the symmetric normalised GLCM at `distance`, averaged over 0, 45, 90, 135 degrees."""
    import math

    glcm = graycomatrix(_grey(images), [distance], [0, math.pi / 4, math.pi / 2, 3 * math.pi / 4], levels=levels,
                        symmetric=True, normed=True)
    props = graycoprops(glcm, list(GLCM_GRID_PROPS))  # (B, props, 1, 4)
    return props.mean(dim=(-2, -1)), [f"glcm.{p}" for p in GLCM_GRID_PROPS]


register_grid_feature("lbp", _lbp_feature)
register_grid_feature("glcm", _glcm_feature)
