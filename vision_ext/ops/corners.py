"""Op contract of the corner family (csrc/ops/corners.cpp): raw wrappers over
torch.ops.vision_ext.*, fake kernels for torch.compile, and autograd of the
Harris / min-eigenvalue responses. User-facing defaults live in vision_ext.features."""
import math
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
    _check_limit("max_keypoints", max_keypoints, image)
    return torch.ops.vision_ext.fast(image, threshold, nonmax, pattern, max_keypoints)


def good_features_to_track(image: Tensor, max_corners: int, quality_level: float, min_distance: float,
                           block_size: int, gradient_size: int, use_harris: bool, k: float,
                           mask: Optional[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
    _check_limit("max_corners", max_corners, image)
    return torch.ops.vision_ext.good_features_to_track(image, max_corners, quality_level,
                                                       _min_distance(min_distance, image), block_size,
                                                       gradient_size, use_harris, k, mask)


# The keypoint ops return K = max_keypoints / max_corners points per image, padded (B x K x 12 bytes). No
# image has more keypoints than pixels, so a K above the pixel count is only padding; the floor still lets
# a pipeline use one fixed K for images of every size.
KEYPOINT_LIMIT_FLOOR = 1 << 16


def _hw(image: Tensor) -> Tuple[int, int]:
    return (image.shape[-2], image.shape[-1]) if image.dim() >= 2 else (1, 1)


def keypoint_limit(image: Tensor) -> int:
    """The largest max_keypoints / max_corners accepted for `image`: max(H * W, KEYPOINT_LIMIT_FLOOR)."""
    h, w = _hw(image)
    return max(h * w, KEYPOINT_LIMIT_FLOOR)


def _check_limit(name: str, value: int, image: Tensor) -> None:
    if value < 0:
        raise ValueError(f"{name}: must be >= 0 (0 = no limit), got {value}")
    cap = keypoint_limit(image)
    if value > cap:
        h, w = _hw(image)
        raise ValueError(f"{name}: {value} is more than a {h}x{w} image can hold; at most max(H*W, "
                         f"{KEYPOINT_LIMIT_FLOOR}) = {cap} (no image has more keypoints than pixels), or 0 for all")


def _min_distance(value: float, image: Tensor) -> float:
    """min_distance checked, and capped at a finite value beyond the image diagonal. Past the diagonal no
    two pixels are far enough apart, so only the best corner survives (cv2.goodFeaturesToTrack's result,
    which itself crashes from about 1e10 on): the cap changes no result, and keeps the kernel's squared
    distances finite."""
    if math.isnan(value) or value < 0:
        raise ValueError(f"min_distance: must be a number >= 0 (pixels), got {value}")
    h, w = _hw(image)
    return min(value, math.hypot(h, w) + 1.0)


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
