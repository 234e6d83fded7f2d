"""ORB keypoints and descriptors (Rublee et al., ICCV 2011), batched, deterministic, on CPU and CUDA.

- `orb`: FAST-9 keypoints on an image pyramid, ranked by Harris (or FAST) score with OpenCV's
  per-level budget, intensity-centroid angles and rotated BRIEF descriptors (the learned
  256-pair table OpenCV uses, csrc/include/vision_ext/orb_pattern.h), 32 bytes each.
- `match_descriptors`: brute-force Hamming matching, equal to cv2.BFMatcher(cv2.NORM_HAMMING,
  crossCheck=...).match on the same descriptors; optional Lowe ratio test and distance cap.

The pipeline (csrc/include/vision_ext/orb.h) is integer or explicitly rounded arithmetic, so the
output is bit-identical across runs, thread counts, CPU levels and devices. Keypoints are ranked
by a total order: response (descending), then y, x (level-0 pixels) and level (ascending).
"""
import dataclasses
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor, nn

from vision_ext.features.corners import Keypoints, _image
from vision_ext.ops import orb as _ops

ImageLike = Union[Tensor, np.ndarray]
SCORES = ("harris", "fast")


@dataclasses.dataclass
class OrbKeypoints(Keypoints):
    """Padded ORB keypoints of a batch: the corner family's `Keypoints` (`xy` (B, K, 2) level-0 pixel
    (x, y), `scores` = responses (B, K), `counts` (B,)) plus `levels` (B, K) int64 pyramid levels and
    `angles` (B, K) float32 degrees in [0, 360) (y down, OpenCV's convention). Entries at or beyond
    counts[i] are zero. `size` is patch_size: a keypoint's diameter is size * scale_factor**level."""

    levels: Optional[Tensor] = None
    angles: Optional[Tensor] = None
    scale_factor: float = 1.2

    @property
    def responses(self) -> Tensor:
        return self.scores

    @property
    def scales(self) -> Tensor:
        """(B, K) float32 scale of each keypoint's level relative to the image: scale_factor**level."""
        return torch.pow(torch.tensor(self.scale_factor, dtype=torch.float32, device=self.levels.device),
                         self.levels.to(torch.float32))

    def to(self, *args, **kwargs) -> "OrbKeypoints":
        conv = [t.to(*args, **kwargs) for t in (self.xy, self.scores, self.counts, self.levels, self.angles)]
        return OrbKeypoints(conv[0], conv[1], conv[2], self.size, conv[3], conv[4], self.scale_factor)

    def to_cv2(self, i: int = 0) -> list:
        """Image i as a list of cv2.KeyPoint (pt, size = patch_size * scale, angle, response, octave = level)."""
        import cv2

        n = int(self.counts[i])
        xy = self.xy[i, :n].detach().cpu().tolist()
        rest = zip(self.scores[i, :n].cpu().tolist(), self.levels[i, :n].cpu().tolist(),
                   self.angles[i, :n].cpu().tolist())
        return [cv2.KeyPoint(float(x), float(y), float(self.size * self.scale_factor ** lv), float(a), float(r),
                             int(lv)) for (x, y), (r, lv, a) in zip(xy, rest)]

    @classmethod
    def from_cv2(cls, keypoints: Sequence, scale_factor: float = 1.2, size: Optional[float] = None) -> "OrbKeypoints":
        """From OpenCV keypoints (a list of cv2.KeyPoint, or a list of such lists, one per image):
        levels from `octave`, angles from `angle`, responses from `response`. `size` (the level-0
        patch size) defaults to the size of a level-0 keypoint, else 31."""
        per_image = [keypoints] if len(keypoints) == 0 or not isinstance(keypoints[0], (list, tuple)) \
            else [list(k) for k in keypoints]
        k = max((len(p) for p in per_image), default=0)
        b = len(per_image)
        xy = torch.zeros((b, k, 2), dtype=torch.float32)
        scores, angles = torch.zeros((b, k)), torch.zeros((b, k))
        levels = torch.zeros((b, k), dtype=torch.int64)
        for i, kps in enumerate(per_image):
            if kps:
                xy[i, :len(kps)] = torch.tensor([kp.pt for kp in kps], dtype=torch.float32)
                scores[i, :len(kps)] = torch.tensor([kp.response for kp in kps], dtype=torch.float32)
                angles[i, :len(kps)] = torch.tensor([kp.angle % 360.0 for kp in kps], dtype=torch.float32)
                levels[i, :len(kps)] = torch.tensor([max(kp.octave, 0) for kp in kps], dtype=torch.int64)
                if size is None:
                    size = next((float(kp.size) for kp in kps if kp.octave <= 0), None)
        counts = torch.tensor([len(p) for p in per_image], dtype=torch.int64)
        return cls(xy, scores, counts, 31.0 if size is None else float(size), levels, angles, float(scale_factor))


def _uint8_images(image: ImageLike) -> Tensor:
    img = _image(image)
    if img.dtype == torch.uint8:
        return img
    if not img.is_floating_point():
        raise TypeError(f"images: expected uint8 (0..255) or a float tensor in [0, 1], got {img.dtype}")
    if img.numel() and not bool(((img >= 0) & (img <= 1)).all()):
        raise ValueError("images: float images must hold values in [0, 1] (NaN is not allowed); pass uint8 for "
                         "0..255 images, or divide by 255 first")
    return (img * 255).round().to(torch.uint8)


