"""Corner and keypoint detectors, exact-match with OpenCV, batched, on CPU and CUDA.

- `harris_response` / `min_eigen_response`: cv2.cornerHarris / cv2.cornerMinEigenVal
  (differentiable w.r.t. a float image).
- `fast`: cv2.FastFeatureDetector (types "9_16", "7_12", "5_8"), same keypoints and responses.
- `good_features_to_track`: cv2.goodFeaturesToTrack (Shi-Tomasi or Harris), same corners.

Images are (H, W), (1, H, W) or (B, 1, H, W) tensors (uint8 0..255, float32 or float64);
numpy arrays are accepted and response maps are then returned as numpy.
"""
import dataclasses
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor, nn

from vision_ext.ops import corners as _ops

BORDERS = {"constant": 0, "replicate": 1, "reflect": 2, "reflect101": 4, "reflect_101": 4, "default": 4}
FAST_TYPES = {"9_16": 16, "7_12": 12, "5_8": 8}
ImageLike = Union[Tensor, np.ndarray]


def _image(image: ImageLike) -> Tensor:
    if isinstance(image, np.ndarray):
        if image.ndim == 3 and image.shape[2] in (3, 4):
            raise ValueError(f"image: expected a grayscale (H, W) array, got shape {image.shape}; convert with "
                             "cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) first")
        return torch.from_numpy(np.ascontiguousarray(image))
    if not isinstance(image, Tensor):
        raise TypeError(f"image: expected a torch.Tensor or numpy array, got {type(image).__name__}")
    return image


def _border(border: Union[str, int]) -> int:
    if isinstance(border, int):
        return border
    key = str(border).lower()
    if key not in BORDERS:
        raise ValueError(f"border: expected one of {sorted(BORDERS)} (or an OpenCV code), got {border!r}")
    return BORDERS[key]


def _fast_type(type_: Union[str, int]) -> int:
    if isinstance(type_, int) and type_ in (8, 12, 16):
        return type_
    key = str(type_).upper().replace("TYPE_", "").lower()
    if key not in FAST_TYPES:
        raise ValueError(f"type: expected one of {sorted(FAST_TYPES)}, got {type_!r}")
    return FAST_TYPES[key]


def _like_input(out: Tensor, image: ImageLike):
    return out.numpy() if isinstance(image, np.ndarray) else out


@dataclasses.dataclass
class Keypoints:
    """Padded keypoints of a batch: `xy` (B, K, 2) float32 pixel (x, y), `scores` (B, K), `counts` (B,).

    Entries at or beyond `counts[i]` are zero padding. FAST keypoints are ordered by score
    (descending) then raster position; good-features-to-track keeps OpenCV's selection order.
    `size` is the keypoint diameter written by `to_cv2` (OpenCV: 7 for FAST, block_size for GFTT).
    """

    xy: Tensor
    scores: Tensor
    counts: Tensor
    size: float = 7.0

    def __len__(self) -> int:
        return self.xy.shape[0]

    def __getitem__(self, i: int):
        """(xy (N, 2), scores (N,)) of image i, without padding."""
        n = int(self.counts[i])
        return self.xy[i, :n], self.scores[i, :n]

    def to(self, *args, **kwargs) -> "Keypoints":
        return Keypoints(self.xy.to(*args, **kwargs), self.scores.to(*args, **kwargs), self.counts.to(*args, **kwargs),
                         self.size)

    def numpy(self, i: int = 0) -> np.ndarray:
        """(N, 2) float32 array of image i, the layout of cv2.goodFeaturesToTrack without its middle axis."""
        return self[i][0].detach().cpu().numpy()

    def to_cv2(self, i: int = 0) -> list:
        """Image i as a list of cv2.KeyPoint (response = score, size = self.size)."""
        import cv2

        xy, sc = self[i]
        xy, sc = xy.detach().cpu().tolist(), sc.detach().cpu().tolist()
        return [cv2.KeyPoint(float(x), float(y), float(self.size), -1, float(s)) for (x, y), s in zip(xy, sc)]

    @classmethod
    def from_cv2(cls, keypoints: Sequence, size: Optional[float] = None) -> "Keypoints":
        """Build from OpenCV output: a list of cv2.KeyPoint, an (N, 1, 2) / (N, 2) array (or None),
        or a list of those, one per image."""
        per_image = [keypoints] if _is_single(keypoints) else list(keypoints)
        xys, scs = [], []
        for kps in per_image:
            if kps is None or len(kps) == 0:
                xys.append(np.zeros((0, 2), np.float32))
                scs.append(np.zeros((0,), np.float32))
            elif isinstance(kps, np.ndarray):
                xys.append(kps.reshape(-1, 2).astype(np.float32))
                scs.append(np.zeros((len(xys[-1]),), np.float32))
            else:
                xys.append(np.array([kp.pt for kp in kps], np.float32).reshape(-1, 2))
                scs.append(np.array([kp.response for kp in kps], np.float32))
                if size is None:
                    size = float(kps[0].size)
        k = max((len(x) for x in xys), default=0)
        xy = torch.zeros((len(xys), k, 2), dtype=torch.float32)
        scores = torch.zeros((len(xys), k), dtype=torch.float32)
        for i, (x, s) in enumerate(zip(xys, scs)):
            xy[i, :len(x)] = torch.from_numpy(x)
            scores[i, :len(s)] = torch.from_numpy(s)
        counts = torch.tensor([len(x) for x in xys], dtype=torch.int64)
        return cls(xy, scores, counts, 7.0 if size is None else float(size))


