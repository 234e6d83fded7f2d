"""vision_ext.features.local_binary_pattern against skimage.feature.local_binary_pattern (scikit-image
0.26): every method on real and random images, odd radii and point counts, batches, tensors."""
import numpy as np
import pytest
import torch
from skimage import data
from skimage.feature import local_binary_pattern as sk_lbp

from vision_ext import features

METHODS = ["default", "ror", "uniform", "nri_uniform", "var"]


def _same(ours, ref):
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    np.testing.assert_array_equal(ours, ref)  # NaN (var of a flat circle) equals NaN


@pytest.mark.parametrize("method", METHODS)
def test_camera_matches_skimage(method):
    img = data.camera()[::2, ::2]
    for P, R in ((8, 1.0), (16, 2.0)):
        _same(features.local_binary_pattern(img, P, R, method), sk_lbp(img, P, R, method))


@pytest.mark.parametrize("method", METHODS)
def test_random_and_odd_circles(method):
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (37, 53)).astype(np.uint8)
    for P, R in ((1, 1.0), (3, 0.7), (5, 1.3), (12, 2.5), (24, 3.0)):
        _same(features.local_binary_pattern(img, P, R, method), sk_lbp(img, P, R, method))


def test_float_and_wide_inputs():
    rng = np.random.default_rng(2)
    f = rng.random((29, 31))
    with pytest.warns(UserWarning):
        ref = sk_lbp(f, 8, 1.5, "uniform")
    _same(features.local_binary_pattern(f, 8, 1.5, "uniform"), ref)
    i16 = rng.integers(-300, 3000, (19, 23)).astype(np.int16)
    _same(features.local_binary_pattern(i16, 10, 2.0, "var"), sk_lbp(i16, 10, 2.0, "var"))


def test_many_points_and_tiny_images():
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (21, 17)).astype(np.uint8)
    _same(features.local_binary_pattern(img, 31, 4.0, "default"), sk_lbp(img, 31, 4.0, "default"))
    _same(features.local_binary_pattern(img, 64, 5.0, "nri_uniform"), sk_lbp(img, 64, 5.0, "nri_uniform"))
    for shape in ((1, 1), (1, 7), (6, 1), (2, 3)):
        small = rng.integers(0, 256, shape).astype(np.uint8)
        for m in METHODS:
            _same(features.local_binary_pattern(small, 8, 1.0, m), sk_lbp(small, 8, 1.0, m))


def test_batch_and_tensor():
    rng = np.random.default_rng(4)
    stack = rng.integers(0, 256, (3, 24, 30)).astype(np.uint8)
    out = features.local_binary_pattern(torch.from_numpy(stack), 8, 1.0, "ror")
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64 and out.shape == stack.shape
    for i in range(3):
        np.testing.assert_array_equal(out[i].numpy(), sk_lbp(stack[i], 8, 1.0, "ror"))
    mod = features.LocalBinaryPattern(8, 1.0, "uniform")
    np.testing.assert_array_equal(mod(torch.from_numpy(stack))[1].numpy(), sk_lbp(stack[1], 8, 1.0, "uniform"))


def test_bad_input():
    img = np.zeros((8, 8), np.uint8)
    with pytest.raises(RuntimeError, match="P .*>= 1"):
        features.local_binary_pattern(img, 0, 1.0)
    with pytest.raises(RuntimeError, match="R .*> 0"):
        features.local_binary_pattern(img, 8, 0.0)
    with pytest.raises(RuntimeError, match="R .*> 0"):
        features.local_binary_pattern(img, 8, float("nan"))
    with pytest.raises(RuntimeError, match="P must be <= 31"):
        features.local_binary_pattern(img, 32, 1.0, "default")
    with pytest.raises(ValueError, match="method"):
        features.local_binary_pattern(img, 8, 1.0, "bogus")
    with pytest.raises(ValueError, match="2-D"):
        features.local_binary_pattern(np.zeros((2, 3, 4, 5)), 8, 1.0)
    with pytest.raises(RuntimeError, match="at least one pixel"):
        features.local_binary_pattern(np.zeros((0, 5)), 8, 1.0)