def orb(images: ImageLike, n_features: int = 500, scale_factor: float = 1.2, n_levels: int = 8,
        edge_threshold: int = 31, fast_threshold: int = 20, patch_size: int = 31,
        score: str = "harris") -> Tuple[OrbKeypoints, Tensor]:
    """ORB keypoints and descriptors of (H, W) or (B, 1, H, W) images (uint8, or float in [0, 1]).

    Returns (keypoints, descriptors): `OrbKeypoints` with K = n_features entries per image (padded,
    `counts` real ones, best first) and (B, K, 32) uint8 descriptors (zeros in the padding).
    The parameters are cv2.ORB_create's: level l is the image scaled by 1/scale_factor**l; level l
    keeps at most n_features * (1 - 1/s) / (1 - (1/s)**n_levels) / s**l of its FAST corners (OpenCV's
    split); keypoints keep max(edge_threshold, patch_size // 2, 22) pixels from the level's edges,
    so images smaller than that give zero keypoints. score "harris" ranks the best 2x budget of
    FAST corners by cv2.cornerHarris(7, 3, 0.04), "fast" by the FAST score.
    """
    if score not in SCORES:
        raise ValueError(f"score: expected one of {SCORES}, got {score!r}")
    img = _uint8_images(images)
    xy, levels, angles, responses, desc, counts = _ops.orb(img, int(n_features), float(scale_factor), int(n_levels),
                                                           int(edge_threshold), int(fast_threshold), int(patch_size),
                                                           score == "harris")
    kp = OrbKeypoints(xy, responses, counts, float(patch_size), levels, angles, float(scale_factor))
    return kp, desc


@dataclasses.dataclass
class Matches:
    """Matches of a batch: `index` (B, N1) int64, for each descriptor of the first set the index of
    its match in the second set or -1; `distance` (B, N1) int32 Hamming distance (0 where none)."""

    index: Tensor
    distance: Tensor

    def __len__(self) -> int:
        return self.index.shape[0]

    @property
    def counts(self) -> Tensor:
        return (self.index >= 0).sum(1)

    def pairs(self, i: int = 0) -> Tensor:
        """(M, 2) int64 (query, train) index pairs of image i, by query index."""
        q = torch.nonzero(self.index[i] >= 0).flatten()
        return torch.stack([q, self.index[i, q]], 1)

    def to_cv2(self, i: int = 0) -> list:
        """Image i as a list of cv2.DMatch, in query order (the order of cv2.BFMatcher.match)."""
        import cv2

        p = self.pairs(i).cpu().tolist()
        d = self.distance[i].cpu().tolist()
        return [cv2.DMatch(q, t, float(d[q])) for q, t in p]


def _descriptors(d, name: str) -> Tensor:
    if isinstance(d, np.ndarray):
        d = torch.from_numpy(np.ascontiguousarray(d))
    if not isinstance(d, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor or numpy array of uint8 descriptors, got {type(d).__name__}")
    if d.dim() in (2, 3) and d.shape[-2] == 0 and d.shape[-1] == 0:  # cv2's "no descriptors" (None -> empty)
        d = d.reshape(*d.shape[:-1], 32)
    return d


def match_descriptors(descriptors1, descriptors2, cross_check: bool = True, max_ratio: Optional[float] = None,
                      max_distance: Optional[int] = None, counts1: Optional[Tensor] = None,
                      counts2: Optional[Tensor] = None) -> Matches:
    """Brute-force Hamming matching of (N1, 32) / (B, N1, 32) uint8 descriptors against (N2, 32) /
    (B, N2, 32) ones (numpy arrays accepted); counts1 / counts2 (B,) mark the real rows of padded sets
    (e.g. OrbKeypoints.counts).

    Each descriptor of the first set takes its nearest neighbour in the second; ties go to the
    lowest index, as cv2.BFMatcher does. cross_check keeps a pair only when each is the other's
    nearest (both with that tie rule): then the result equals
    cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(d1, d2). max_ratio (Lowe's test) keeps a
    match whose distance is < max_ratio x the second-nearest distance (the second value of
    cv2's knnMatch(k=2); always kept when there is no second); max_distance drops matches farther
    than it.
    """
    d1, d2 = _descriptors(descriptors1, "descriptors1"), _descriptors(descriptors2, "descriptors2")
    if max_ratio is not None and not 0 < max_ratio <= 1:
        raise ValueError(f"max_ratio: must be in (0, 1] (e.g. 0.8), or None for no ratio test; got {max_ratio}")
    if max_distance is not None and not 0 <= max_distance:
        raise ValueError(f"max_distance: must be >= 0 (bits, at most 256), or None for no limit; got {max_distance}")
    index, distance = _ops.match_descriptors(d1, d2, counts1, counts2, bool(cross_check),
                                             -1.0 if max_ratio is None else float(max_ratio),
                                             -1 if max_distance is None else int(max_distance))
    return Matches(index, distance)


class ORB(nn.Module):
    """nn.Module form of `orb`; forward(images) -> (OrbKeypoints, descriptors)."""

    def __init__(self, n_features: int = 500, scale_factor: float = 1.2, n_levels: int = 8, edge_threshold: int = 31,
                 fast_threshold: int = 20, patch_size: int = 31, score: str = "harris"):
        super().__init__()
        if score not in SCORES:
            raise ValueError(f"score: expected one of {SCORES}, got {score!r}")
        self.kwargs = dict(n_features=n_features, scale_factor=scale_factor, n_levels=n_levels,
                           edge_threshold=edge_threshold, fast_threshold=fast_threshold, patch_size=patch_size,
                           score=score)

    def forward(self, images: Tensor) -> Tuple[OrbKeypoints, Tensor]:
        return orb(images, **self.kwargs)


__all__: List[str] = ["OrbKeypoints", "Matches", "orb", "match_descriptors", "ORB", "SCORES"]