def _is_single(obj) -> bool:
    # One image: None, an array, or a (possibly empty) sequence of cv2.KeyPoint.
    if obj is None or isinstance(obj, np.ndarray):
        return True
    return len(obj) == 0 or not (obj[0] is None or isinstance(obj[0], (list, tuple, np.ndarray)))


def harris_response(image: ImageLike, block_size: int = 2, ksize: int = 3, k: float = 0.04,
                    border: Union[str, int] = "reflect101"):
    """Harris response det(M) - k trace(M)^2, equal to cv2.cornerHarris(image, block_size, ksize, k, border).

    ksize is the Sobel aperture (1, 3, 5, 7) or -1 for Scharr; border is "reflect101" (OpenCV's
    default), "reflect", "replicate" or "constant". Returns float32 (float64 for float64 input)
    with the image's shape. Differentiable w.r.t. a float image.
    """
    img = _image(image)
    return _like_input(_ops.harris_response(img, block_size, ksize, float(k), _border(border)), image)


def min_eigen_response(image: ImageLike, block_size: int = 3, ksize: int = 3, border: Union[str, int] = "reflect101"):
    """Shi-Tomasi response (smaller eigenvalue of M), equal to cv2.cornerMinEigenVal. Differentiable."""
    img = _image(image)
    return _like_input(_ops.min_eigen_response(img, block_size, ksize, _border(border)), image)


def fast(image: ImageLike, threshold: int = 10, nonmax: bool = True, type: Union[str, int] = "9_16",
         max_keypoints: Optional[int] = None) -> Keypoints:
    """FAST keypoints of a uint8 image, identical to cv2.FastFeatureDetector_create(threshold, nonmax, type).

    Scores are OpenCV's responses (0 when nonmax is False). Keypoints are ordered by score, then
    raster position; max_keypoints keeps the best ones and fixes K (no host sync on CUDA).
    """
    img = _image(image)
    xy, scores, counts = _ops.fast(img, int(threshold), bool(nonmax), _fast_type(type), int(max_keypoints or 0))
    return Keypoints(xy, scores, counts, 7.0)


def good_features_to_track(image: ImageLike, max_corners: int = 1000, quality_level: float = 0.01,
                           min_distance: float = 1.0, block_size: int = 3, gradient_size: int = 3,
                           use_harris: bool = False, k: float = 0.04, mask: Optional[ImageLike] = None) -> Keypoints:
    """Strong corners, identical to cv2.goodFeaturesToTrack (same parameters; max_corners=0: no limit).

    Selection runs on the image's device; with max_corners > 0 the output has K = max_corners
    (padded), so CUDA needs no host round trip. `scores` holds the corner response of each point.
    """
    img = _image(image)
    m = None if mask is None else _image(mask).to(img.device)
    xy, scores, counts = _ops.good_features_to_track(img, int(max_corners), float(quality_level), float(min_distance),
                                                     int(block_size), int(gradient_size), bool(use_harris), float(k), m)
    return Keypoints(xy, scores, counts, float(block_size))


class HarrisResponse(nn.Module):
    """nn.Module form of `harris_response`."""

    def __init__(self, block_size: int = 2, ksize: int = 3, k: float = 0.04, border: Union[str, int] = "reflect101"):
        super().__init__()
        self.block_size, self.ksize, self.k, self.border = block_size, ksize, k, _border(border)

    def forward(self, image: Tensor) -> Tensor:
        return _ops.harris_response(image, self.block_size, self.ksize, self.k, self.border)


class MinEigenResponse(nn.Module):
    """nn.Module form of `min_eigen_response` (Shi-Tomasi)."""

    def __init__(self, block_size: int = 3, ksize: int = 3, border: Union[str, int] = "reflect101"):
        super().__init__()
        self.block_size, self.ksize, self.border = block_size, ksize, _border(border)

    def forward(self, image: Tensor) -> Tensor:
        return _ops.min_eigen_response(image, self.block_size, self.ksize, self.border)


class FAST(nn.Module):
    """nn.Module form of `fast`; returns Keypoints."""

    def __init__(self, threshold: int = 10, nonmax: bool = True, type: Union[str, int] = "9_16",
                 max_keypoints: Optional[int] = None):
        super().__init__()
        self.threshold, self.nonmax, self.type, self.max_keypoints = threshold, nonmax, type, max_keypoints

    def forward(self, image: Tensor) -> Keypoints:
        return fast(image, self.threshold, self.nonmax, self.type, self.max_keypoints)


class GoodFeaturesToTrack(nn.Module):
    """nn.Module form of `good_features_to_track`; returns Keypoints."""

    def __init__(self, max_corners: int = 1000, quality_level: float = 0.01, min_distance: float = 1.0,
                 block_size: int = 3, gradient_size: int = 3, use_harris: bool = False, k: float = 0.04):
        super().__init__()
        self.kwargs = dict(max_corners=max_corners, quality_level=quality_level, min_distance=min_distance,
                           block_size=block_size, gradient_size=gradient_size, use_harris=use_harris, k=k)

    def forward(self, image: Tensor, mask: Optional[Tensor] = None) -> Keypoints:
        return good_features_to_track(image, mask=mask, **self.kwargs)


__all__: List[str] = ["Keypoints", "harris_response", "min_eigen_response", "fast", "good_features_to_track",
                      "HarrisResponse", "MinEigenResponse", "FAST", "GoodFeaturesToTrack", "BORDERS", "FAST_TYPES"]
