"""Op contract of the corner family (csrc/ops/corners.cpp): raw wrappers over
torch.ops.vision_ext.*, fake kernels for torch.compile, and autograd of the
Harris / min-eigenvalue responses. User-facing defaults live in vision_ext.features."""
from typing import Optional, Tuple

import torch

from vision_ext._build import register_cuda_missing
from vision_ext.ops import _corners_grad

Tensor = torch.Tensor

OPS = ("harris_response", "min_eigen_response", "fast", "good_features_to_track")


def harris_response(image: Tensor, block_size: int, ksize: int, k: float, border: int) -> Tensor:
    return torch.ops.vision_ext.harris_response(image, block_size, ksize, k, border)


def min_eigen_response(image: Tensor, block_size: int, ksize: int, border: int) -> Tensor:
    return torch.ops.vision_ext.min_eigen_response(image, block_size, ksize, border)


def fast(image: Tensor, threshold: int, nonmax: bool, pattern: int, max_keypoints: int) -> Tuple[Tensor, Tensor, Tensor]:
    return torch.ops.vision_ext.fast(image, threshold, nonmax, pattern, max_keypoints)


def good_features_to_track(image: Tensor, max_corners: int, quality_level: float, min_distance: float,
                           block_size: int, gradient_size: int, use_harris: bool, k: float,
                           mask: Optional[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
    return torch.ops.vision_ext.good_features_to_track(image, max_corners, quality_level, min_distance, block_size,
                                                       gradient_size, use_harris, k, mask)


# ---- fake kernels -------------------------------------------------------------------------------

def _response_dtype(image: Tensor) -> torch.dtype:
    return torch.float64 if image.dtype == torch.float64 else torch.float32


def _batch(image: Tensor) -> int:
    torch._check(image.dim() in (2, 3, 4), lambda: f"image must be (H, W), (1, H, W) or (B, 1, H, W), got {image.shape}")
    return image.shape[0] if image.dim() == 4 else 1


@torch.library.register_fake("vision_ext::harris_response")
def _harris_fake(image, block_size, ksize, k, border):
    _batch(image)
    return image.new_empty(image.shape, dtype=_response_dtype(image))


@torch.library.register_fake("vision_ext::min_eigen_response")
def _min_eigen_fake(image, block_size, ksize, border):
    _batch(image)
    return image.new_empty(image.shape, dtype=_response_dtype(image))


def _keypoint_fakes(image, limit, score_dtype):
    b = _batch(image)
    kk = limit if limit > 0 else torch.library.get_ctx().new_dynamic_size()
    return (image.new_empty((b, kk, 2), dtype=torch.float32), image.new_empty((b, kk), dtype=score_dtype),
            image.new_empty((b,), dtype=torch.int64))


@torch.library.register_fake("vision_ext::fast")
def _fast_fake(image, threshold, nonmax, pattern, max_keypoints):
    return _keypoint_fakes(image, max_keypoints, torch.float32)


@torch.library.register_fake("vision_ext::good_features_to_track")
def _gftt_fake(image, max_corners, quality_level, min_distance, block_size, gradient_size, use_harris, k, mask):
    return _keypoint_fakes(image, max_corners, _response_dtype(image))


# ---- autograd -----------------------------------------------------------------------------------

def _harris_setup(ctx, inputs, output):
    image, block_size, ksize, k, border = inputs
    ctx.save_for_backward(image)
    ctx.args = (block_size, ksize, border, k)


def _harris_backward(ctx, grad):
    (image,) = ctx.saved_tensors
    block_size, ksize, border, k = ctx.args
    gi = _corners_grad.response_backward(image, grad, block_size, ksize, border, k, harris=True)
    return gi, None, None, None, None


def _min_eigen_setup(ctx, inputs, output):
    image, block_size, ksize, border = inputs
    ctx.save_for_backward(image)
    ctx.args = (block_size, ksize, border)


def _min_eigen_backward(ctx, grad):
    (image,) = ctx.saved_tensors
    block_size, ksize, border = ctx.args
    gi = _corners_grad.response_backward(image, grad, block_size, ksize, border, 0.0, harris=False)
    return gi, None, None, None


torch.library.register_autograd("vision_ext::harris_response", _harris_backward, setup_context=_harris_setup)
torch.library.register_autograd("vision_ext::min_eigen_response", _min_eigen_backward, setup_context=_min_eigen_setup)

for _op in OPS:
    register_cuda_missing(f"vision_ext::{_op}")
