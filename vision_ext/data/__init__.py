"""Datasets for training: CIFAR-10 (local python-pickle batches), scikit-learn's
digits as 32x32 RGB (bundled, no download) and CIFAR-shaped synthetic data.

Every dataset is a pair of uint8 image tensors (N, 3, 32, 32) and int64 labels;
augmentation and normalisation run on tensors (see transforms.py) and the data
order and augmentation of an epoch depend only on (seed, epoch) (see loaders.py).
"""
from vision_ext.data.cifar10 import CIFAR10_CLASSES, DatasetNotFoundError, load_cifar10
from vision_ext.data.digits import load_digits32
from vision_ext.data.loaders import DATASETS, AugmentedDataset, EpochLoader, ImageSet, load_dataset, make_loader
from vision_ext.data.synthetic import load_synthetic
from vision_ext.data.transforms import Normalize, crop_flip, normalization_for

__all__ = [
    "AugmentedDataset", "CIFAR10_CLASSES", "EpochLoader", "DATASETS", "DatasetNotFoundError", "ImageSet", "Normalize",
    "crop_flip", "load_cifar10", "load_dataset", "load_digits32", "load_synthetic", "make_loader",
    "normalization_for",
]
