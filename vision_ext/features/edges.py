"""Canny edges, byte-identical to cv2.Canny, batched, on CPU and CUDA.

Images are uint8: (H, W), (C, H, W) or (B, C, H, W) tensors with C = 1 or 3, or numpy arrays in
OpenCV's layout, (H, W) or (H, W, C). Colour images use, per pixel, the channel with the largest
gradient (as OpenCV does). Edges are uint8 0/255: (B, 1, H, W) for a batch, (1, H, W) for one
(C, H, W) tensor, (H, W) for (H, W) tensors and for every numpy input (cv2.Canny's shape).
"""
from typing import Union

import numpy as np
import torch
from torch import Tensor, nn

from vision_ext.ops import canny as _ops

ImageLike = Union[Tensor, np.ndarray]


def _check_image_type(image):
    if not isinstance(image, (Tensor, np.ndarray)):
        raise TypeError(f"image: expected a torch.Tensor or numpy array, got {type(image).__name__}")


def canny(image: ImageLike, low: float, high: float, aperture: int = 3, l2_gradient: bool = False):
    """Canny edge map equal to cv2.Canny(image, low, high, apertureSize=aperture, L2gradient=l2_gradient).

    low / high are the hysteresis thresholds (swapped if low > high; OpenCV divides both by 16 for
    aperture 7); aperture is the Sobel size 3, 5 or 7; l2_gradient uses sqrt(dx^2 + dy^2) instead
    of |dx| + |dy|. Pixels above high are edges, and so are pixels above low 8-connected to them.
    """
    _check_image_type(image)
    if isinstance(image, np.ndarray):
        if image.ndim == 3:  # OpenCV's channels-last (H, W, C)
            if image.shape[2] not in (1, 3):
                raise ValueError(f"image: expected a grey (H, W) or colour (H, W, 3) array, got shape {image.shape}")
            t = torch.from_numpy(np.ascontiguousarray(np.moveaxis(image, 2, 0)))
        elif image.ndim == 2:
            t = torch.from_numpy(np.ascontiguousarray(image))
        else:
            raise ValueError(f"image: expected a numpy array of shape (H, W) or (H, W, C), got {image.shape}")
        out = _ops.canny(t, float(low), float(high), int(aperture), bool(l2_gradient))
        return out.reshape(out.shape[-2:]).numpy()
    return _ops.canny(image, float(low), float(high), int(aperture), bool(l2_gradient))


class Canny(nn.Module):
    """nn.Module form of `canny`."""

    def __init__(self, low: float, high: float, aperture: int = 3, l2_gradient: bool = False):
        super().__init__()
        self.low, self.high, self.aperture, self.l2_gradient = float(low), float(high), int(aperture), bool(l2_gradient)

    def forward(self, image: Tensor) -> Tensor:
        return canny(image, self.low, self.high, self.aperture, self.l2_gradient)

    def extra_repr(self) -> str:
        return f"low={self.low}, high={self.high}, aperture={self.aperture}, l2_gradient={self.l2_gradient}"


__all__ = ["canny", "Canny"]
