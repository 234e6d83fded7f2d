"""CIFAR-10 from the standard python-pickle batches (cifar-10-python.tar.gz, extracted).

No download at run time: the files must already be on disk.
"""
import os
import pickle
from typing import Tuple

import numpy as np
import torch

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILES = ("test_batch",)
_SUBDIR = "cifar-10-batches-py"


class DatasetNotFoundError(FileNotFoundError):
    """The dataset files are not where the user said; the message says where to put them."""


def find_batches_dir(data_dir: str) -> str:
    """data_dir itself or data_dir/cifar-10-batches-py, whichever holds all six batch files."""
    for candidate in (data_dir, os.path.join(data_dir, _SUBDIR)):
        if all(os.path.isfile(os.path.join(candidate, f)) for f in TRAIN_FILES + TEST_FILES):
            return candidate
    missing = [f for f in TRAIN_FILES + TEST_FILES if not os.path.isfile(os.path.join(data_dir, f))]
    raise DatasetNotFoundError(
        f"CIFAR-10 not found in --data-dir {data_dir!r} (missing {', '.join(missing)}). Download "
        "cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, extract it and pass "
        f"--data-dir pointing at the extracted '{_SUBDIR}' folder (or its parent); "
        "or use --dataset digits, which needs no download.")


def _read_batch(path: str) -> Tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise ValueError(f"{path}: not a CIFAR-10 python batch (data {data.shape}, {len(labels)} labels)")
    return data.reshape(-1, 3, 32, 32), labels


def load_cifar10(data_dir: str, train: bool) -> Tuple[torch.Tensor, torch.Tensor]:
    """(images uint8 (N, 3, 32, 32), labels int64 (N,)) of the train (50000) or test (10000) split."""
    root = find_batches_dir(data_dir)
    parts = [_read_batch(os.path.join(root, f)) for f in (TRAIN_FILES if train else TEST_FILES)]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    return torch.from_numpy(images), torch.from_numpy(labels)
