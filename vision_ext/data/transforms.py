"""Augmentation and normalisation on tensors (no PIL).

crop_flip takes its random numbers as arguments, so the caller decides where
they come from (loaders.py draws them per epoch from a seeded generator).
"""
from typing import Sequence

import torch
import torch.nn.functional as F

# Per-channel statistics of the training splits (CIFAR-10's are the usual published values).
_STATS = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "digits": ((0.3054, 0.3054, 0.3054), (0.3237, 0.3237, 0.3237)),
    "synthetic": ((0.5, 0.5, 0.5), (0.2, 0.2, 0.2)),
}


def normalization_for(dataset: str) -> "Normalize":
    mean, std = _STATS[dataset]
    return Normalize(mean, std)


class Normalize:
    """uint8 (C, H, W) or (N, C, H, W) -> float32 (x / 255 - mean) / std."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        if any(s <= 0 for s in std):
            raise ValueError(f"Normalize: std must be positive, got {tuple(std)}")
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        x = image.to(torch.float32) / 255.0 if image.dtype == torch.uint8 else image.to(torch.float32)
        return (x - self.mean) / self.std


def crop_flip(image: torch.Tensor, padding: int, top: int, left: int, flip: bool) -> torch.Tensor:
    """Zero-pad (C, H, W) by `padding`, crop H x W at (top, left) of the padded image, then mirror if `flip`.

    top and left lie in [0, 2 * padding]; (padding, padding) with flip False returns the image unchanged.
    """
    if image.dim() != 3:
        raise ValueError(f"crop_flip expects one (C, H, W) image, got shape {tuple(image.shape)}")
    if not (0 <= top <= 2 * padding and 0 <= left <= 2 * padding):
        raise ValueError(f"crop_flip: top={top}, left={left} must lie in [0, {2 * padding}] for padding={padding}")
    _, h, w = image.shape
    out = F.pad(image, (padding, padding, padding, padding)) if padding else image
    out = out[:, top:top + h, left:left + w]
    return out.flip(-1) if flip else out
