"""vision_ext.features.graycomatrix / graycoprops against scikit-image 0.26: counts equal, every
property within float64 rounding (a different summation order), batches, levels, errors."""
import numpy as np
import pytest
import torch
from skimage import data
from skimage.feature import graycomatrix as sk_glcm
from skimage.feature import graycoprops as sk_props

from vision_ext import features
from vision_ext.ops.texture import GLCM_PROPS

ANGLES = [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4]


@pytest.mark.parametrize("symmetric,normed", [(False, False), (True, False), (False, True), (True, True)])
def test_camera_counts(symmetric, normed):
    img = data.camera()
    ours = features.graycomatrix(img, [1, 3], ANGLES, symmetric=symmetric, normed=normed)
    ref = sk_glcm(img, [1, 3], ANGLES, symmetric=symmetric, normed=normed)
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    np.testing.assert_array_equal(ours, ref)


def test_levels_dtypes_and_odd_offsets():
    rng = np.random.default_rng(0)
    img16 = rng.integers(0, 300, (23, 19)).astype(np.uint16)
    angles = [0.3, -1.0, np.pi, 2.5]
    np.testing.assert_array_equal(features.graycomatrix(img16, [1, 2.6, 7], angles, levels=300, symmetric=True),
                                  sk_glcm(img16, [1, 2.6, 7], angles, levels=300, symmetric=True))
    img = rng.integers(0, 8, (13, 11)).astype(np.int32)
    np.testing.assert_array_equal(features.graycomatrix(img, [1, 40], ANGLES, levels=8, normed=True),
                                  sk_glcm(img, [1, 40], ANGLES, levels=8, normed=True))
    one = np.array([[5]], np.uint8)
    np.testing.assert_array_equal(features.graycomatrix(one, [1], [0], normed=True),
                                  sk_glcm(one, [1], [0], normed=True))


@pytest.mark.parametrize("symmetric,normed", [(True, True), (False, False)])
def test_every_property(symmetric, normed):
    rng = np.random.default_rng(1)
    for img in (data.camera()[::4, ::4], rng.integers(0, 16, (40, 40)).astype(np.uint8),
                np.full((9, 9), 3, np.uint8)):
        P = sk_glcm(img, [1, 2], ANGLES, levels=256, symmetric=symmetric, normed=normed)
        ours_all = features.graycoprops(P, list(GLCM_PROPS))
        for k, prop in enumerate(GLCM_PROPS):
            ref = sk_props(P, prop)
            np.testing.assert_allclose(features.graycoprops(P, prop), ref, rtol=1e-11, atol=1e-13, err_msg=prop)
            np.testing.assert_allclose(ours_all[k], ref, rtol=1e-11, atol=1e-13, err_msg=prop)


def test_batch():
    rng = np.random.default_rng(2)
    stack = rng.integers(0, 32, (3, 20, 24)).astype(np.uint8)
    P = features.graycomatrix(torch.from_numpy(stack), [1], ANGLES, levels=32, symmetric=True, normed=True)
    assert P.shape == (3, 32, 32, 1, 4)
    props = features.graycoprops(P, "correlation")
    for i in range(3):
        ref = sk_glcm(stack[i], [1], ANGLES, levels=32, symmetric=True, normed=True)
        np.testing.assert_array_equal(P[i].numpy(), ref)
        np.testing.assert_allclose(props[i].numpy(), sk_props(ref, "correlation"), rtol=1e-11)


def test_bad_input():
    img = np.array([[0, 300]], np.uint16)
    with pytest.raises(RuntimeError, match="levels is required"):
        features.graycomatrix(img, [1], [0])
    with pytest.raises(RuntimeError, match="smaller than levels"):
        features.graycomatrix(img, [1], [0], levels=300)
    with pytest.raises(RuntimeError, match="negative"):
        features.graycomatrix(np.array([[-1, 2]], np.int16), [1], [0], levels=4)
    with pytest.raises(RuntimeError, match="float images"):
        features.graycomatrix(np.zeros((4, 4)), [1], [0], levels=4)
    with pytest.raises(RuntimeError, match="finite"):
        features.graycomatrix(np.zeros((4, 4), np.uint8), [np.inf], [0])
    with pytest.raises(ValueError, match="invalid property"):
        features.graycoprops(np.zeros((4, 4, 1, 1)), "bogus")
    with pytest.raises(RuntimeError, match="equal"):
        features.graycoprops(np.zeros((4, 5, 1, 1)), "contrast")
    with pytest.raises(RuntimeError, match="at least one distance"):
        features.graycoprops(np.zeros((4, 4, 0, 1)), "contrast")
    with pytest.raises(ValueError, match="4-D"):
        features.graycoprops(np.zeros((4, 4)), "contrast")
