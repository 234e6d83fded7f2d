"""CIFAR-10-shaped synthetic data (10 classes, 32x32 RGB) for timing runs with no dataset on disk.

Each class has its own colour pattern plus noise, so a model can still learn it.
"""
from typing import Tuple

import torch

TRAIN_SIZE = 50000
TEST_SIZE = 10000


def load_synthetic(train: bool, size: int = None, num_classes: int = 10) -> Tuple[torch.Tensor, torch.Tensor]:
    n = size if size is not None else (TRAIN_SIZE if train else TEST_SIZE)
    g = torch.Generator().manual_seed(1 if train else 2)
    prototypes = torch.rand(num_classes, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    labels = torch.randint(0, num_classes, (n,), generator=g)
    noise = torch.rand(n, 3, 32, 32, generator=g)
    images = (0.6 * prototypes[labels] + 0.4 * noise) * 255
    return images.round().to(torch.uint8), labels
