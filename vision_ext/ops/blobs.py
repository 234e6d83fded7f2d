"""Op contract of the blob family (csrc/ops/blobs.cpp): raw wrappers over torch.ops.vision_ext.*
and fake kernels for torch.compile. Blob positions are peaks, not differentiable: no autograd.
User-facing defaults (scikit-image's) live in vision_ext.features.blobs."""
from typing import Optional, Sequence, Tuple

import torch

from vision_ext._build import register_cuda_missing

Tensor = torch.Tensor

OPS = ("blob_log", "blob_dog", "blob_doh", "blob_prune")


def blob_log(image: Tensor, sigmas: Sequence[float], radii: Sequence[int], smooth_taps: Sequence[float],
             second_taps: Sequence[float], norms: Sequence[float], threshold: Optional[float],
             threshold_rel: Optional[float], exclude_border: Sequence[int]) -> Tuple[Tensor, Tensor]:
    return torch.ops.vision_ext.blob_log(image, list(sigmas), list(radii), list(smooth_taps), list(second_taps),
                                         list(norms), threshold, threshold_rel, list(exclude_border))


def blob_dog(image: Tensor, sigmas: Sequence[float], radii: Sequence[int], smooth_taps: Sequence[float],
             norms: Sequence[float], threshold: Optional[float], threshold_rel: Optional[float],
             exclude_border: Sequence[int]) -> Tuple[Tensor, Tensor]:
    return torch.ops.vision_ext.blob_dog(image, list(sigmas), list(radii), list(smooth_taps), list(norms), threshold,
                                         threshold_rel, list(exclude_border))


def blob_doh(image: Tensor, sigmas: Sequence[float], threshold: Optional[float],
             threshold_rel: Optional[float]) -> Tuple[Tensor, Tensor]:
    return torch.ops.vision_ext.blob_doh(image, list(sigmas), threshold, threshold_rel)


def blob_prune(blobs: Tensor, pairs: Optional[Tensor], overlap: float) -> Tensor:
    return torch.ops.vision_ext.blob_prune(blobs, pairs, overlap)


# ---- fake kernels: K (blobs per image) depends on the data -------------------------------------

def _blob_fakes(image):
    torch._check(image.dim() in (2, 3, 4), lambda: f"image must be (H, W), (B, H, W) or (B, 1, H, W), got {image.shape}")
    b = 1 if image.dim() == 2 else image.shape[0]
    k = torch.library.get_ctx().new_dynamic_size()
    return image.new_empty((b, k, 3), dtype=torch.float64), image.new_empty((b,), dtype=torch.int64)


@torch.library.register_fake("vision_ext::blob_log")
def _blob_log_fake(image, sigmas, radii, smooth_taps, second_taps, norms, threshold, threshold_rel, exclude_border):
    return _blob_fakes(image)


@torch.library.register_fake("vision_ext::blob_dog")
def _blob_dog_fake(image, sigmas, radii, smooth_taps, norms, threshold, threshold_rel, exclude_border):
    return _blob_fakes(image)


@torch.library.register_fake("vision_ext::blob_doh")
def _blob_doh_fake(image, sigmas, threshold, threshold_rel):
    return _blob_fakes(image)


@torch.library.register_fake("vision_ext::blob_prune")
def _blob_prune_fake(blobs, pairs, overlap):
    torch._check(blobs.dim() == 2 and blobs.shape[1] == 3, lambda: f"blobs must be (N, 3), got {blobs.shape}")
    return blobs.new_empty((torch.library.get_ctx().new_dynamic_size(), 3))


for _op in OPS:
    register_cuda_missing(f"vision_ext::{_op}")
