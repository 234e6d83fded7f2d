"""Op contract of the ORB family (csrc/ops/orb.cpp): raw wrappers over torch.ops.vision_ext.orb /
match_descriptors and their fake kernels for torch.compile. Not differentiable (integer keypoints
and bits). User-facing defaults and the Keypoints / Matches types live in vision_ext.features.orb."""
from typing import Optional, Tuple

import torch

from vision_ext._build import register_cuda_missing

Tensor = torch.Tensor

OPS = ("orb", "match_descriptors")


def orb(image: Tensor, n_features: int, scale_factor: float, n_levels: int, edge_threshold: int,
        fast_threshold: int, patch_size: int, harris: bool) -> Tuple[Tensor, ...]:
    return torch.ops.vision_ext.orb(image, n_features, scale_factor, n_levels, edge_threshold, fast_threshold,
                                    patch_size, harris)


def match_descriptors(d1: Tensor, d2: Tensor, counts1: Optional[Tensor], counts2: Optional[Tensor],
                      cross_check: bool, max_ratio: float, max_distance: int) -> Tuple[Tensor, Tensor]:
    return torch.ops.vision_ext.match_descriptors(d1, d2, counts1, counts2, cross_check, max_ratio, max_distance)


@torch.library.register_fake("vision_ext::orb")
def _orb_fake(image, n_features, scale_factor, n_levels, edge_threshold, fast_threshold, patch_size, harris):
    torch._check(image.dim() in (2, 3, 4), lambda: f"orb: image must be (H, W), (1, H, W) or (B, 1, H, W), got "
                                                   f"{tuple(image.shape)}")
    b = image.shape[0] if image.dim() == 4 else 1
    k = n_features
    return (image.new_empty((b, k, 2), dtype=torch.float32), image.new_empty((b, k), dtype=torch.int64),
            image.new_empty((b, k), dtype=torch.float32), image.new_empty((b, k), dtype=torch.float32),
            image.new_empty((b, k, 32), dtype=torch.uint8), image.new_empty((b,), dtype=torch.int64))


@torch.library.register_fake("vision_ext::match_descriptors")
def _match_fake(d1, d2, counts1, counts2, cross_check, max_ratio, max_distance):
    torch._check(d1.dim() in (2, 3), lambda: f"match_descriptors: descriptors1 must be (N, 32) or (B, N, 32), got "
                                             f"{tuple(d1.shape)}")
    b = d1.shape[0] if d1.dim() == 3 else 1
    n = d1.shape[-2]
    return d1.new_empty((b, n), dtype=torch.int64), d1.new_empty((b, n), dtype=torch.int32)


for _op in OPS:
    register_cuda_missing(f"vision_ext::{_op}")
