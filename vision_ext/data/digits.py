"""scikit-learn's bundled 8x8 digits as 32x32 RGB images: a dataset that needs no download."""
from typing import Tuple

import numpy as np
import torch
import torch.nn.functional as F

TEST_FRACTION = 0.2
SPLIT_SEED = 0  # fixed: the split is part of the dataset, not of a run


def _all_digits() -> Tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # Pixel values are 0..16; bilinear upsampling keeps strokes smooth at 32x32.
    small = torch.from_numpy(bunch.images.astype(np.float32) / 16.0).unsqueeze(1)
    big = F.interpolate(small, size=(32, 32), mode="bilinear", align_corners=False)
    images = (big.clamp(0, 1) * 255).round().to(torch.uint8).expand(-1, 3, -1, -1).contiguous()
    return images, torch.from_numpy(bunch.target.astype(np.int64))


def split_indices(labels: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Stratified, fixed train/test split (same on every machine and every run)."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    train, test = train_test_split(idx, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=labels)
    return np.sort(train), np.sort(test)


def load_digits32(train: bool) -> Tuple[torch.Tensor, torch.Tensor]:
    """(images uint8 (N, 3, 32, 32), labels int64 (N,)); 1437 train and 360 test images."""
    images, labels = _all_digits()
    train_idx, test_idx = split_indices(labels.numpy())
    # Shuffle within the split once (fixed seed) so that --subset N takes all classes, not the first digits.
    order = np.random.RandomState(SPLIT_SEED).permutation(train_idx if train else test_idx)
    index = torch.from_numpy(order)
    return images[index], labels[index]
