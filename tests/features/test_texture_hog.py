"""vision_ext.features.hog against skimage.feature.hog (scikit-image 0.26): every block norm, odd cells,
multichannel, float32 / float64 / uint8 inputs, transform_sqrt, the visualisation, batches, errors."""
import numpy as np
import pytest
import torch
from skimage import data
from skimage.feature import hog as sk_hog

from vision_ext import features

NORMS = ["L1", "L1-sqrt", "L2", "L2-Hys"]


def _same(ours, ref):
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("norm", NORMS)
def test_camera_every_norm(norm):
    img = data.camera()
    _same(features.hog(img, block_norm=norm), sk_hog(img, block_norm=norm))


def test_visualize_and_options():
    img = data.camera()[:200, :256]
    ours, ours_vis = features.hog(img, orientations=8, pixels_per_cell=(10, 6), cells_per_block=(2, 3),
                                  visualize=True, transform_sqrt=True, feature_vector=False)
    ref, ref_vis = sk_hog(img, orientations=8, pixels_per_cell=(10, 6), cells_per_block=(2, 3), visualize=True,
                          transform_sqrt=True, feature_vector=False)
    _same(ours, ref)
    _same(ours_vis, ref_vis)
    _, v = features.hog(img, pixels_per_cell=(16, 16), visualize=True)
    _same(v, sk_hog(img, pixels_per_cell=(16, 16), visualize=True)[1])


def test_odd_cells_and_sizes():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (47, 61)).astype(np.uint8)
    for ppc, cpb, n in (((5, 7), (2, 2), 9), ((3, 3), (1, 1), 7), ((8, 8), (1, 1), 12), ((4, 6), (5, 4), 4)):
        _same(features.hog(img, n, ppc, cpb, "L1"), sk_hog(img, n, ppc, cpb, "L1"))


def test_float_inputs():
    rng = np.random.default_rng(1)
    f32 = (data.camera()[:96, :128] / 255).astype(np.float32)
    _same(features.hog(f32, block_norm="L2"), sk_hog(f32, block_norm="L2"))
    f64 = rng.random((64, 80))
    _same(features.hog(f64, pixels_per_cell=(6, 6), visualize=True)[1],
          sk_hog(f64, pixels_per_cell=(6, 6), visualize=True)[1])
    _same(features.hog(f64, pixels_per_cell=(6, 6)), sk_hog(f64, pixels_per_cell=(6, 6)))


def test_multichannel():
    img = data.astronaut()[:160, :200]
    _same(features.hog(img, channel_axis=-1), sk_hog(img, channel_axis=-1))
    first = np.ascontiguousarray(np.moveaxis(img, -1, 0)).astype(np.float32) / 255
    _same(features.hog(first, channel_axis=0, block_norm="L1-sqrt", visualize=True)[1],
          sk_hog(first, channel_axis=0, block_norm="L1-sqrt", visualize=True)[1])


def test_multichannel_magnitude_ties():
    # values 0..5 give many channels of equal magnitude but other directions ((3, 4) vs (5, 0)):
    # the first such channel is skimage's choice, at every vector lane and in the scalar columns
    img = np.random.default_rng(7).integers(0, 6, (67, 75, 3), dtype=np.uint8)
    _same(features.hog(img, channel_axis=-1, pixels_per_cell=(5, 5)),
          sk_hog(img, channel_axis=-1, pixels_per_cell=(5, 5)))


def test_batch_and_module():
    rng = np.random.default_rng(2)
    stack = rng.integers(0, 256, (3, 48, 40)).astype(np.uint8)
    out = features.hog(torch.from_numpy(stack), pixels_per_cell=(8, 8), cells_per_block=(2, 2))
    assert out.shape[0] == 3 and out.dtype == torch.float64
    for i in range(3):
        np.testing.assert_array_equal(out[i].numpy(), sk_hog(stack[i], pixels_per_cell=(8, 8), cells_per_block=(2, 2)))
    mod = features.HOG(cells_per_block=(2, 2))
    np.testing.assert_array_equal(mod(torch.from_numpy(stack)).numpy(), out.numpy())


def test_bad_input():
    with pytest.raises(RuntimeError, match="too small"):
        features.hog(np.zeros((20, 20), np.uint8))
    with pytest.raises(RuntimeError, match="too small"):
        features.hog(np.zeros((1, 1), np.uint8))
    with pytest.raises(ValueError, match="block normalization"):
        features.hog(np.zeros((64, 64)), block_norm="L3")
    with pytest.raises(ValueError, match="two spatial"):
        features.hog(np.zeros((32, 32, 3)))
    with pytest.raises(RuntimeError, match="orientations"):
        features.hog(np.zeros((64, 64)), orientations=0)
    with pytest.raises(RuntimeError, match="pixels_per_cell"):
        features.hog(np.zeros((64, 64)), pixels_per_cell=(0, 8))
    with pytest.raises(RuntimeError, match="visualize"):
        features.hog(np.zeros((64, 64)), pixels_per_cell=(1, 1), cells_per_block=(1, 1), visualize=True)
