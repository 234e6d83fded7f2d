"""vision_ext.features.shape_features against cv2.moments / cv2.HuMoments (per-region binary masks)
and skimage.measure.regionprops on constructed scenes and on skimage.data.coins, batching, label
value handling, numpy in / out and argument errors."""
import math

import cv2
import numpy as np
import pytest
import torch
from skimage import data, filters, measure, morphology

from shape_scenes import ellipses, mixed
from vision_ext import features


def _close(ours, ref, rtol, scale):
    """|ours - ref| <= rtol * scale, with scale the magnitude the value is built from (cancellation
    makes small moments of large sums meaningless to compare relatively)."""
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    bad = np.abs(ours - ref) > rtol * np.asarray(scale)
    assert not bad.any(), f"ours {ours[bad]} ref {ref[bad]} scale {np.broadcast_to(scale, ours.shape)[bad]}"


def _hu_scale(nu):
    """The magnitude each Hu invariant is built from (nu in cv2 order nu20 nu11 nu02 nu30 nu21 nu12 nu03)."""
    s2, s3 = 4 * np.abs(nu[:3]).max(), 4 * np.abs(nu[3:]).max()
    return np.array([s2, s2 * s2, s3 * s3, s3 * s3, s3 ** 4, s2 * s3 * s3, s3 ** 4]) + 1e-300


def _check_against_cv2(lab, f):
    for i, (label, img) in enumerate(zip(f.label.tolist(), f.image.tolist())):
        m = cv2.moments((lab == label).astype(np.uint8), binaryImage=True)
        ours = f.cv2_moments(i)
        for k in ("m00", "m10", "m01", "m20", "m11", "m02", "m30", "m21", "m12", "m03"):
            assert ours[k] == m[k], (label, k)  # exact integers in both
        h, w = lab.shape
        area = m["m00"]
        for k in ("mu20", "mu11", "mu02"):
            _close(ours[k], m[k], 1e-9, area * (h * h + w * w))
        for k in ("mu30", "mu21", "mu12", "mu03"):
            _close(ours[k], m[k], 1e-9, area * (h + w) ** 3)
        for k in ("nu20", "nu11", "nu02", "nu30", "nu21", "nu12", "nu03"):
            _close(ours[k], m[k], 1e-9, max(1.0, abs(m[k])))
        hu = cv2.HuMoments(m).ravel()
        _close(f.moments_hu[i], hu, 1e-9, _hu_scale(np.asarray(f.moments_normalized[i])))


def _check_against_regionprops(lab, f, skip_orientation_of=()):
    props = measure.regionprops(lab)
    assert f.label.tolist() == [p.label for p in props]
    for i, p in enumerate(props):
        assert f.area[i] == p.area
        assert tuple(f.bbox[i].tolist()) == p.bbox
        np.testing.assert_allclose(f.centroid[i], p.centroid, rtol=1e-13, atol=1e-12)
        mu = p.moments_central  # [row power, col power]
        ref_mu = [mu[0, 2], mu[1, 1], mu[2, 0], mu[0, 3], mu[1, 2], mu[2, 1], mu[3, 0]]
        _close(f.moments_central[i], ref_mu, 1e-11, p.area * (1 + p.axis_major_length) ** 3)
        nu = p.moments_normalized
        ref_nu = [nu[0, 2], nu[1, 1], nu[2, 0], nu[0, 3], nu[1, 2], nu[2, 1], nu[3, 0]]
        _close(f.moments_normalized[i], ref_nu, 1e-11, 1.0)
        # skimage's moments index rows first (a transpose, i.e. a reflection): its 7th Hu invariant,
        # the skew one, has the opposite sign of cv2's and ours.
        _close(f.moments_hu[i], p.moments_hu * [1, 1, 1, 1, 1, 1, -1], 1e-11, _hu_scale(np.asarray(f.moments_normalized[i])))
        assert abs(f.eccentricity[i] - p.eccentricity) < 1e-6
        np.testing.assert_allclose(f.axis_major_length[i], p.axis_major_length, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(f.axis_minor_length[i], p.axis_minor_length, rtol=1e-10, atol=1e-6)
        t = p.inertia_tensor
        if p.label not in skip_orientation_of and abs(t[0, 0] - t[1, 1]) + abs(t[0, 1]) > 1e-9 * (t[0, 0] + t[1, 1]):
            np.testing.assert_allclose(f.orientation[i], p.orientation, rtol=0, atol=1e-9)
        np.testing.assert_allclose(f.perimeter[i], p.perimeter, rtol=1e-12)
        assert f.area_convex[i] == p.area_convex, p.label
        np.testing.assert_allclose(f.solidity[i], p.solidity, rtol=1e-15)
        np.testing.assert_allclose(f.extent[i], p.extent, rtol=1e-15)
        if p.perimeter > 0:
            np.testing.assert_allclose(f.circularity[i], 4 * math.pi * p.area / p.perimeter ** 2, rtol=1e-12)
        else:
            assert f.circularity[i] == 0


def test_ellipses_match_cv2_and_regionprops():
    lab = ellipses(128, 112, 14, seed=1)
    f = features.shape_features(lab)
    assert isinstance(f.area, np.ndarray) and f.moments.dtype == np.float64
    _check_against_cv2(lab, f)
    _check_against_regionprops(lab, f)


def test_mixed_scene_matches_regionprops():
    lab = mixed()
    f = features.shape_features(torch.from_numpy(lab))
    assert isinstance(f.area, torch.Tensor)
    f = type(f)(**{k: v.numpy() for k, v in vars(f).items()})
    _check_against_cv2(lab, f)
    _check_against_regionprops(lab, f)
    # The two-part label is one region; the single pixel has no perimeter (skimage's weights).
    assert f.area[f.index(56)] == 12 and f.perimeter[f.index(50)] == 0


def test_coins_otsu_labels_match_regionprops():
    img = data.coins()
    mask = morphology.remove_small_objects(img > filters.threshold_otsu(img), max_size=20)
    lab = measure.label(mask)
    f = features.shape_features(lab)
    assert len(f) == lab.max() > 20
    _check_against_regionprops(lab, f)
    _check_against_cv2(lab[:, :], f)


def test_hull_matches_convex_hull_image():
    lab = mixed(3)
    f = features.shape_features(lab)
    for i, label in enumerate(f.label.tolist()):
        ref = morphology.convex_hull_image(lab == label)
        assert f.area_convex[i] == ref.sum()
        # Every pixel of the hull image lies in our hull polygon (closed), and the vertices are pixel-edge midpoints.
        v = f.hull_of(i)
        assert np.all((np.round(v * 2) == v * 2)) and np.all(((v * 2) % 2).sum(1) == 1)
        # Clockwise on screen: positive shoelace area in (col, row) axes, and every pixel inside it.
        x, y = v[:, 1], v[:, 0]
        assert np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) > 0
        rr, cc = np.nonzero(lab == label)
        e = np.roll(v, -1, 0) - v
        cross = e[None, :, 1] * (rr[:, None] - v[None, :, 0]) - e[None, :, 0] * (cc[:, None] - v[None, :, 1])
        assert np.all(cross >= 0)


