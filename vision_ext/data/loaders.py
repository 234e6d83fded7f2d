"""Datasets by name, and DataLoaders whose data order and augmentation depend only on (seed, epoch).

That makes `train --resume` exact: epoch e sees the same batches whether or not
the process was restarted before it, and whatever the number of workers.
"""
import signal
from dataclasses import dataclass
from typing import Optional

import torch
from torch.utils.data import DataLoader, Dataset, Sampler
from torch.utils.data.distributed import DistributedSampler

from vision_ext.data.transforms import Normalize, crop_flip, normalization_for

DATASETS = ("digits", "cifar10", "synthetic")
CROP_PADDING = 4


@dataclass
class ImageSet:
    images: torch.Tensor  # uint8 (N, 3, 32, 32)
    labels: torch.Tensor  # int64 (N,)
    name: str
    num_classes: int = 10

    def __len__(self):
        return len(self.labels)


def load_dataset(name: str, train: bool, data_dir: Optional[str] = None, subset: Optional[int] = None) -> ImageSet:
    """The train or test split of a dataset by name; `subset` keeps its first N images."""
    if name == "digits":
        from vision_ext.data.digits import load_digits32
        images, labels = load_digits32(train)
    elif name == "cifar10":
        from vision_ext.data.cifar10 import DatasetNotFoundError, load_cifar10
        if not data_dir:
            raise DatasetNotFoundError("--dataset cifar10 needs --data-dir DIR with the extracted python batches "
                                       "(cifar-10-batches-py); or use --dataset digits, which needs no download")
        images, labels = load_cifar10(data_dir, train)
    elif name == "synthetic":
        from vision_ext.data.synthetic import load_synthetic
        # Generate only what is used: the full synthetic split is 50000 images.
        images, labels = load_synthetic(train, size=subset)
    else:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if subset is not None:
        if subset < 1:
            raise ValueError(f"subset must be a positive number of images, got {subset}")
        images, labels = images[:subset], labels[:subset]
    return ImageSet(images, labels, name)


class AugmentedDataset(Dataset):
    """Indexable (image float32 normalised, label); with augment=True a random crop (zero padding 4) and a
    horizontal flip whose parameters for every image are drawn once per epoch in set_epoch()."""

    def __init__(self, data: ImageSet, augment: bool, seed: int = 0, normalize: Optional[Normalize] = None,
                 padding: int = CROP_PADDING):
        self.data = data
        self.augment = augment
        self.seed = seed
        self.padding = padding
        self.normalize = normalize or normalization_for(data.name)
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        n = len(self.data)
        if not self.augment:
            self.offsets, self.flips = None, None
            return
        g = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        self.offsets = torch.randint(0, 2 * self.padding + 1, (n, 2), generator=g)
        self.flips = torch.rand(n, generator=g) < 0.5

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        image = self.data.images[i]
        if self.augment:
            top, left = self.offsets[i].tolist()
            image = crop_flip(image, self.padding, top, left, bool(self.flips[i]))
        return self.normalize(image), self.data.labels[i]


class ShardSampler(Sampler):
    """Every world_size-th index from rank, in order, with no padding: evaluation counts each image once."""

    def __init__(self, n: int, rank: int = 0, world_size: int = 1):
        self.indices = list(range(rank, n, world_size))

    def __iter__(self):
        return iter(self.indices)

    def __len__(self):
        return len(self.indices)


class EpochLoader:
    """A DataLoader plus set_epoch(e), which reseeds shuffling, augmentation and worker seeds from (seed, e)."""

    def __init__(self, dataset: AugmentedDataset, batch_size: int, train: bool, seed: int = 0,
                 rank: int = 0, world_size: int = 1, workers: int = 0, pin_memory: bool = False):
        self.dataset = dataset
        if train:
            # DistributedSampler shuffles with seed + epoch; with world_size 1 it is a plain seeded shuffle.
            self.sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=seed)
        else:
            self.sampler = ShardSampler(len(dataset), rank, world_size)
        self.seed = seed
        self.generator = torch.Generator()
        self.loader = DataLoader(dataset, batch_size=batch_size, sampler=self.sampler, num_workers=workers,
                                 generator=self.generator, pin_memory=pin_memory, drop_last=False,
                                 worker_init_fn=_ignore_sigint if workers else None)
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if isinstance(self.sampler, DistributedSampler):
            self.sampler.set_epoch(epoch)
        self.dataset.set_epoch(epoch)
        # Worker base seeds come from this generator, not from the global RNG.
        self.generator.manual_seed(self.seed * 100_003 + epoch)

    def __iter__(self):
        return iter(self.loader)

    def __len__(self):
        return len(self.loader)


def _ignore_sigint(worker_id: int) -> None:
    # A terminal's Ctrl-C reaches the workers too: only the main process acts on it (it saves, then stops).
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def make_loader(data: ImageSet, batch_size: int, train: bool, seed: int = 0, rank: int = 0, world_size: int = 1,
                workers: int = 0, pin_memory: bool = False) -> EpochLoader:
    """Training loaders shuffle and augment; test loaders do neither and shard without padding."""
    dataset = AugmentedDataset(data, augment=train, seed=seed)
    return EpochLoader(dataset, batch_size, train, seed, rank, world_size, workers, pin_memory)
