"""Op contract of the region shape family (csrc/ops/shape.cpp): the raw wrapper over
torch.ops.vision_ext.shape_features, its column layout (csrc/include/vision_ext/shape.h) and its
fake kernel for torch.compile. User-facing results live in vision_ext.features.shape."""
from typing import Tuple

import torch

from vision_ext._build import register_cuda_missing

Tensor = torch.Tensor

OPS = ("shape_features",)

# Columns of `values` (the Column enum of csrc/include/vision_ext/shape.h).
AREA, PERIMETER, AREA_CONVEX, CENTROID_ROW, CENTROID_COL = 0, 1, 2, 3, 4
RAW = slice(5, 15)          # m00 m10 m01 m20 m11 m02 m30 m21 m12 m03 (x = column, y = row)
CENTRAL = slice(15, 22)     # mu20 mu11 mu02 mu30 mu21 mu12 mu03
NORMALIZED = slice(22, 29)  # nu20 nu11 nu02 nu30 nu21 nu12 nu03
HU = slice(29, 36)
ECCENTRICITY, ORIENTATION, SOLIDITY, EXTENT, CIRCULARITY, AXIS_MAJOR, AXIS_MINOR = range(36, 43)
COLUMNS = 43

RAW_NAMES = ("m00", "m10", "m01", "m20", "m11", "m02", "m30", "m21", "m12", "m03")
CENTRAL_NAMES = ("mu20", "mu11", "mu02", "mu30", "mu21", "mu12", "mu03")
NORMALIZED_NAMES = ("nu20", "nu11", "nu02", "nu30", "nu21", "nu12", "nu03")


def shape_features(labels: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """(regions (R, 2) int64 (image, label), bbox (R, 4) int64, values (R, COLUMNS) float64,
    hull (V, 2) float64 (row, col), hull_offsets (R + 1,) int64)."""
    return torch.ops.vision_ext.shape_features(labels)


@torch.library.register_fake("vision_ext::shape_features")
def _shape_features_fake(labels):
    torch._check(labels.dim() in (2, 3), lambda: f"labels must be (H, W) or (B, H, W), got {labels.shape}")
    ctx = torch.library.get_ctx()
    r = ctx.new_dynamic_size()  # regions present: known only from the data
    v = ctx.new_dynamic_size()  # hull vertices
    return (labels.new_empty((r, 2), dtype=torch.int64), labels.new_empty((r, 4), dtype=torch.int64),
            labels.new_empty((r, COLUMNS), dtype=torch.float64), labels.new_empty((v, 2), dtype=torch.float64),
            labels.new_empty((r + 1,), dtype=torch.int64))


for _op in OPS:
    register_cuda_missing(f"vision_ext::{_op}")
