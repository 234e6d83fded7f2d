import numpy as np
import torch

from vision_ext.data import load_dataset, load_digits32
from vision_ext.data.digits import split_indices


def test_digits_are_32x32_rgb_uint8_with_fixed_split_sizes():
    train_x, train_y = load_digits32(train=True)
    test_x, test_y = load_digits32(train=False)
    assert train_x.shape == (1437, 3, 32, 32) and test_x.shape == (360, 3, 32, 32)
    assert train_x.dtype == torch.uint8 and train_y.dtype == torch.int64
    # Grey digits: three identical channels, real strokes (not blank).
    assert torch.equal(train_x[:, 0], train_x[:, 1]) and torch.equal(train_x[:, 0], train_x[:, 2])
    assert train_x.max() == 255 and train_x.float().mean() > 20
    # Stratified: every class in both splits in similar proportion.
    assert torch.bincount(train_y, minlength=10).min() >= 130
    assert torch.bincount(test_y, minlength=10).min() >= 30


def test_split_is_fixed_and_disjoint():
    from sklearn.datasets import load_digits

    labels = load_digits().target
    train, test = split_indices(labels)
    again_train, again_test = split_indices(labels)
    assert np.array_equal(train, again_train) and np.array_equal(test, again_test)
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == len(labels)
    a, _ = load_digits32(True)
    b, _ = load_digits32(True)
    assert torch.equal(a, b)


def test_upsampled_digit_matches_its_8x8_source():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images, labels = load_digits32(train=False)
    # Downsampling the 32x32 image back to 8x8 recovers the original pixel pattern closely.
    small = torch.nn.functional.avg_pool2d(images[:, :1].float() / 255, 4).flatten(1)
    source = torch.from_numpy(bunch.images.reshape(len(bunch.images), -1) / 16.0).float()
    nearest = torch.cdist(small, source).argmin(1)
    assert torch.equal(torch.from_numpy(bunch.target)[nearest], labels)


def test_subset_keeps_first_images_of_each_split():
    full = load_dataset("digits", True)
    part = load_dataset("digits", True, subset=50)
    assert len(part) == 50 and torch.equal(part.images, full.images[:50])
    assert len(torch.unique(part.labels)) == 10  # shuffled within the split: all classes appear early