def test_batch_equals_each_image():
    a, b = ellipses(64, 72, 6, seed=4), ellipses(64, 72, 9, seed=5)
    fb = features.shape_features(torch.from_numpy(np.stack([a, b])))
    assert fb.image.tolist() == [0] * len(np.unique(a[a > 0])) + [1] * len(np.unique(b[b > 0]))
    for k, lab in enumerate((a, b)):
        one = features.shape_features(torch.from_numpy(lab))
        sel = fb.image == k
        for name in ("label", "area", "perimeter", "centroid", "bbox", "moments", "moments_hu", "solidity"):
            assert torch.equal(getattr(fb, name)[sel], getattr(one, name)), name


def test_label_values_and_dtypes():
    lab = mixed(2)
    ref = features.shape_features(lab)
    # Sparse huge labels take the compacting path: same regions, same values.
    big = np.where(lab > 0, lab * 10 ** 11 + 7, 0)
    fb = features.shape_features(big)
    assert fb.label.tolist() == [x * 10 ** 11 + 7 for x in ref.label.tolist()]
    np.testing.assert_array_equal(fb.moments, ref.moments)
    np.testing.assert_array_equal(fb.perimeter, ref.perimeter)
    np.testing.assert_array_equal(fb.area_convex, ref.area_convex)
    for dtype in (np.uint8, np.int16, np.int32, np.uint16):
        f = features.shape_features(lab.astype(dtype))
        np.testing.assert_array_equal(f.moments, ref.moments)
    # A bool mask is one region (label 1), as cv2.moments(mask, binaryImage=True) sees it.
    mask = lab > 0
    fm = features.shape_features(mask)
    assert fm.label.tolist() == [1]
    assert fm.cv2_moments(0)["m21"] == cv2.moments(mask.astype(np.uint8), binaryImage=True)["m21"]
    # No background pixel at all: one region covering the image.
    full = features.shape_features(np.full((5, 7), 3, np.int64))
    assert full.label.tolist() == [3] and full.area.tolist() == [35] and full.solidity.tolist() == [1.0]


def test_empty_inputs_give_zero_regions():
    for lab in (np.zeros((0, 5), np.int32), np.zeros((3, 0, 4), np.int64), np.zeros((6, 6), np.int32)):
        f = features.shape_features(lab)
        assert len(f) == 0 and f.moments.shape == (0, 10) and f.hull_offsets.tolist() == [0]


def test_errors():
    with pytest.raises(RuntimeError, match=r"labels must be >= 0 \(0 = background\), got a minimum of -2"):
        features.shape_features(np.array([[0, 1], [-2, 1]]))
    with pytest.raises(RuntimeError, match="labels dtype must be bool or an integer type"):
        features.shape_features(np.ones((4, 4), np.float32))
    with pytest.raises(RuntimeError, match=r"labels must have shape \(H, W\) or \(B, H, W\)"):
        features.shape_features(np.ones((1, 1, 4, 4), np.int32))
    with pytest.raises(TypeError, match="labels: expected a torch.Tensor or numpy array"):
        features.shape_features([[0, 1]])


def test_tiny_and_thin_images_match_regionprops():
    # 1-pixel-wide planes, single pixels and random speckle: the border map and hull edge cases.
    rng = np.random.default_rng(7)
    for shape in [(1, 1), (1, 7), (7, 1), (2, 2), (3, 40), (40, 3), (5, 5)]:
        for _ in range(10):
            lab = rng.integers(0, 4, shape)
            f = features.shape_features(lab)
            props = measure.regionprops(lab)
            assert f.label.tolist() == [p.label for p in props]
            for i, p in enumerate(props):
                assert f.area[i] == p.area and tuple(f.bbox[i].tolist()) == p.bbox
                assert abs(f.perimeter[i] - p.perimeter) < 1e-12
                assert f.area_convex[i] == p.area_convex
                assert abs(f.eccentricity[i] - p.eccentricity) < 1e-6
